"""The disaster registry (災害): pure rules, no I/O. Handlers: service/api/disasters.py.

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
from typing import Any

from certs.errors import InvalidInput
from certs.town_code import validate_town_code

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
        raise InvalidInput("disaster.future", f"the disaster date {date.isoformat()} is in the future", "date")
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
        raise InvalidInput("disaster.future", "the disaster date is in the future", "disaster.date")
    linked = record["disaster_id"] if record is not None else None
    return {"id": linked, "name": free_text["name"], "date": free_text["date"].isoformat()}
