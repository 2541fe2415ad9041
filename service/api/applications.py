"""Applications (申請), received at any node: create, read, track, request a re-survey.

Handlers are thin: parse and check the body, then one transaction that validates
references, writes through the repository (record_change → outbox) and audits access to
another town's residents. A failed check raises before anything is written.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from aiohttp import web

from service.api import lifecycle
from service.api.certificates import certificate_status
from service.api.common import Fields, json_object, now, reply, repository
from service.api.context import acting_staff, audit_other_town, needs_reason
from service.api.disasters import resolve_for_application
from service.appkeys import SETTINGS
from service.auth import require_role
from service.errors import InvalidRequest, NotFound

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
                              "date": disaster.date("date")}
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


async def _references(repo: Any, parsed: dict[str, Any]) -> tuple[dict, dict | None]:
    resident = await repo.get("resident", parsed["applicant"])
    if resident is None:
        raise InvalidRequest.field("applicant_resident_id", "no such resident on this node",
                                   "application.unknown_resident")
    dwelling = None
    if parsed["kind"] == "risai":
        dwelling = await repo.get("dwelling", parsed["dwelling_id"])
        if dwelling is None:
            raise InvalidRequest.field("dwelling_id", "no such dwelling on this node",
                                       "application.unknown_dwelling")
        if resident["household_id"] not in dwelling["household_ids"]:
            raise InvalidRequest.field("dwelling_id", "the applicant's household does not live there",
                                       "application.not_resident")
    return resident, dwelling


def _new_state(parsed: dict, resident: dict, dwelling: dict | None, node: str, town: str,
               staff_id: str, code: str) -> dict[str, Any]:
    application_id = f"A-{node}-{uuid.uuid4().hex[:12]}"
    competent = dwelling["town_code"] if dwelling else (parsed.get("town_code") or resident["town_code"])
    at = now().isoformat()
    return {
        "application_id": application_id, "kind": parsed["kind"], "status": "received",
        "applicant_resident_id": resident["resident_id"], "applicant_town": resident["town_code"],
        "household_id": resident["household_id"], "competent_town": competent,
        "dwelling_id": dwelling["dwelling_id"] if dwelling else None,
        "property": parsed.get("property"),
        "disaster": parsed["disaster"],
        "channel": parsed["channel"], "received_node": node, "received_town": town, "received_at": at,
        "survey_id": None, "damage_class": None, "current_certificate": None, "certificates": [],
        "tracking_code_sha256": lifecycle.tracking_hash(application_id, code),
        "history": [{"status": "received", "action": "receive", "at": at, "node": node, "staff": staff_id}],
    }


@require_role("clerk", "supervisor")
async def create_application(request: web.Request) -> web.Response:
    """POST /api/v1/applications: receive an application at this node's counter."""
    staff = acting_staff(request)
    body = await json_object(request)
    parsed = _parse_create(body)
    settings = request.app[SETTINGS]
    code = secrets.token_hex(4).upper()  # shown once, on the receipt; only its hash is kept
    async with repository(request) as repo, repo.transaction():
        resident, dwelling = await _references(repo, parsed)
        parsed["disaster"] = await resolve_for_application(repo, parsed["disaster_id"], parsed["disaster"])
        state = _new_state(parsed, resident, dwelling, settings.node.id, settings.node.town_code,
                           staff.staff_id, code)
        if parsed["kind"] == "hisai":
            _check_town(state["competent_town"])
        towns = {state["competent_town"], state["applicant_town"]}
        needs_reason(request, staff, towns, body)
        await repo.put("application", state["application_id"], state)
        await audit_other_town(repo, request, staff, towns=towns, action="application.create",
                               subject_type="application", subject_id=state["application_id"], body=body)
    return reply({"application": lifecycle.staff_view(state), "tracking_code": code}, status=201)


def _check_town(code: str) -> None:
    from certs.errors import InvalidInput
    from certs.town_code import validate_town_code

    try:
        validate_town_code(code, "town_code")
    except InvalidInput as exc:
        raise InvalidRequest.field("town_code", exc.message, exc.code) from None


async def load_application(repo: Any, application_id: str, *, for_update: bool = False) -> dict:
    """The application or 404 application.not_found."""
    app = await repo.get("application", application_id, for_update=for_update)
    if app is None:
        raise NotFound(f"no application {application_id}", code="application.not_found")
    return app


@require_role()
async def get_application(request: web.Request) -> web.Response:
    """GET /api/v1/applications/{application_id}: the application as staff see it."""
    staff = acting_staff(request)
    async with repository(request) as repo, repo.transaction():
        app = await load_application(repo, request.match_info["application_id"])
        await audit_other_town(repo, request, staff, towns={app["competent_town"], app["applicant_town"]},
                               action="application.read", subject_type="application",
                               subject_id=app["application_id"])
    return reply({"application": lifecycle.staff_view(app)})


async def track_application(request: web.Request) -> web.Response:
    """GET /api/v1/applications/{application_id}/tracking?code=: the applicant's view.

    No login: the tracking code printed on the receipt is the credential. A wrong code and
    an unknown id give the same 404, so ids cannot be probed.
    """
    code = request.query.get("code", "")
    async with repository(request) as repo:
        app = await repo.get("application", request.match_info["application_id"])
        expected = app and app["tracking_code_sha256"]
        given = lifecycle.tracking_hash(request.match_info["application_id"], code.strip().upper())
        if not expected or not secrets.compare_digest(expected, given):
            raise NotFound("no application with that id and tracking code", code="application.not_found")
        # Each certificate's real state: a revoked or superseded one is never "current".
        states = {n: await certificate_status(repo, n) for n in app.get("certificates", [])}
    return reply({"application": lifecycle.public_view(app, states)})


@require_role("clerk", "supervisor")
async def request_resurvey(request: web.Request) -> web.Response:
    """POST /api/v1/applications/{id}/resurvey-request: the resident asks for a re-survey."""
    staff = acting_staff(request)
    body = await json_object(request, optional=True)
    f = Fields(body, {"note", "reason"})
    note = f.text("note", required=False, max_len=500)
    f.check()
    async with repository(request) as repo, repo.transaction():
        app = await load_application(repo, request.match_info["application_id"], for_update=True)
        towns = {app["competent_town"], app["applicant_town"]}
        needs_reason(request, staff, towns, body)
        new = lifecycle.advance(app, "request_resurvey", at=now().isoformat(), node=repo.node_id,
                                staff=staff.staff_id, resurvey_note=note)
        await repo.put("application", app["application_id"], new)
        await audit_other_town(repo, request, staff, towns=towns, action="application.resurvey_request",
                               subject_type="application", subject_id=app["application_id"], body=body)
    return reply({"application": lifecycle.staff_view(new)})
