"""Survey entry (被害認定調査, surveyor) and judgement (判定, supervisor).

The damage class is never typed: a body that carries one is refused (common.json_object),
and judgement derives it from the survey's ratio or flood depth (records.Survey.damage_class).
"""

from __future__ import annotations

import uuid

from aiohttp import web

from service.counter import lifecycle
from service.api.applications import load_application
from service.api.common import Fields, json_object, now, reply, repository
from service.api.context import acting_staff, audit_other_town, needs_reason
from service.staff.sessions import require_role
from service.errors import Conflict, InvalidRequest
from service.counter.records import Survey

SURVEY_FIELDS = {"survey_id", "kind", "surveyed_on", "damage_ratio", "flood_depth_m",
                 "photo_sha256", "notes", "reason"}


def _survey_from(body: dict, dwelling_id: str, surveyor: str, node: str) -> Survey:
    f = Fields(body, SURVEY_FIELDS)
    survey_id = f.text("survey_id", required=False, max_len=64) or f"S-{node}-{uuid.uuid4().hex[:12]}"
    kind = f.choice("kind", ("first", "second"), default="first")
    surveyed_on = f.date("surveyed_on", past=True)
    ratio, depth = f.decimal("damage_ratio"), f.decimal("flood_depth_m")
    photos = body.get("photo_sha256", [])
    if not isinstance(photos, list):
        f.add("photo_sha256", "must be a list of SHA-256 hex digests", "invalid.type")
    notes = body.get("notes", "")
    if not isinstance(notes, str):
        f.add("notes", "must be text", "invalid.type")
    f.check()
    # Range, precision, "exactly one of ratio and depth": the record's own checks (422).
    return Survey(survey_id, dwelling_id, kind, surveyor, surveyed_on, ratio, depth, photos, notes)


@require_role("surveyor", "supervisor")
async def enter_survey(request: web.Request) -> web.Response:
    """POST /api/v1/applications/{id}/surveys: record a survey of the application's dwelling."""
    staff = acting_staff(request)
    body = await json_object(request)
    async with repository(request) as repo, repo.transaction():
        app = await load_application(repo, request.match_info["application_id"], for_update=True)
        if app["kind"] != "risai":
            raise Conflict("a 被災証明 application has no survey", code="application.state")
        survey = _survey_from(body, app["dwelling_id"], staff.display_name, repo.node_id)
        if await repo.get("survey", survey.survey_id) is not None:
            raise Conflict(f"survey {survey.survey_id} already exists", code="survey.exists")
        towns = {app["competent_town"], app["applicant_town"]}
        needs_reason(request, staff, towns, body)
        new = lifecycle.advance(app, "survey", at=now().isoformat(), node=repo.node_id,
                                staff=staff.staff_id, survey_id=survey.survey_id, damage_class=None)
        await repo.put("survey", survey.survey_id, survey.to_state())
        await repo.put("application", app["application_id"], new)
        await audit_other_town(repo, request, staff, towns=towns, action="survey.enter",
                               subject_type="survey", subject_id=survey.survey_id, body=body)
    return reply({"survey": survey.to_state(), "application": lifecycle.staff_view(new)}, status=201)


@require_role("supervisor")
async def judge(request: web.Request) -> web.Response:
    """POST /api/v1/applications/{id}/judgement: derive the class from the survey."""
    staff = acting_staff(request)
    body = await json_object(request, optional=True)
    f = Fields(body, {"survey_id", "reason"})
    survey_id = f.text("survey_id", required=False, max_len=64)
    f.check()
    async with repository(request) as repo, repo.transaction():
        app = await load_application(repo, request.match_info["application_id"], for_update=True)
        survey_id = survey_id or app.get("survey_id")
        state = await repo.get("survey", survey_id) if survey_id else None
        if state is None or state["dwelling_id"] != app.get("dwelling_id"):
            raise InvalidRequest.field("survey_id", "no survey of this application's dwelling",
                                       "judgement.unknown_survey")
        damage_class = Survey.from_state(state).damage_class
        towns = {app["competent_town"], app["applicant_town"]}
        needs_reason(request, staff, towns, body)
        new = lifecycle.advance(app, "judge", at=now().isoformat(), node=repo.node_id, staff=staff.staff_id,
                                survey_id=survey_id, damage_class=damage_class.code,
                                judged_by=staff.staff_id)
        await repo.put("application", app["application_id"], new)
        await audit_other_town(repo, request, staff, towns=towns, action="application.judge",
                               subject_type="application", subject_id=app["application_id"], body=body)
    return reply({"application": lifecycle.staff_view(new),
                  "damage_class": {"code": damage_class.code, "ja": damage_class.label_ja,
                                   "en": damage_class.label_en}})
