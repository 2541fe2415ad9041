"""The disaster registry (災害): its rules and use cases. Handlers: service/api/disasters.py;
SQL: service/storage/disasters.py.

A disaster is a replicated record (entity type "disaster"), created by a supervisor:
id, name, date, the towns it struck, and whether 災害救助法 and 被災者生活再建支援法
apply (plain flags). Applications name a disaster by id; a disaster dated in the future is
refused when it is created, and an application for an unknown id is refused.

Older applications carry a free-text disaster ``{"name", "date"}``. They keep working
(issuance reads the name and date, which every application state has). A new application
may still be received with free text; when the registry holds a disaster with exactly
that name and date, the application is linked to it (``disaster.id``), otherwise it stays
free text (``disaster.id`` null). See docs/api.md, "Disasters".
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Protocol

from certs.errors import InvalidInput
from certs.town_code import validate_town_code
from service.counter.access import Actor, AuditedStore
from service.errors import Conflict, NotFound

MAX_TOWNS = 200


def disaster_id(name: str, date: dt.date) -> str:
    """A stable id from the date and name: the same disaster registered at two nodes during a
    partition gets one id (one record, no duplicate), and the id is readable (D-YYYYMMDD-…)."""
    digest = hashlib.sha256(f"{date.isoformat()}\x00{name}".encode()).hexdigest()[:10]
    return f"D-{date:%Y%m%d}-{digest}"


def new_disaster(name: str, date: dt.date, towns: list[str], *, saigai_kyujo_ho: bool, shien_ho: bool,
                 today: dt.date, node: str, staff_id: str, at: str) -> dict[str, Any]:
    """The state of a new disaster record; InvalidInput naming the field if a rule fails."""
    if date > today:
        raise InvalidInput("record.future_date", f"the disaster date {date.isoformat()} is in the future", "date")
    if not towns or len(towns) > MAX_TOWNS:
        raise InvalidInput("disaster.towns", f"towns must list 1..{MAX_TOWNS} town codes", "towns")
    codes = sorted({validate_town_code(code, "towns") for code in towns})
    return {"disaster_id": disaster_id(name, date), "name": name, "date": date.isoformat(), "towns": codes,
            "saigai_kyujo_ho": bool(saigai_kyujo_ho), "shien_ho": bool(shien_ho),
            "created_at": at, "created_node": node, "created_by": staff_id}


def application_disaster(record: dict[str, Any] | None, requested_id: str | None,
                         free_text: dict[str, Any] | None, today: dt.date) -> dict[str, Any]:
    """What an application stores as its disaster: ``{"id", "name", "date"}``.

    ``record``: the registry record for ``requested_id`` (or, for free text, the record with
    the same name and date, if any). InvalidInput for an unknown id or a future date.
    """
    if requested_id is not None:
        if record is None:
            raise InvalidInput("disaster.unknown", f"no disaster {requested_id} in the registry", "disaster_id")
        return {"id": record["disaster_id"], "name": record["name"], "date": record["date"]}
    if free_text is None:
        raise InvalidInput("disaster.required", "give disaster_id (or the disaster's name and date)", "disaster_id")
    if free_text["date"] > today:
        raise InvalidInput("record.future_date", "the disaster date is in the future", "disaster.date")
    linked = record["disaster_id"] if record is not None else None
    return {"id": linked, "name": free_text["name"], "date": free_text["date"].isoformat()}


JST = dt.timezone(dt.timedelta(hours=9))  # "today" for a disaster date is the date in Japan


class DisasterStore(AuditedStore, Protocol):
    """The registry's reads on top of read/write/audit."""

    async def list_disasters(self, limit: int) -> list[dict]: ...

    async def disaster_named(self, name: str, date: str) -> dict | None: ...


def today_jst(now: dt.datetime) -> dt.date:
    """The date in Japan at ``now``."""
    return now.astimezone(JST).date()


async def register_disaster(store: DisasterStore, actor: Actor, name: str, date: dt.date,
                            towns: list[str], *, saigai_kyujo_ho: bool, shien_ho: bool,
                            now: dt.datetime) -> dict[str, Any]:
    """Create a disaster record (409 disaster.exists when one with that id is registered)."""
    async with store.transaction():
        state = new_disaster(name, date, towns, today=today_jst(now), node=store.node_id,
                             staff_id=actor.staff.staff_id, at=now.isoformat(),
                             saigai_kyujo_ho=saigai_kyujo_ho, shien_ho=shien_ho)
        if await store.get("disaster", state["disaster_id"], for_update=True) is not None:
            raise Conflict(f"disaster {state['disaster_id']} ({name}, {date}) is already registered",
                           code="disaster.exists", fields=[{"field": "name", "reason": state["disaster_id"],
                                                           "code": "disaster.exists"}])
        await store.put("disaster", state["disaster_id"], state)
    return state


async def read_disaster(store: DisasterStore, disaster_id: str) -> dict[str, Any]:
    """One disaster, or 404 disaster.not_found."""
    record = await store.get("disaster", disaster_id)
    if record is None:
        raise NotFound("no such disaster", code="disaster.not_found")
    return record


async def resolve_for_application(store: DisasterStore, requested_id: str | None,
                                  free_text: dict | None, now: dt.datetime) -> dict[str, Any]:
    """The disaster an application stores (see application_disaster)."""
    if requested_id is not None:
        record = await store.get("disaster", requested_id)
    elif free_text is not None:
        record = await store.disaster_named(free_text["name"], free_text["date"].isoformat())
    else:
        record = None
    return application_disaster(record, requested_id, free_text, today_jst(now))
