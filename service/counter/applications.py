"""Applications (申請) at the counter: receive, read, track, request a re-survey, the
applicant's details (続柄, contact, 代理人: service.counter.applicants), withdraw (申請取下げ).

Use cases over :class:`service.counter.access.RecordStore`, on
service.counter.application_records.Application records; the state changes come from
service.counter.lifecycle, the access rule from service.counter.access. Every check raises
before anything is written.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import Any

from certs.errors import InvalidInput
from certs.town_code import validate_town_code
from service.counter import applicants, codes, disasters, duplicates, lifecycle
from service.counter.access import Actor, RecordStore, audit_other_towns, needs_reason
from service.counter.application_records import Application
from service.counter.certificates import certificate_status
from service.errors import InvalidRequest, NotFound


def towns_of(app: Application) -> set[str]:
    """The towns whose data an application holds: the competent town and the applicant's."""
    return app.towns()


async def load_application(store: RecordStore, application_id: str, *, for_update: bool = False) -> Application:
    """The application or 404 application.not_found."""
    app = await store.load(Application, application_id, for_update=for_update)
    if app is None:
        raise NotFound(f"no application {application_id}", code="application.not_found")
    return app


async def _references(store: RecordStore, parsed: dict[str, Any]) -> tuple[dict, dict | None]:
    resident = await store.get("resident", parsed["applicant"])
    if resident is None:
        raise InvalidRequest.about("applicant_resident_id", "no such resident on this node",
                                   "application.unknown_resident")
    dwelling = None
    if parsed["kind"] == "risai":
        dwelling = await store.get("dwelling", parsed["dwelling_id"])
        if dwelling is None:
            raise InvalidRequest.about("dwelling_id", "no such dwelling on this node",
                                       "application.unknown_dwelling")
        if resident["household_id"] not in dwelling["household_ids"]:
            raise InvalidRequest.about("dwelling_id", "the applicant's household does not live there",
                                       "application.not_resident")
    return resident, dwelling


def _new_application(parsed: dict, resident: dict, dwelling: dict | None, *, node: str, town: str,
                     staff_id: str, code: str, at: str, details: dict[str, Any]) -> Application:
    application_id = f"A-{node}-{uuid.uuid4().hex[:12]}"
    competent = dwelling["town_code"] if dwelling else (parsed.get("town_code") or resident["town_code"])
    return Application(
        application_id=application_id, kind=parsed["kind"], status="received",
        applicant_resident_id=resident["resident_id"], applicant_town=resident["town_code"],
        household_id=resident["household_id"], competent_town=competent,
        dwelling_id=dwelling["dwelling_id"] if dwelling else None,
        property=parsed.get("property"),
        disaster=parsed["disaster"],  # resolved: {"id", "name", "date"}
        channel=parsed["channel"], received_node=node, received_town=town, received_at=at,
        survey_id=None, damage_class=None, current_certificate=None, certificates=(),
        tracking_code_sha256=lifecycle.tracking_hash(application_id, codes.code_key(code)),
        tracking_key=codes.tracking_lookup_key(code),  # the code alone finds it (index 0360)
        history=({"status": "received", "action": "receive", "at": at, "node": node, "staff": staff_id},),
        applicant_details=details, absent=Application.NEW_ABSENT - {"applicant_details"},
    )


def _check_town(code: str) -> None:
    try:
        validate_town_code(code, "town_code")
    except InvalidInput as exc:
        raise InvalidRequest.about("town_code", exc.message, exc.code) from None


async def receive_application(store: RecordStore, actor: Actor, parsed: dict[str, Any], *,
                              town: str, at: dt.datetime) -> tuple[Application, str]:
    """Receive a parsed application at this node; returns (application, tracking code).

    The tracking code is shown once, on the receipt; only its hashes are kept.
    """
    code = codes.new_code()
    async with store.transaction():
        resident, dwelling = await _references(store, parsed)
        parsed = {**parsed, "disaster": await disasters.resolve_for_application(
            store, parsed.get("disaster_id"), parsed.get("disaster"), at)}
        details = applicants.details_for(
            parsed.get("details"), is_householder=bool(resident.get("is_householder"))).to_state()
        app = _new_application(parsed, resident, dwelling, node=store.node_id, town=town,
                               staff_id=actor.staff.staff_id, code=code, at=at.isoformat(), details=details)
        if parsed["kind"] == "hisai":
            _check_town(app.competent_town)
        needs_reason(actor, towns_of(app))
        await duplicates.refuse_duplicate(store, app)  # 409 application.duplicate (issue 11)
        await store.save(app)
        await audit_other_towns(store, actor, towns=towns_of(app), action="application.create",
                                subject_type="application", subject_id=app.application_id)
    return app, code


async def read_application(store: RecordStore, actor: Actor, application_id: str) -> Application:
    """The application (audited when it holds another town's data)."""
    async with store.transaction():
        app = await load_application(store, application_id)
        await audit_other_towns(store, actor, towns=towns_of(app), action="application.read",
                                subject_type="application", subject_id=app.application_id)
    return app


