"""Survey entry (被害認定調査) and judgement (判定): the damage class comes from the survey only.

Use cases over :class:`service.counter.access.RecordStore`; the state changes come from
service.counter.lifecycle and the class from records.Survey.damage_class (never typed).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from certs.damage import DamageClass
from service.counter import lifecycle
from service.counter.access import Actor, RecordStore, audit_other_towns, needs_reason
from service.counter.applications import load_application, towns_of
from service.counter.records import Survey
from service.errors import Conflict, InvalidRequest


async def enter_survey(store: RecordStore, actor: Actor, application_id: str,
                       build: Callable[[str], Survey], *, at: dt.datetime) -> tuple[Survey, dict[str, Any]]:
    """Record a survey of the application's dwelling; ``build(dwelling_id)`` makes the Survey
    from the request (its checks raise 422 after the application is known to exist)."""
    async with store.transaction():
        app = await load_application(store, application_id, for_update=True)
        if app["kind"] != "risai":
            raise Conflict("a 被災証明 application has no survey", code="application.state")
        survey = build(app["dwelling_id"])
        if await store.load(Survey, survey.survey_id) is not None:
            raise Conflict(f"survey {survey.survey_id} already exists", code="survey.exists")
        needs_reason(actor, towns_of(app))
        new = lifecycle.advance(app, "survey", at=at.isoformat(), node=store.node_id,
                                staff=actor.staff.staff_id, survey_id=survey.survey_id, damage_class=None)
        await store.save(survey)
        await store.put("application", app["application_id"], new)
        await audit_other_towns(store, actor, towns=towns_of(app), action="survey.enter",
                                subject_type="survey", subject_id=survey.survey_id)
    return survey, new


async def judge(store: RecordStore, actor: Actor, application_id: str, survey_id: str | None,
                *, at: dt.datetime) -> tuple[dict[str, Any], DamageClass]:
    """Judge the application from its survey (the latest one unless ``survey_id`` is given)."""
    async with store.transaction():
        app = await load_application(store, application_id, for_update=True)
        survey_id = survey_id or app.get("survey_id")
        survey = await store.load(Survey, survey_id) if survey_id else None
        if survey is None or survey.dwelling_id != app.get("dwelling_id"):
            raise InvalidRequest.about("survey_id", "no survey of this application's dwelling",
                                       "judgement.unknown_survey")
        damage_class = survey.damage_class
        needs_reason(actor, towns_of(app))
        new = lifecycle.advance(app, "judge", at=at.isoformat(), node=store.node_id,
                                staff=actor.staff.staff_id, survey_id=survey_id,
                                damage_class=damage_class.code, judged_by=actor.staff.staff_id)
        await store.put("application", app["application_id"], new)
        await audit_other_towns(store, actor, towns=towns_of(app), action="application.judge",
                                subject_type="application", subject_id=app["application_id"])
    return new, damage_class
