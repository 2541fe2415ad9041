"""The counter's use cases (service.counter.*), run against both stores: the in-memory fake
(tests/support/fake_store.py) and the PostgreSQL repository (service.storage.counter).

The same test, the same assertions: what the fake promises, PostgreSQL keeps.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import asyncpg
import pytest

from service.counter import applications, certificates, residents, surveys
from service.counter.access import Actor
from service.counter.certificate_records import Revocation
from service.counter.records import Survey
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
    return any_store


def _parsed(resident: str = "R1", dwelling: str = "D1") -> dict:
    return {"kind": "risai", "applicant": resident, "dwelling_id": dwelling, "channel": "counter",
            "disaster": {"name": "令和6年能登半島地震", "date": dt.date(2024, 1, 1)}}


async def _judged(store) -> dict:
    app, _ = await applications.receive_application(store, _actor(), _parsed(), town=HOME, at=NOW)
    build = lambda dwelling: Survey("S-1", dwelling, "first", "調査 花子", dt.date(2024, 1, 5), Decimal("55"))
    await surveys.enter_survey(store, _actor(), app["application_id"], build, at=NOW)
    judged, _ = await surveys.judge(store, _actor(), app["application_id"], None, at=NOW)
    return judged


async def _certificate(store, number: str = "434434-mashiki-1-000001", town: str = HOME) -> str:
    async with store.transaction():
        await store.put("certificate", number, {"number": number, "competent_town": town, "qr": "JPRC1:x"},
                        insert_only=True)
    return number


async def test_receive_then_track_with_the_code_only(store):
    app, code = await applications.receive_application(store, _actor(), _parsed(), town=HOME, at=NOW)
    assert app["status"] == "received" and app["competent_town"] == HOME
    view = await applications.track_application(store, app["application_id"], code.lower())
    assert view["status"] == "received" and "applicant_resident_id" not in view
    with pytest.raises(NotFound):
        await applications.track_application(store, app["application_id"], "WRONG")


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
    assert app["competent_town"] == OTHER
    assert await store.find("application", "dwelling_id", "D2") != []


async def test_the_lifecycle_decides_what_may_happen_next(store):
    app, _ = await applications.receive_application(store, _actor(), _parsed(), town=HOME, at=NOW)
    with pytest.raises(Conflict) as err:
        await applications.request_resurvey(store, _actor(), app["application_id"], None, at=NOW)
    assert err.value.code == "application.state"


async def test_judgement_derives_the_class_from_the_stored_survey(store):
    judged = await _judged(store)
    assert judged["status"] == "judged" and judged["damage_class"] == "zenkai"  # 55 %: 全壊
    assert (await store.load(Survey, "S-1")).damage_ratio == Decimal("55")
    build = lambda dwelling: Survey("S-1", dwelling, "first", "調査 花子", dt.date(2024, 1, 6), Decimal("20"))
    with pytest.raises(Conflict) as err:
        await surveys.enter_survey(store, _actor(), judged["application_id"], build, at=NOW)
    assert err.value.code == "survey.exists"


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
