"""Applications (申請), received at any node: create, read, track, request a re-survey,
correct the applicant's details, withdraw (申請取下げ).

Handlers only: parse and check the body, call the use case (service.counter.applications)
on the request's one connection, reply.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from service.api.common import Fields, json_object, now, reply, repository
from service.api.context import actor
from service.counter import applicants, applications, lifecycle
from service.errors import InvalidRequest
from service.web.auth import require_role

CREATE_FIELDS = {"kind", "applicant_resident_id", "dwelling_id", "property", "town_code",
                 "disaster", "disaster_id", "channel", "reason", "applicant", "agent"}


def _phone(f: Fields, name: str) -> str | None:
    raw = f.text(name, required=False, max_len=30)
    if raw is None:
        return None
    try:
        return applicants.normalise_phone(raw, name)
    except InvalidRequest as exc:
        f.add(name, exc.problems[0].reason, exc.code)
        return None


def _parse_details(f: Fields) -> applicants.ApplicantDetails | None:
    """``applicant`` {relationship, phone, contact_address, delivery} and ``agent`` {name, relation,
    phone, power_of_attorney}; the rules (委任状, 続柄) are service.counter.applicants'."""
    person, agent_f = f.obj("applicant", required=False), f.obj("agent", required=False)
    if person is None and agent_f is None:
        return None
    relationship = phone = address = None
    delivery = "counter"
    if person is not None:
        delivery = person.choice("delivery", tuple(applicants.DELIVERIES), default="counter") or "counter"
        relationship = person.choice("relationship", tuple(applicants.RELATIONSHIPS)) \
            if person.body.get("relationship") is not None else None
        phone = _phone(person, "phone")
        address = person.text("contact_address", required=False, max_len=200)
    agent = None
    if agent_f is not None:
        attorney = agent_f.body.get("power_of_attorney", False)
        if not isinstance(attorney, bool):
            agent_f.add("power_of_attorney", "must be true or false", "invalid.type")
        agent = applicants.Agent(agent_f.text("name", max_len=100) or "",
                                 agent_f.choice("relation", tuple(applicants.AGENT_RELATIONS)) or "",
                                 _phone(agent_f, "phone"), attorney is True)
    return applicants.ApplicantDetails(relationship, phone, address, agent, delivery)


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
    parsed["details"] = _parse_details(f)
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


@require_role("clerk", "supervisor")
async def withdraw_application(request: web.Request) -> web.Response:
    """POST /api/v1/applications/{id}/withdrawal {withdraw_reason}: 申請取下げ (before issuance)."""
    body = await json_object(request, optional=True)
    f = Fields(body, {"withdraw_reason", "reason"})
    why = f.text("withdraw_reason", required=False, max_len=500)
    f.check()
    async with repository(request) as repo:
        new = await applications.withdraw_application(repo, actor(request, body),
                                                      request.match_info["application_id"], why, at=now())
    return reply({"application": lifecycle.staff_view(new)})


@require_role("clerk", "supervisor")
async def update_applicant(request: web.Request) -> web.Response:
    """POST /api/v1/applications/{id}/applicant {applicant, agent}: correct the applicant's
    続柄, contact or agent (the previous details stay in the history)."""
    body = await json_object(request)
    f = Fields(body, {"applicant", "agent", "reason"})
    details = _parse_details(f) or applicants.ApplicantDetails(None)
    f.check()
    async with repository(request) as repo:
        new = await applications.update_applicant(repo, actor(request, body),
                                                  request.match_info["application_id"], details, at=now())
    return reply({"application": lifecycle.staff_view(new)})
