"""Applications (申請), received at any node: create, read, track, request a re-survey.

Handlers only: parse and check the body, call the use case (service.counter.applications)
on the request's one connection, reply.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from service.api.common import Fields, json_object, now, reply, repository
from service.api.context import actor
from service.counter import applications, lifecycle
from service.staff.sessions import require_role

CREATE_FIELDS = {"kind", "applicant_resident_id", "dwelling_id", "property", "town_code",
                 "disaster", "disaster_id", "channel", "reason"}


def _parse_create(body: dict[str, Any]) -> dict[str, Any]:
    f = Fields(body, CREATE_FIELDS)
    kind = f.choice("kind", ("risai", "hisai"), default="risai")
    parsed = {"kind": kind, "applicant": f.text("applicant_resident_id", max_len=64),
              "channel": f.choice("channel", ("counter", "kiosk", "mail"), default="counter")}
    # A registered disaster by id (issue 11), or the older free text {name, date}.
    parsed["disaster_id"] = f.text("disaster_id", required=False, max_len=64)
    disaster = f.obj("disaster", required="disaster_id" not in body)
    parsed["disaster"] = None
    if disaster is not None:
        parsed["disaster"] = {"name": disaster.text("name", max_len=100),
                              "date": disaster.date("date", past=True)}
    if kind == "risai":
        parsed["dwelling_id"] = f.text("dwelling_id", max_len=64)
    elif kind == "hisai":
        prop = f.obj("property")
        if prop is not None:
            parsed["property"] = {"description": prop.text("description", max_len=100),
                                  "location": prop.text("location")}
        parsed["town_code"] = f.text("town_code", required=False, max_len=6)
    f.check()
    return parsed


@require_role("clerk", "supervisor")
async def create_application(request: web.Request) -> web.Response:
    """POST /api/v1/applications: receive an application at this node's counter."""
    body = await json_object(request)
    parsed = _parse_create(body)
    async with repository(request) as repo:
        state, code = await applications.receive_application(
            repo, actor(request, body), parsed, town=repo.town, at=now())
    return reply({"application": lifecycle.staff_view(state), "tracking_code": code}, status=201)


@require_role()
async def get_application(request: web.Request) -> web.Response:
    """GET /api/v1/applications/{application_id}: the application as staff see it."""
    who = actor(request)
    async with repository(request) as repo:
        app = await applications.read_application(repo, who, request.match_info["application_id"])
    return reply({"application": lifecycle.staff_view(app)})


async def track_application(request: web.Request) -> web.Response:
    """GET /api/v1/applications/{application_id}/tracking?code=: the applicant's view.

    No login: the tracking code printed on the receipt is the credential. A wrong code and
    an unknown id give the same 404, so ids cannot be probed.
    """
    async with repository(request) as repo:
        view = await applications.track_application(repo, request.match_info["application_id"],
                                                    request.query.get("code", ""))
    return reply({"application": view})


async def track_by_code(request: web.Request) -> web.Response:
    """GET /api/v1/tracking?code=: the applicant's view from the receipt's code alone.

    The code is the credential; case, spaces and dashes do not matter, as with kiosk codes.
    Unknown and malformed codes give the same 404.
    """
    async with repository(request) as repo:
        view = await applications.track_by_code(repo, request.query.get("code", ""))
    return reply({"application": view})


@require_role("clerk", "supervisor")
async def request_resurvey(request: web.Request) -> web.Response:
    """POST /api/v1/applications/{id}/resurvey-request {resurvey_reason}: the resident asks for
    a re-survey (再調査) and says why (``note`` is the older name of the same field)."""
    body = await json_object(request, optional=True)
    f = Fields(body, {"resurvey_reason", "note", "reason"})
    why = f.text("resurvey_reason", required=False, max_len=500) or f.text("note", required=False, max_len=500)
    f.check()
    async with repository(request) as repo:
        new = await applications.request_resurvey(repo, actor(request, body),
                                                  request.match_info["application_id"], why or "", at=now())
    return reply({"application": lifecycle.staff_view(new)})
