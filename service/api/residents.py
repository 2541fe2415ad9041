"""Resident (住民) and dwelling (住家) search and lookup, for the counter. Handlers only: the
use cases are service.counter.residents, the SQL service.storage.counter."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from service.api.common import check_query, query_int, reply, repository
from service.api.context import REASON_HEADER, acting_staff, actor
from service.counter import residents
from service.counter.residents import ResidentQuery
from service.errors import InvalidRequest
from service.web.auth import require_role


def _query(request: web.Request) -> ResidentQuery:
    check_query(request)
    q = {k: v.strip() for k, v in request.query.items()}
    birth_date = None
    if q.get("birth_date"):
        try:
            birth_date = dt.date.fromisoformat(q["birth_date"])
        except ValueError:
            raise InvalidRequest.about("birth_date", "must be a date YYYY-MM-DD", "invalid.date") from None
    return ResidentQuery(name=q.get("name") or None, kana=q.get("kana") or None, birth_date=birth_date,
                         address=q.get("address") or None, town_code=request.query.get("town_code") or None)


@require_role("clerk", "supervisor", "surveyor")
async def search_residents(request: web.Request) -> web.Response:
    """GET /api/v1/residents?name=&kana=&birth_date=&address=&town_code=&limit=

    Without a town and a reason (X-Access-Reason), other towns' matches are only counted
    (``other_town_matches``); see service.counter.residents.search_residents.
    """
    who = actor(request)
    limit = query_int(request, "limit", 20, 1, 100)
    query = _query(request)
    async with repository(request) as repo:
        found, hidden = await residents.search_residents(
            repo, who, query, limit, reason_given=REASON_HEADER in request.headers)
    return reply({"residents": found, "count": len(found), "other_town_matches": hidden})


@require_role("clerk", "supervisor", "surveyor")
async def get_resident(request: web.Request) -> web.Response:
    """GET /api/v1/residents/{resident_id}: the resident, household and dwellings."""
    who = actor(request)
    async with repository(request) as repo:
        resident, household, dwellings = await residents.read_resident(
            repo, who, request.match_info["resident_id"])
    return reply({"resident": resident, "household": household, "dwellings": dwellings})


@require_role("clerk", "supervisor", "surveyor")
async def search_dwellings(request: web.Request) -> web.Response:
    """GET /api/v1/dwellings?address=&household_id=&resident_id=&town_code=&limit="""
    acting_staff(request)
    check_query(request)
    q = request.query
    limit = query_int(request, "limit", 20, 1, 100)
    async with repository(request) as repo:
        found = await residents.find_dwellings(
            repo, resident_id=q.get("resident_id"), household_id=q.get("household_id"),
            address=q.get("address", "").strip() or None, town_code=q.get("town_code"), limit=limit)
    return reply({"dwellings": found, "count": len(found)})


@require_role("clerk", "supervisor", "surveyor")
async def get_dwelling(request: web.Request) -> web.Response:
    """GET /api/v1/dwellings/{dwelling_id}: the dwelling, its surveys and applications."""
    acting_staff(request)
    async with repository(request) as repo:
        dwelling, surveys, applications = await residents.read_dwelling(repo, request.match_info["dwelling_id"])
    return reply({"dwelling": dwelling, "surveys": surveys, "applications": applications})
