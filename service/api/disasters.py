"""The disaster registry over HTTP: create (supervisor), list, read; and the lookup
applications use. Rules: service/disasters.py."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from aiohttp import web

from service import disasters
from service.api.common import Fields, json_object, now, reply, repository
from service.api.context import acting_staff
from service.auth import require_role
from service.errors import Conflict, NotFound

JST_OFFSET_H = 9  # "today" for a disaster date is the date in Japan
LIST_SQL = "SELECT state FROM entities WHERE entity_type = 'disaster' ORDER BY state->>'date' DESC, entity_id LIMIT 500"
BY_NAME_DATE_SQL = ("SELECT state FROM entities WHERE entity_type = 'disaster'"
                    " AND state->>'name' = $1 AND state->>'date' = $2 LIMIT 1")


def today_jst() -> dt.date:
    """Today's date in Japan (a disaster date is a Japanese calendar date)."""
    return now().astimezone(dt.timezone(dt.timedelta(hours=JST_OFFSET_H))).date()


@require_role("supervisor")
async def create_disaster(request: web.Request) -> web.Response:
    """POST /api/v1/disasters {name, date, towns, saigai_kyujo_ho, shien_ho}."""
    staff = acting_staff(request)
    body = await json_object(request)
    f = Fields(body, {"name", "date", "towns", "saigai_kyujo_ho", "shien_ho"})
    name, date = f.text("name", max_len=100), f.date("date")
    towns = body.get("towns")
    if not isinstance(towns, list) or not all(isinstance(t, str) for t in towns):
        f.add("towns", "must be a list of town codes", "invalid.type")
    flags = {}
    for flag in ("saigai_kyujo_ho", "shien_ho"):
        value = body.get(flag, False)
        if not isinstance(value, bool):
            f.add(flag, "must be true or false", "invalid.type")
        flags[flag] = value is True
    f.check()
    async with repository(request) as repo, repo.transaction():
        state = disasters.new_disaster(name, date, towns, today=today_jst(), node=repo.node_id,
                                       staff_id=staff.staff_id, at=now().isoformat(), **flags)
        existing = await repo.get("disaster", state["disaster_id"], for_update=True)
        if existing is not None:
            raise Conflict(f"disaster {state['disaster_id']} ({name}, {date}) is already registered",
                           code="disaster.exists", fields=[{"field": "name", "reason": state["disaster_id"],
                                                           "code": "disaster.exists"}])
        await repo.put("disaster", state["disaster_id"], state)
    return reply({"disaster": state}, status=201)


@require_role()
async def list_disasters(request: web.Request) -> web.Response:
    """GET /api/v1/disasters: newest first (at most 500)."""
    async with repository(request) as repo:
        rows = await repo.conn.fetch(LIST_SQL)
    return reply({"disasters": [json.loads(r["state"]) for r in rows]})


@require_role()
async def get_disaster(request: web.Request) -> web.Response:
    """GET /api/v1/disasters/{disaster_id}."""
    async with repository(request) as repo:
        record = await repo.get("disaster", request.match_info["disaster_id"])
    if record is None:
        raise NotFound("no such disaster", code="disaster.not_found")
    return reply({"disaster": record})


async def resolve_for_application(repo: Any, requested_id: str | None, free_text: dict | None) -> dict[str, Any]:
    """The disaster an application stores (see disasters.application_disaster)."""
    if requested_id is not None:
        record = await repo.get("disaster", requested_id)
    elif free_text is not None:
        raw = await repo.conn.fetchval(BY_NAME_DATE_SQL, free_text["name"], free_text["date"].isoformat())
        record = json.loads(raw) if raw is not None else None
    else:
        record = None
    return disasters.application_disaster(record, requested_id, free_text, today_jst())
