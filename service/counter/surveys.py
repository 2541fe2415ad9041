"""Surveys (被害認定調査) as records, and judgement (判定): the class comes from a survey only.

Each survey is its own insert-only record (never overwritten): the 一次調査 (exterior) and,
on the resident's request, the 二次調査 (interior), each with the surveyor chosen from the
staff accounts (not the clerk who types it in), its date and its ratio, flood depth or
床下浸水. A survey after a 再調査 request names that request. The judgement names the
survey it used (``judgement`` on the application and the history entry).

Use cases over :class:`SurveyStore`; the state changes come from service.counter.lifecycle
and the class from records.Survey.damage_class (never typed).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Callable, Protocol

from certs.damage import DamageClass
from service.counter import lifecycle
from service.counter.access import Actor, RecordStore, audit_other_towns, needs_reason
from service.counter.application_records import Application
from service.counter.applications import load_application, towns_of
from service.counter.records import Survey, SurveyKind
from service.errors import Conflict, InvalidRequest

SURVEYOR_ROLE = "surveyor"


class SurveyStore(RecordStore, Protocol):
    """The record store plus the one query the surveyor picker needs."""

    async def staff_with_role(self, role: str, *, limit: int = 500) -> list[dict]:
        """Staff account states holding ``role`` (any town), by town then name."""


def surveyor_view(state: dict[str, Any]) -> dict[str, Any]:
    """What the picker shows of an account (never its password hash)."""
    return {"staff_id": state["staff_id"], "display_name": state["display_name"],
            "town_code": state["town_code"]}


async def list_surveyors(store: SurveyStore, town_first: str) -> list[dict[str, Any]]:
    """Active accounts with the surveyor role, this town's first (partners' 応援職員 after)."""
    found = [s for s in await store.staff_with_role(SURVEYOR_ROLE) if not s.get("disabled")]
    found.sort(key=lambda s: (s["town_code"] != town_first, s["town_code"], s["display_name"]))
    return [surveyor_view(s) for s in found]


async def _surveyor(store: RecordStore, surveyor_id: Any) -> dict[str, Any]:
    if not isinstance(surveyor_id, str) or not surveyor_id.strip():
        raise InvalidRequest.about("surveyor_id", "choose the surveyor (調査員) from the staff accounts",
                                   "survey.surveyor_required")
    state = await store.get("staff", surveyor_id.strip())
    if state is None:
        raise InvalidRequest.about("surveyor_id", "no staff account with this id", "survey.unknown_surveyor")
    if state.get("disabled") or SURVEYOR_ROLE not in state.get("roles", ()):
        raise InvalidRequest.about("surveyor_id", "this account is not an active surveyor (調査員)",
                                   "survey.not_surveyor")
    return state


async def surveys_of(store: RecordStore, app: Application) -> list[Survey]:
    """The application's surveys, oldest first. Its ``survey_ids`` list, the surveys that name
    it (a survey written at another node while this one wrote the application is found
    too), and an older application's one ``survey_id`` (before survey records)."""
    ids = list(app.survey_ids or ())
    ids += [s["survey_id"] for s in await store.find("survey", "application_id", app.application_id, limit=200)]
    if app.survey_id:
        ids.append(app.survey_id)
    found = [await store.load(Survey, i) for i in dict.fromkeys(ids)]
    return sorted((s for s in found if s is not None), key=lambda s: (s.surveyed_on, s.entered_at or "", s.survey_id))


def _check_kind(survey: Survey, earlier: list[Survey]) -> None:
    if survey.kind is SurveyKind.SECOND and not any(s.kind is SurveyKind.FIRST for s in earlier):
        raise Conflict("a 二次調査 (interior) follows a 一次調査 of the same application",
                       code="survey.first_missing",
                       fields=[{"field": "kind", "reason": "no 一次調査 yet", "code": "survey.first_missing"}])


