"""Resident (住民) and dwelling (住家) search and lookup, for the counter.

Names and readings match by prefix after search_key normalisation (the SQL twin
risai_search_key backs expression indexes, migration 0250), so "たかはし", "ﾀｶﾊｼ" and
"タカハシ" find the same people, and so do "髙橋" and "高橋". Addresses match anywhere.
Results from another town need a stated reason and each one is audited (DESIGN 6).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from aiohttp import web

from service.api.common import check_query, query_int, reply, repository
from service.api.context import acting_staff, audit_other_town, needs_reason
from service.staff.audit import REASON_HEADER
from service.staff.sessions import require_role
from service.errors import InvalidRequest, NotFound
from service.counter.records import search_key
from service.counter.search_keys import address_key

OTHER_TOWN_COUNT_CAP = 1000  # counting stops here: "1000 or more" is enough to say
_NAME = "risai_search_key((state->>'family_name') || (state->>'given_name'))"
_KANA = "risai_search_key((state->>'family_kana') || (state->>'given_kana'))"


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _criteria(request: web.Request) -> tuple[list[str], list[Any]]:
    check_query(request)
    q, where, args = request.query, ["entity_type = 'resident'"], []

    def add(sql: str, value: Any) -> None:
        args.append(value)
        where.append(sql.replace("?", f"${len(args)}"))

    if q.get("name", "").strip():
        add(f"{_NAME} LIKE ? || '%'", _like(search_key(q["name"])))
    if q.get("kana", "").strip():
        add(f"{_KANA} LIKE ? || '%'", _like(search_key(q["kana"])))
    if q.get("birth_date", "").strip():
        try:
            add("state->>'birth_date' = ?", dt.date.fromisoformat(q["birth_date"].strip()).isoformat())
        except ValueError:
            raise InvalidRequest.field("birth_date", "must be a date YYYY-MM-DD", "invalid.date") from None
    if q.get("address", "").strip():
        add("risai_address_key(state->>'address') LIKE '%' || ? || '%'", _like(address_key(q["address"])))
    if len(args) == 0:
        raise InvalidRequest.field("name", "give at least one of name, kana, birth_date, address",
                                   "search.criteria_required")
    if q.get("town_code"):
        add("state->>'town_code' = ?", q["town_code"])
    return where, args


@require_role("clerk", "supervisor", "surveyor")
async def search_residents(request: web.Request) -> web.Response:
    """GET /api/v1/residents?name=&kana=&birth_date=&address=&town_code=&limit=

    Without a town and without a reason, this town's matches are returned and the other
    towns' matches only counted (``other_town_matches``, at most OTHER_TOWN_COUNT_CAP):
    seeing them needs a stated reason (X-Access-Reason), which is then audited per row.
    """
    staff = acting_staff(request)
    limit = query_int(request, "limit", 20, 1, 100)
    where, args = _criteria(request)
    own_only = not request.query.get("town_code") and REASON_HEADER not in request.headers
    hidden = 0
    async with repository(request) as repo, repo.transaction():
        if own_only:
            n = len(args) + 1
            hidden = await repo.conn.fetchval(
                f"SELECT count(*) FROM (SELECT 1 FROM entities WHERE {' AND '.join(where)}"
                f" AND state->>'town_code' <> ${n} LIMIT {OTHER_TOWN_COUNT_CAP}) AS m", *args, staff.town_code)
            where, args = [*where, f"state->>'town_code' = ${n}"], [*args, staff.town_code]
        rows = await repo.conn.fetch(
            f"SELECT state FROM entities WHERE {' AND '.join(where)}"
            f" ORDER BY {_KANA}, entity_id LIMIT {limit}", *args)
        found = [json.loads(r["state"]) for r in rows]
        others = {r["town_code"] for r in found} - {staff.town_code}
        needs_reason(request, staff, others)
        for resident in found:
            await audit_other_town(repo, request, staff, towns={resident["town_code"]},
                                   action="resident.search", subject_type="resident",
                                   subject_id=resident["resident_id"])
    return reply({"residents": found, "count": len(found), "other_town_matches": hidden})


@require_role("clerk", "supervisor", "surveyor")
async def get_resident(request: web.Request) -> web.Response:
    """GET /api/v1/residents/{resident_id}: the resident, household and dwellings."""
    staff = acting_staff(request)
    resident_id = request.match_info["resident_id"]
    async with repository(request) as repo, repo.transaction():
        resident = await repo.get("resident", resident_id)
        if resident is None:
            raise NotFound(f"no resident {resident_id}", code="resident.not_found")
        household = await repo.get("household", resident["household_id"])
        dwellings = await dwellings_of(repo, resident["household_id"])
        await audit_other_town(repo, request, staff, towns={resident["town_code"]}, action="resident.read",
                               subject_type="resident", subject_id=resident_id)
    return reply({"resident": resident, "household": household, "dwellings": dwellings})


async def dwellings_of(repo: Any, household_id: str) -> list[dict]:
    """Dwellings a household lives in (GIN index on household_ids)."""
    rows = await repo.conn.fetch(
        "SELECT state FROM entities WHERE entity_type = 'dwelling' AND state->'household_ids' @> $1::jsonb"
        " ORDER BY entity_id LIMIT 20", json.dumps([household_id]))
    return [json.loads(r["state"]) for r in rows]


@require_role("clerk", "supervisor", "surveyor")
async def search_dwellings(request: web.Request) -> web.Response:
    """GET /api/v1/dwellings?address=&household_id=&resident_id=&town_code=&limit="""
    acting_staff(request)
    check_query(request)
    q = request.query
    limit = query_int(request, "limit", 20, 1, 100)
    async with repository(request) as repo:
        if q.get("resident_id"):
            resident = await repo.get("resident", q["resident_id"])
            found = await dwellings_of(repo, resident["household_id"]) if resident else []
        elif q.get("household_id"):
            found = await dwellings_of(repo, q["household_id"])
        elif q.get("address", "").strip():
            rows = await repo.conn.fetch(
                "SELECT state FROM entities WHERE entity_type = 'dwelling'"
                " AND risai_address_key(state->>'location') LIKE '%' || $1 || '%'"
                " AND ($2::text IS NULL OR state->>'town_code' = $2)"
                f" ORDER BY entity_id LIMIT {limit}",
                _like(address_key(q["address"])), q.get("town_code"))
            found = [json.loads(r["state"]) for r in rows]
        else:
            raise InvalidRequest.field("address", "give one of address, household_id, resident_id",
                                       "search.criteria_required")
    return reply({"dwellings": found[:limit], "count": len(found[:limit])})


@require_role("clerk", "supervisor", "surveyor")
async def get_dwelling(request: web.Request) -> web.Response:
    """GET /api/v1/dwellings/{dwelling_id}: the dwelling, its surveys and applications."""
    acting_staff(request)
    dwelling_id = request.match_info["dwelling_id"]
    async with repository(request) as repo:
        dwelling = await repo.get("dwelling", dwelling_id)
        if dwelling is None:
            raise NotFound(f"no dwelling {dwelling_id}", code="dwelling.not_found")
        surveys = await repo.find("survey", "dwelling_id", dwelling_id)
        applications = await repo.find("application", "dwelling_id", dwelling_id)
    return reply({"dwelling": dwelling, "surveys": surveys,
                  "applications": [a["application_id"] for a in applications]})
