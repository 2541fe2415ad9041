"""Survey records (被害認定調査: enter, list, the surveyor picker) and judgement (判定, supervisor).

The damage class is never typed: a body that carries one is refused (common.json_object),
and judgement derives it from the survey's ratio or flood depth (records.Survey.damage_class).
Handlers only: the use cases are service.counter.surveys.
"""

from __future__ import annotations

import uuid

from aiohttp import web

from service.api.common import Fields, json_object, now, reply, repository
from service.api.context import actor
from service.counter import lifecycle, surveys
from service.counter.records import Survey
from service.web.auth import require_role

SURVEY_FIELDS = {"survey_id", "kind", "surveyor_id", "surveyed_on", "damage_ratio", "flood_depth_m",
                 "inundation", "photo_sha256", "notes", "reason"}


def _survey_from(body: dict, dwelling_id: str, surveyor: str, node: str) -> Survey:
    f = Fields(body, SURVEY_FIELDS)
    survey_id = f.text("survey_id", required=False, max_len=64) or f"S-{node}-{uuid.uuid4().hex[:12]}"
    kind = f.choice("kind", ("first", "second"), default="first")
    surveyed_on = f.date("surveyed_on", past=True)
    ratio, depth = f.decimal("damage_ratio"), f.decimal("flood_depth_m")
    inundation = f.choice("inundation", ("above_floor", "below_floor")) if body.get("inundation") else None
    photos = body.get("photo_sha256", [])
    if not isinstance(photos, list):
        f.add("photo_sha256", "must be a list of SHA-256 hex digests", "invalid.type")
    notes = body.get("notes", "")
    if not isinstance(notes, str):
        f.add("notes", "must be text", "invalid.type")
    f.check()
    # Range, precision, "exactly one of ratio and depth": the record's own checks (422).
    return Survey(survey_id, dwelling_id, kind, surveyor, surveyed_on, ratio, depth, photos, notes,
                  inundation=inundation)


@require_role("surveyor", "supervisor")
async def enter_survey(request: web.Request) -> web.Response:
    """POST /api/v1/applications/{id}/surveys: record a new survey (一次 or 二次) of the
    application's dwelling by the surveyor ``surveyor_id`` (a staff account)."""
    body = await json_object(request)
    # Chosen from the staff accounts, never the caller by default; checked by the use case
    # once the application is known to exist (404 before 422).
    surveyor_id = body.get("surveyor_id")
    who = actor(request, body)
    async with repository(request) as repo:
        survey, new = await surveys.enter_survey(
            repo, who, request.match_info["application_id"], surveyor_id,
            lambda dwelling_id, name: _survey_from(body, dwelling_id, name, repo.node_id),
            at=now())
    return reply({"survey": survey_view(survey), "application": lifecycle.staff_view(new)}, status=201)


def survey_view(survey: Survey) -> dict:
    """A survey as the API shows it: its state plus the derived class and labels."""
    klass = survey.damage_class
    flooding = survey.flooding
    return {**survey.to_state(), "kind_ja": survey.kind.label_ja,
            "flooding": flooding.value if flooding else None,
            "flooding_ja": flooding.label_ja if flooding else None,
            "damage_class": {"code": klass.code, "ja": klass.label_ja, "en": klass.label_en}}


@require_role()
async def list_surveys(request: web.Request) -> web.Response:
    """GET /api/v1/applications/{id}/surveys: every survey of the application, oldest first,
    the 再調査 requests, and the judgement (naming the survey it used)."""
    who = actor(request)
    async with repository(request) as repo:
        app, found = await surveys.read_surveys(repo, who, request.match_info["application_id"])
    return reply({"surveys": [survey_view(s) for s in found], "judgement": app.judgement,
                  "resurvey_requests": list(app.resurvey_requests or ()), "status": app.status})


@require_role()
async def list_surveyors(request: web.Request) -> web.Response:
    """GET /api/v1/surveyors: active staff with the surveyor role (the picker), this town first."""
    async with repository(request) as repo:
        found = await surveys.list_surveyors(repo, repo.town)
    return reply({"surveyors": found})


@require_role("supervisor")
async def judge(request: web.Request) -> web.Response:
    """POST /api/v1/applications/{id}/judgement: derive the class from the survey."""
    body = await json_object(request, optional=True)
    f = Fields(body, {"survey_id", "reason"})
    survey_id = f.text("survey_id", required=False, max_len=64)
    f.check()
    async with repository(request) as repo:
        new, damage_class = await surveys.judge(repo, actor(request, body),
                                                request.match_info["application_id"], survey_id, at=now())
    return reply({"application": lifecycle.staff_view(new),
                  "damage_class": {"code": damage_class.code, "ja": damage_class.label_ja,
                                   "en": damage_class.label_en}})