async def enter_survey(store: RecordStore, actor: Actor, application_id: str, surveyor_id: str | None,
                       build: Callable[[str, str], Survey], *, at: dt.datetime) -> tuple[Survey, Application]:
    """Record a new survey of the application's dwelling by the surveyor ``surveyor_id``.

    ``build(dwelling_id, surveyor_name)`` makes the Survey from the request (its checks
    raise 422 after the application is known to exist and may be surveyed).
    """
    async with store.transaction():
        app = await load_application(store, application_id, for_update=True)
        if app.kind != "risai":
            raise Conflict("a 被災証明 application has no survey", code="application.state")
        lifecycle.next_status(app, "survey")  # 409 first: withdrawn, issued, ...
        surveyor = await _surveyor(store, surveyor_id)
        survey = dataclasses.replace(
            build(app.dwelling_id, surveyor["display_name"]), application_id=application_id,
            surveyor_id=surveyor["staff_id"], entered_by=actor.staff.staff_id, entered_at=at.isoformat(),
            resurvey_request=_open_request(app))
        if await store.get("survey", survey.survey_id) is not None:
            raise Conflict(f"survey {survey.survey_id} already exists", code="survey.exists")
        earlier = await surveys_of(store, app)
        _check_kind(survey, earlier)
        needs_reason(actor, towns_of(app))
        new = lifecycle.advance(app, "survey", at=at.isoformat(), node=store.node_id,
                                staff=actor.staff.staff_id, survey_id=survey.survey_id, damage_class=None,
                                survey_ids=[*(s.survey_id for s in earlier), survey.survey_id],
                                detail={"survey_id": survey.survey_id, "survey_kind": survey.kind.value})
        await store.save(survey, insert_only=True)  # a survey is never overwritten
        await store.save(new)
        await audit_other_towns(store, actor, towns=towns_of(app), action="survey.enter",
                                subject_type="survey", subject_id=survey.survey_id)
    return survey, new


def _open_request(app: Application) -> str | None:
    """The 再調査 request a survey now answers (while one is open), else None."""
    if app.status in ("resurvey_requested", "resurveyed") and app.resurvey_requests:
        return app.resurvey_requests[-1]["request_id"]
    return None


async def read_surveys(store: RecordStore, actor: Actor, application_id: str) -> tuple[Application, list[Survey]]:
    """(application, its surveys oldest first), audited when it holds another town's data."""
    async with store.transaction():
        app = await load_application(store, application_id)
        found = await surveys_of(store, app)
        await audit_other_towns(store, actor, towns=towns_of(app), action="survey.read",
                                subject_type="application", subject_id=application_id)
    return app, found


async def judge(store: RecordStore, actor: Actor, application_id: str, survey_id: str | None,
                *, at: dt.datetime) -> tuple[Application, DamageClass]:
    """Judge the application from one of its surveys (the latest unless ``survey_id`` is
    given); the application then names the survey used (``judgement``)."""
    async with store.transaction():
        app = await load_application(store, application_id, for_update=True)
        lifecycle.refuse_withdrawn(app, "judge")
        survey_id = survey_id or app.survey_id
        survey = await store.load(Survey, survey_id) if survey_id else None
        if (survey is None or survey.dwelling_id != app.dwelling_id
                or survey.application_id not in (None, application_id)):
            raise InvalidRequest.about("survey_id", "no survey of this application's dwelling",
                                       "judgement.unknown_survey")
        damage_class = survey.damage_class
        needs_reason(actor, towns_of(app))
        judgement = {"survey_id": survey_id, "survey_kind": survey.kind.value, "damage_class": damage_class.code,
                     "at": at.isoformat(), "by": actor.staff.staff_id, "node": store.node_id}
        new = lifecycle.advance(app, "judge", at=at.isoformat(), node=store.node_id,
                                staff=actor.staff.staff_id, survey_id=survey_id,
                                damage_class=damage_class.code, judged_by=actor.staff.staff_id,
                                judgement=judgement, detail={"survey_id": survey_id,
                                                             "damage_class": damage_class.code})
        await store.save(new)
        await audit_other_towns(store, actor, towns=towns_of(app), action="application.judge",
                                subject_type="application", subject_id=app.application_id)
    return new, damage_class