async def track_application(store: RecordStore, application_id: str, code: str) -> dict[str, Any]:
    """The applicant's view, given the tracking code on the receipt.

    A wrong code and an unknown id give the same 404, so ids cannot be probed.
    """
    app = await store.load(Application, application_id)
    expected = app and app.tracking_code_sha256
    given = lifecycle.tracking_hash(application_id, codes.code_key(code))
    if not expected or not secrets.compare_digest(expected, given):
        raise NotFound("no application with that id and tracking code", code="application.not_found")
    return await _tracking_view(store, app)


async def _tracking_view(store: RecordStore, app: Application) -> dict[str, Any]:
    """The public view with each certificate's real state: a revoked or superseded one is
    never shown as current."""
    states = {n: await certificate_status(store, n) for n in app.certificates}
    return lifecycle.public_view(app, states)


async def track_by_code(store: RecordStore, code: str) -> dict[str, Any]:
    """The applicant's view from the tracking code alone (one rule with kiosk codes:
    case, spaces and dashes do not matter). Unknown and malformed codes give the same 404."""
    found = []
    if len(codes.code_key(code)) == codes.LENGTH:
        found = await store.find_records(Application, "tracking_key", codes.tracking_lookup_key(code), limit=2)
    if len(found) != 1:
        raise NotFound("no application with that tracking code", code="application.not_found")
    return await _tracking_view(store, found[0])


async def request_resurvey(store: RecordStore, actor: Actor, application_id: str, reason: str,
                           *, at: dt.datetime) -> Application:
    """The resident asks for a re-survey (再調査) of an issued application, giving a reason;
    the request is kept on the application and the next survey names it."""
    async with store.transaction():
        app = await load_application(store, application_id, for_update=True)
        lifecycle.next_status(app, "request_resurvey")  # 409 before 422: the state comes first
        reason = _required_text(reason, "resurvey_reason", "resurvey.reason_required")
        needs_reason(actor, towns_of(app))
        requests = list(app.resurvey_requests or ())
        request = {"request_id": f"{application_id}-RR{len(requests) + 1}", "reason": reason,
                   "at": at.isoformat(), "staff": actor.staff.staff_id, "node": store.node_id}
        new = lifecycle.advance(app, "request_resurvey", at=at.isoformat(), node=store.node_id,
                                staff=actor.staff.staff_id, resurvey_note=reason,
                                resurvey_requests=[*requests, request],
                                detail={"request_id": request["request_id"], "reason": reason})
        await store.save(new)
        await audit_other_towns(store, actor, towns=towns_of(app), action="application.resurvey_request",
                                subject_type="application", subject_id=app.application_id)
    return new


def _required_text(value: str | None, field: str, code: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidRequest.about(field, "a reason is required (理由を入力してください)", code)
    return text


async def withdraw_application(store: RecordStore, actor: Actor, application_id: str, reason: str | None,
                               *, at: dt.datetime) -> Application:
    """申請取下げ: the applicant withdraws before a certificate is issued, giving a reason.
    Final: a withdrawn application is never surveyed, judged or issued (409 application.withdrawn)."""
    async with store.transaction():
        app = await load_application(store, application_id, for_update=True)
        lifecycle.next_status(app, "withdraw")
        reason = _required_text(reason, "withdraw_reason", "withdrawal.reason_required")
        needs_reason(actor, towns_of(app))
        withdrawal = {"reason": reason, "at": at.isoformat(), "staff": actor.staff.staff_id, "node": store.node_id}
        new = lifecycle.advance(app, "withdraw", at=at.isoformat(), node=store.node_id,
                                staff=actor.staff.staff_id, withdrawal=withdrawal, detail={"reason": reason})
        await store.save(new)
        if (triple := duplicates.triple_of(new)) is not None:  # a withdrawn duplicate frees its pair at once
            await duplicates.review(store, triple)
        await audit_other_towns(store, actor, towns=towns_of(app), action="application.withdraw",
                                subject_type="application", subject_id=app.application_id)
    return new


async def update_applicant(store: RecordStore, actor: Actor, application_id: str,
                           details: applicants.ApplicantDetails, *, at: dt.datetime) -> Application:
    """Correct the applicant's 続柄, contact or agent (the earlier details stay in the history)."""
    async with store.transaction():
        app = await load_application(store, application_id, for_update=True)
        lifecycle.refuse_withdrawn(app, "update_applicant")
        resident = await store.get("resident", app.applicant_resident_id) or {}
        checked = applicants.details_for(details, is_householder=bool(resident.get("is_householder")))
        needs_reason(actor, towns_of(app))
        new = lifecycle.noted(app, {"status": app.status, "action": "update_applicant", "at": at.isoformat(),
                                    "node": store.node_id, "staff": actor.staff.staff_id,
                                    "previous": app.applicant_details},
                              applicant_details=checked.to_state())
        await store.save(new)
        await audit_other_towns(store, actor, towns=towns_of(app), action="application.update_applicant",
                                subject_type="application", subject_id=app.application_id)
    return new
