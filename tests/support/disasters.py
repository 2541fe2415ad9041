"""A registered disaster for tests that drive the counter UI (its picker lists the registry)."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from replication.outbox import record_change
from service.counter.disasters import disaster_id, new_disaster
from service.web.appkeys import POOL, SETTINGS

NOTO = ("令和6年能登半島地震", dt.date(2024, 1, 1))
NOTO_ID = disaster_id(*NOTO)


async def register_disaster(app: web.Application, towns: list[str], name: str = NOTO[0],
                            date: dt.date = NOTO[1]) -> dict:
    """Write a disaster record as a supervisor's registration would (entities + outbox)."""
    settings = app[SETTINGS]
    state = new_disaster(name, date, towns, saigai_kyujo_ho=True, shien_ho=True, today=dt.date.today(),
                         node=settings.node.id, staff_id="test", at=dt.datetime.now(dt.timezone.utc).isoformat())
    async with app[POOL].acquire() as conn, conn.transaction():
        await record_change(conn, node_id=settings.node.id, town=settings.node.town_code, entity_type="disaster",
                            entity_id=state["disaster_id"], state=state)
    return state
