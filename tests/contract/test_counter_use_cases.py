"""The counter's use cases (service.counter.*), run against both stores: the in-memory fake
(tests/support/fake_store.py) and the PostgreSQL repository (service.storage.counter).

The same test, the same assertions: what the fake promises, PostgreSQL keeps.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import asyncpg
import pytest

from service.counter import applicants, applications, batch_print, certificates, lifecycle, residents, surveys
from service.counter.access import Actor
from service.counter.application_records import Application
from service.counter.certificate_records import Revocation
from service.counter.records import Inundation, Survey
from service.errors import Conflict, InvalidRequest, NotFound
from service.staff.accounts import Staff
from service.storage.counter import CounterRepository
from tests.support.fake_store import FakeCounterStore

NOW = dt.datetime(2024, 1, 20, 3, 0, tzinfo=dt.timezone.utc)
HOME, OTHER = "434434", "172049"  # 益城町, 輪島市
CLERK = Staff("staff-1", HOME, "clerk1", "窓口 一郎", frozenset({"clerk", "supervisor"}))


def _actor(reason: str | None = None) -> Actor:
    def given() -> str:
        if reason is None:
            raise InvalidRequest.about("reason", "a reason is required", "audit.reason_required")
        return reason
    return Actor(CLERK, given)


@pytest.fixture
async def pg_store(database):
    """The PostgreSQL repository on one connection to a fresh database."""
    conn = await asyncpg.connect(database)
    try:
        yield CounterRepository(conn, node_id="mashiki-1", town=HOME)
    finally:
        await conn.close()


@pytest.fixture(params=["fake", pytest.param("postgres", marks=pytest.mark.integration)])
def any_store(request):
    """The in-memory fake, then the PostgreSQL repository."""
    return FakeCounterStore("mashiki-1") if request.param == "fake" else request.getfixturevalue("pg_store")


@pytest.fixture
async def store(any_store):
    """A store with one resident of each town, living in a dwelling of its town."""
    async with any_store.transaction():
        for town, n in ((HOME, 1), (OTHER, 2)):
            await any_store.put("resident", f"R{n}", {"resident_id": f"R{n}", "household_id": f"H{n}",
                                                      "town_code": town})
            await any_store.put("dwelling", f"D{n}", {"dwelling_id": f"D{n}", "household_ids": [f"H{n}"],
                                                      "town_code": town, "location": f"{town} 1-{n}"})
        for staff_id, town, name, roles, disabled in STAFF:
            await any_store.put("staff", staff_id, {"staff_id": staff_id, "town_code": town, "username": staff_id,
                                                    "display_name": name, "roles": roles, "disabled": disabled,
                                                    "password_hash": "x"})
    return any_store


# (id, town, name, roles, disabled): the surveyor picker's candidates and non-candidates.
STAFF = [("surv-1", HOME, "調査 花子", ["surveyor"], False), ("surv-2", OTHER, "応援 次郎", ["surveyor"], False),
         ("surv-3", HOME, "退職 三郎", ["surveyor"], True), ("clerk-9", HOME, "窓口 九子", ["clerk"], False)]


def _parsed(resident: str = "R1", dwelling: str = "D1") -> dict:
    return {"kind": "risai", "applicant": resident, "dwelling_id": dwelling, "channel": "counter",
            "disaster": {"name": "令和6年能登半島地震", "date": dt.date(2024, 1, 1)}}


def _build(survey_id: str = "S-1", kind: str = "first", ratio: str | None = "55", **more):
    return lambda dwelling, name: Survey(survey_id, dwelling, kind, name, dt.date(2024, 1, 5),
                                         Decimal(ratio) if ratio else None, **more)


async def _judged(store) -> Application:
    app, _ = await applications.receive_application(store, _actor(), _parsed(), town=HOME, at=NOW)
    await surveys.enter_survey(store, _actor(), app.application_id, "surv-1", _build(), at=NOW)
    judged, _ = await surveys.judge(store, _actor(), app.application_id, None, at=NOW)
    return judged


async def _certificate(store, number: str = "434434-mashiki-1-000001", town: str = HOME) -> str:
    async with store.transaction():
        await store.put("certificate", number, {"number": number, "competent_town": town, "qr": "JPRC1:x"},
                        insert_only=True)
    return number


async def test_receive_then_track_with_the_code_only(store):
    app, code = await applications.receive_application(store, _actor(), _parsed(), town=HOME, at=NOW)
    assert app.status == "received" and app.competent_town == HOME
    view = await applications.track_application(store, app.application_id, code.lower())
    assert view["status"] == "received" and "applicant_resident_id" not in view
    with pytest.raises(NotFound):
        await applications.track_application(store, app.application_id, "WRONG")


async def test_references_are_checked_before_anything_is_written(store):
    with pytest.raises(InvalidRequest) as err:
        await applications.receive_application(store, _actor(), _parsed("R1", "D2"), town=HOME, at=NOW)
    assert err.value.code == "application.not_resident"
    assert await store.find("application", "dwelling_id", "D2") == []


async def test_another_towns_resident_needs_a_reason_and_is_audited(store):
    with pytest.raises(InvalidRequest) as err:
        await applications.receive_application(store, _actor(), _parsed("R2", "D2"), town=HOME, at=NOW)
    assert err.value.code == "audit.reason_required"
    assert await store.find("application", "dwelling_id", "D2") == []
    app, _ = await applications.receive_application(store, _actor("避難所での受付"), _parsed("R2", "D2"),
                                                    town=HOME, at=NOW)
    assert app.competent_town == OTHER
    assert await store.find("application", "dwelling_id", "D2") != []


async def test_the_lifecycle_decides_what_may_happen_next(store):
    app, _ = await applications.receive_application(store, _actor(), _parsed(), town=HOME, at=NOW)
    with pytest.raises(Conflict) as err:
        await applications.request_resurvey(store, _actor(), app.application_id, None, at=NOW)
    assert err.value.code == "application.state"


async def test_judgement_derives_the_class_from_the_stored_survey(store):
    judged = await _judged(store)
    assert judged.status == "judged" and judged.damage_class == "zenkai"  # 55 %: 全壊
    assert (await store.load(Survey, "S-1")).damage_ratio == Decimal("55")
    assert judged.judgement["survey_id"] == "S-1" and judged.history[-1]["survey_id"] == "S-1"
    await _mark_issued(store, judged)
    await applications.request_resurvey(store, _actor(), judged.application_id, "外壁の損傷が大きい", at=NOW)
    with pytest.raises(Conflict) as err:
        await surveys.enter_survey(store, _actor(), judged.application_id, "surv-1", _build(ratio="20"), at=NOW)
    assert err.value.code == "survey.exists"
    assert (await store.load(Survey, "S-1")).damage_ratio == Decimal("55")  # never overwritten


async def test_a_second_revoke_returns_the_first(store):
    number = await _certificate(store)
    first, created = await certificates.revoke_certificate(store, _actor(), number, " 誤発行 ", at=NOW)
    assert created and first.reason == "誤発行"
    again, created = await certificates.revoke_certificate(store, _actor(), number, "別の理由", at=NOW)
    assert not created and again == first
    assert await store.load(Revocation, number) == first
    assert (await certificates.certificate_status(store, number))["state"] == "revoked"


async def test_copies_only_of_a_current_certificate(store):
    number = await _certificate(store)
    assert (await certificates.reissue_copy(store, _actor(), number, {"copy_reason": "紛失"}, at=NOW))[1] == 1
    assert (await certificates.reissue_copy(store, _actor(), number, {"copy_reason": "紛失"}, at=NOW))[1] == 2
    await certificates.revoke_certificate(store, _actor(), number, "誤発行", at=NOW)
    with pytest.raises(Conflict) as err:
        await certificates.reissue_copy(store, _actor(), number, {"copy_reason": "紛失"}, at=NOW)
    assert err.value.code == "certificate.not_current"
    _, _, copies = await certificates.read_certificate(store, _actor(), number)
    assert copies == 2


async def test_another_towns_certificate_needs_a_reason_to_revoke(store):
    number = await _certificate(store, "172049-wajima-1-000001", OTHER)
    with pytest.raises(InvalidRequest):
        await certificates.revoke_certificate(store, _actor(), number, "誤発行", at=NOW)
    assert await store.load(Revocation, number) is None
    with pytest.raises(NotFound):
        await certificates.revoke_certificate(store, _actor(), "434434-mashiki-1-000099", "誤発行", at=NOW)


async def test_dwellings_by_household_and_address(store):
    found = await residents.find_dwellings(store, resident_id="R2", household_id=None, address=None,
                                           town_code=None, limit=5)
    assert [d["dwelling_id"] for d in found] == ["D2"]
    found = await residents.find_dwellings(store, resident_id=None, household_id=None, address="1-1",
                                           town_code=HOME, limit=5)
    assert [d["dwelling_id"] for d in found] == ["D1"]
    resident, _, dwellings = await residents.read_resident(store, _actor(), "R1")
    assert resident["town_code"] == HOME and [d["dwelling_id"] for d in dwellings] == ["D1"]


async def _mark_issued(store, app: Application) -> Application:
    """The application as issuance leaves it (issuance itself needs keys: tests/unit/test_issuance)."""
    issued = dataclasses.replace(app, status="issued", current_certificate="434434-mashiki-1-000001",
                                 certificates=("434434-mashiki-1-000001",))
    async with store.transaction():
        await store.save(issued)
    return issued


async def test_surveys_are_kept_apart_and_the_judgement_names_the_one_it_used(store):
    judged = await _judged(store)
    app_id = judged.application_id
    await _mark_issued(store, judged)
    with pytest.raises(InvalidRequest) as err:
        await applications.request_resurvey(store, _actor(), app_id, "  ", at=NOW)
    assert err.value.code == "resurvey.reason_required"
    assert (await store.get("application", app_id))["status"] == "issued"
    requested = await applications.request_resurvey(store, _actor(), app_id, "内部の損傷を見てほしい", at=NOW)
    assert requested.resurvey_requests[0]["reason"] == "内部の損傷を見てほしい"
    second, _ = await surveys.enter_survey(store, _actor(), app_id, "surv-2", _build("S-2", "second", "42"), at=NOW)
    assert second.resurvey_request == requested.resurvey_requests[0]["request_id"]
    assert (second.surveyor_id, second.surveyor, second.entered_by) == ("surv-2", "応援 次郎", "staff-1")
    _, found = await surveys.read_surveys(store, _actor(), app_id)
    assert [(s.survey_id, s.kind.value, s.damage_ratio) for s in found] == [
        ("S-1", "first", Decimal("55")), ("S-2", "second", Decimal("42"))]
    rejudged, klass = await surveys.judge(store, _actor(), app_id, None, at=NOW)
    assert rejudged.status == "rejudged" and klass.code == "daikibo-hankai"
    assert rejudged.judgement["survey_id"] == "S-2" and rejudged.judgement["survey_kind"] == "second"
    again, klass = await surveys.judge(store, _actor(), app_id, "S-1", at=NOW)
    assert again.judgement["survey_id"] == "S-1" and klass.code == "zenkai"


@pytest.mark.parametrize("surveyor_id, code", [
    (None, "survey.surveyor_required"), ("nobody", "survey.unknown_surveyor"),
    ("clerk-9", "survey.not_surveyor"), ("surv-3", "survey.not_surveyor")])
async def test_the_surveyor_is_an_active_surveyor_account(store, surveyor_id, code):
    app, _ = await applications.receive_application(store, _actor(), _parsed(), town=HOME, at=NOW)
    with pytest.raises(InvalidRequest) as err:
        await surveys.enter_survey(store, _actor(), app.application_id, surveyor_id, _build(), at=NOW)
    assert err.value.code == code and err.value.problems[0].field == "surveyor_id"
    assert await store.get("survey", "S-1") is None
    assert (await store.get("application", app.application_id))["status"] == "received"


async def test_a_second_survey_follows_a_first(store):
    app, _ = await applications.receive_application(store, _actor(), _parsed(), town=HOME, at=NOW)
    with pytest.raises(Conflict) as err:
        await surveys.enter_survey(store, _actor(), app.application_id, "surv-1", _build(kind="second"), at=NOW)
    assert err.value.code == "survey.first_missing"
    assert await store.get("survey", "S-1") is None


async def test_below_floor_flooding_alone_is_less_than_near_half_collapse(store):
    app, _ = await applications.receive_application(store, _actor(), _parsed(), town=HOME, at=NOW)
    build = _build(ratio=None, inundation=Inundation.BELOW_FLOOR)
    survey, _ = await surveys.enter_survey(store, _actor(), app.application_id, "surv-1", build, at=NOW)
    assert survey.flooding is Inundation.BELOW_FLOOR
    _, klass = await surveys.judge(store, _actor(), app.application_id, None, at=NOW)
    assert klass.code == "ichibu-sonkai"  # 準半壊に至らない


async def test_a_survey_stored_before_survey_records_still_reads(store):
    app, _ = await applications.receive_application(store, _actor(), _parsed(), town=HOME, at=NOW)
    old = {"survey_id": "S-old", "dwelling_id": "D1", "kind": "first", "surveyor": "調査 花子",
           "surveyed_on": "2024-01-05", "damage_ratio": None, "flood_depth_m": "0.6", "photo_sha256": [], "notes": ""}
    async with store.transaction():
        await store.put("survey", "S-old", old)
        await store.save(dataclasses.replace(app, status="surveyed", survey_id="S-old"))
    _, found = await surveys.read_surveys(store, _actor(), app.application_id)
    assert [(s.survey_id, s.application_id, s.surveyor_id) for s in found] == [("S-old", None, None)]
    assert found[0].flooding is Inundation.ABOVE_FLOOR  # as issuance inferred it from the depth
    judged, klass = await surveys.judge(store, _actor(), app.application_id, None, at=NOW)
    assert klass.code == "chukibo-hankai" and judged.judgement["survey_id"] == "S-old"


async def test_the_surveyor_picker_lists_active_surveyors_own_town_first(store):
    found = await surveys.list_surveyors(store, HOME)
    assert [s["staff_id"] for s in found] == ["surv-1", "surv-2"]
    assert "password_hash" not in found[0]


async def test_a_withdrawn_application_is_final(store):
    app, _ = await applications.receive_application(store, _actor(), _parsed(), town=HOME, at=NOW)
    app_id = app.application_id
    with pytest.raises(InvalidRequest) as err:
        await applications.withdraw_application(store, _actor(), app_id, None, at=NOW)
    assert err.value.code == "withdrawal.reason_required"
    assert (await store.get("application", app_id))["status"] == "received"
    withdrawn = await applications.withdraw_application(store, _actor(), app_id, "保険の手続に不要となった", at=NOW)
    assert withdrawn.status == "withdrawn" and withdrawn.withdrawal["reason"] == "保険の手続に不要となった"
    assert withdrawn.history[-1]["reason"] == "保険の手続に不要となった"
    for attempt in (lambda: surveys.enter_survey(store, _actor(), app_id, "surv-1", _build(), at=NOW),
                    lambda: surveys.judge(store, _actor(), app_id, None, at=NOW),
                    lambda: applications.withdraw_application(store, _actor(), app_id, "再度", at=NOW)):
        with pytest.raises(Conflict) as err:
            await attempt()
        assert err.value.code == "application.withdrawn"
    with pytest.raises(Conflict) as err:
        lifecycle.next_status(withdrawn, "issue")  # issuance's own gate (service.counter.issuance)
    assert err.value.code == "application.withdrawn"
    assert await store.get("survey", "S-1") is None


async def test_an_issued_application_is_not_withdrawn(store):
    issued = await _mark_issued(store, await _judged(store))
    with pytest.raises(Conflict) as err:
        await applications.withdraw_application(store, _actor(), issued.application_id, "不要", at=NOW)
    assert err.value.code == "application.state"


async def test_applicant_details_and_an_agent_with_a_letter_of_attorney(store):
    agent = applicants.Agent("代理 太郎", "other", "09012345678", power_of_attorney=False)
    parsed = {**_parsed(), "details": applicants.ApplicantDetails("spouse", "0961234567", "益城町総合体育館", agent)}
    with pytest.raises(InvalidRequest) as err:
        await applications.receive_application(store, _actor(), parsed, town=HOME, at=NOW)
    assert err.value.code == "applicant.power_of_attorney"
    assert await store.find("application", "dwelling_id", "D1") == []
    parsed["details"] = dataclasses.replace(parsed["details"], agent=dataclasses.replace(agent, power_of_attorney=True))
    app, _ = await applications.receive_application(store, _actor(), parsed, town=HOME, at=NOW)
    details = app.applicant_details
    assert details["relationship"] == "spouse" and details["contact_address"] == "益城町総合体育館"
    assert details["agent"] == {"name": "代理 太郎", "relation": "other", "phone": "09012345678",
                                "power_of_attorney": True}
    updated = await applications.update_applicant(
        store, _actor(), app.application_id, applicants.ApplicantDetails("child", "0967000000"), at=NOW)
    assert updated.applicant_details["agent"] is None and updated.applicant_details["relationship"] == "child"
    assert updated.history[-1]["previous"] == details and updated.status == "received"


async def test_a_batch_selects_the_days_certificates_by_delivery_and_asks_for_a_reason(store):
    day = dt.date(2024, 1, 20)
    for n, (town, delivery) in enumerate(((HOME, "mail"), (HOME, "counter"), (OTHER, "mail")), start=1):
        number = f"{town}-mashiki-1-{n:06d}"
        async with store.transaction():
            await store.put("application", f"A{n}", {"application_id": f"A{n}",
                                                     "applicant_details": {"delivery": delivery}})
            await store.put("certificate", number, {"number": number, "competent_town": town, "qr": "JPRC1:x",
                                                    "issuing_node": "mashiki-1", "issue_date": day.isoformat(),
                                                    "application_id": f"A{n}"}, insert_only=True)
    with pytest.raises(InvalidRequest) as err:  # one of them is another town's
        await batch_print.select(store, _actor(), batch_print.Selection(day, "mail"))
    assert err.value.code == "audit.reason_required"
    mailed = await batch_print.select(store, _actor("郵送交付の一括印刷"), batch_print.Selection(day, "mail"))
    assert mailed == ("172049-mashiki-1-000003", "434434-mashiki-1-000001")
    assert await batch_print.select(store, _actor(), batch_print.Selection(day, "counter")) == (
        "434434-mashiki-1-000002",)
    with pytest.raises(InvalidRequest) as err:
        await batch_print.select(store, _actor(), batch_print.Selection(dt.date(2024, 1, 21)))
    assert err.value.code == "batch.empty"
    with pytest.raises(NotFound):
        await batch_print.select(store, _actor(), batch_print.Selection(numbers=("434434-mashiki-1-000099",)))
