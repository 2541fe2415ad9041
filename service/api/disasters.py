"""The disaster registry over HTTP: create (supervisor), list, read. Handlers only: the
use cases and rules are service.counter.disasters."""

from __future__ import annotations

from aiohttp import web

from service.api.common import Fields, json_object, now, reply, repository
from service.api.context import actor
from service.counter import disasters
from service.web.auth import require_role


@require_role("supervisor")
async def create_disaster(request: web.Request) -> web.Response:
    """POST /api/v1/disasters {name, date, towns, saigai_kyujo_ho, shien_ho}."""
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
    async with repository(request) as repo:
        state = await disasters.register_disaster(repo, actor(request, body), name, date, towns,
                                                  now=now(), **flags)
    return reply({"disaster": state}, status=201)


@require_role()
async def list_disasters(request: web.Request) -> web.Response:
    """GET /api/v1/disasters: newest first (at most 500)."""
    async with repository(request) as repo:
        found = await repo.list_disasters(500)
    return reply({"disasters": found})


@require_role()
async def get_disaster(request: web.Request) -> web.Response:
    """GET /api/v1/disasters/{disaster_id}."""
    async with repository(request) as repo:
        record = await disasters.read_disaster(repo, request.match_info["disaster_id"])
    return reply({"disaster": record})
