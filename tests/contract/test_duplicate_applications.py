"""One current 罹災証明書 per (household, dwelling, disaster) (service.counter.duplicates), run
against the in-memory fake and PostgreSQL, as tests/contract/test_counter_use_cases.py does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import asyncpg
import pytest

from service.counter import applications, certificates, duplicates
from service.counter.application_records import Application
from service.counter.disasters import disaster_id
from service.errors import Conflict
from service.storage.counter import CounterRepository
from service.storage.duplicates import APPLICATIONS_FOR_SQL
from tests.contract import test_counter_use_cases as base
from tests.contract.test_counter_use_cases import HOME, NOW, _actor, _parsed

any_store, pg_store = base.any_store, base.pg_store  # the same two stores (fixtures)

NOTO = {"name": "令和6年能登半島地震", "date": dt.date(2024, 1, 1)}
NOTO_ID = disaster_id(NOTO["name"], NOTO["date"])


@pytest.fixture
async def store(any_store):
    """H1 lives in D1 and D3; H3 lives in D1 too (two households, one dwelling)."""
    async with any_store.transaction():
        for n, household in ((1, "H1"), (3, "H3")):
            await any_store.put("resident", f"R{n}", {"resident_id": f"R{n}", "household_id": household,
                                                      "town_code": HOME})
        await any_store.put("dwelling", "D1", {"dwelling_id": "D1", "household_ids": ["H1", "H3"],
                                               "town_code": HOME, "location": "益城町 1-1"})
        await any_store.put("dwelling", "D3", {"dwelling_id": "D3", "household_ids": ["H1"],
                                               "town_code": HOME, "location": "益城町 3-3"})
        await any_store.put("disaster", NOTO_ID, {"disaster_id": NOTO_ID, "name": NOTO["name"],
                                                  "date": "2024-01-01", "towns": [HOME]})
    return any_store


async def _receive(store, resident="R1", dwelling="D1", **changes):
    parsed = {**_parsed(resident, dwelling), **changes}
    app, _ = await applications.receive_application(store, _actor(), parsed, town=HOME, at=NOW)
    return app


async def _issued(store, app: Application, number: str) -> str:
    """Mark ``app`` issued with certificate ``number`` (as issuance would leave it)."""
    async with store.transaction():
        await store.put("certificate", number, {"number": number, "application_id": app.application_id,
                                                "competent_town": HOME, "qr": "JPRC1:x"}, insert_only=True)
        await store.save(dataclasses.replace(app, status="issued", current_certificate=number, certificates=(number,)))
    return number


async def _applications(store) -> list[Application]:
    return await store.applications_for("H1", "D1")


async def test_a_second_application_for_the_triple_is_refused_naming_the_first(store):
    first = await _receive(store)
    number = await _issued(store, first, "434434-mashiki-1-000001")
    with pytest.raises(Conflict) as err:
        await _receive(store)
    assert err.value.code == "application.duplicate"
    (field,) = err.value.fields
    assert (field["application_id"], field["certificate"], field["status"]) == (first.application_id, number, "issued")
    assert [a.application_id for a in await _applications(store)] == [first.application_id]  # nothing written


async def test_free_text_and_the_registry_id_are_the_same_disaster(store):
    await _receive(store)  # free text: linked to the registry's record
    with pytest.raises(Conflict):
        await _receive(store, disaster=None, disaster_id=NOTO_ID)
    # A free-text disaster the registry never saw is keyed by the id its name and date get.
    other = {"name": "令和6年1月豪雪", "date": dt.date(2024, 1, 10)}
    await _receive(store, disaster=other)
    with pytest.raises(Conflict):
        await _receive(store, disaster=other)


async def test_other_dwellings_households_and_disasters_stay_independent(store):
    await _receive(store)
    await _receive(store, dwelling="D3")  # the same household's other dwelling
    await _receive(store, resident="R3")  # another household of the same dwelling
    await _receive(store, disaster={"name": "令和6年1月豪雪", "date": dt.date(2024, 1, 10)})
    await _receive(store, kind="hisai", dwelling_id=None, property={"location": "益城町 1-1", "description": "倉庫"})
    await _receive(store, kind="hisai", dwelling_id=None, property={"location": "益城町 1-1", "description": "倉庫"})


async def test_withdrawn_and_revoked_free_the_triple(store):
    first = await _receive(store)
    async with store.transaction():
        await store.save(dataclasses.replace(first, status="withdrawn"))
    second = await _receive(store)
    number = await _issued(store, second, "434434-mashiki-1-000002")
    await certificates.revoke_certificate(store, _actor(), number, "誤交付", at=NOW)
    third = await _receive(store)
    assert third.application_id not in (first.application_id, second.application_id)


async def _partition_pair(store) -> tuple[Application, Application]:
    """Two current applications of one triple, as two nodes accept them during a partition
    (written directly: the counter itself refuses the second)."""
    first = await _receive(store)
    async with store.transaction():
        second = dataclasses.replace(first, application_id="A-wajima-1-000000000001", received_node="wajima-1",
                                     received_at=(NOW + dt.timedelta(minutes=5)).isoformat())
        await store.save(second)
    await _issued(store, first, "434434-mashiki-1-000001")
    await _issued(store, second, "434434-wajima-1-000001")
    return first, second


async def test_a_partition_duplicate_is_reviewed_and_under_review_until_one_is_revoked(store):
    first, second = await _partition_pair(store)
    triple = duplicates.triple_of(first)
    async with store.transaction():
        assert await duplicates.review_events(store, [second]) == 1
        item = await duplicates.review(store, triple)
    assert item["winner"] == first.application_id  # received first: the suggestion only
    for number in ("434434-mashiki-1-000001", "434434-wajima-1-000001"):
        status = await certificates.certificate_status(store, number)
        assert status["state"] == "issued" and status["under_review"]["triple"] == triple.key
    await certificates.revoke_certificate(store, _actor(), "434434-wajima-1-000001", "二重交付", at=NOW)
    assert await certificates.certificate_status(store, "434434-mashiki-1-000001") == {"state": "issued"}
    assert (await certificates.certificate_status(store, "434434-wajima-1-000001"))["state"] == "revoked"
    assert await duplicates.current_applications(store, triple) == [await store.load(Application, first.application_id)]


async def _open_review_items(store) -> list[str]:
    if isinstance(store, CounterRepository):
        rows = await store.conn.fetch("SELECT conflict_key FROM conflicts WHERE kind = $1 AND resolved_at IS NULL",
                                      duplicates.KIND)
        return [r["conflict_key"] for r in rows]
    return [k for k, v in store.reviews.items() if not v["resolved"]]


async def test_the_review_item_is_recorded_once_and_closed_by_the_revocation(store):
    first, second = await _partition_pair(store)
    for _ in range(2):  # replaying the same events records nothing new
        async with store.transaction():
            await duplicates.review_events(store, [first, second])
    ids = "+".join(sorted([first.application_id, second.application_id]))
    assert await _open_review_items(store) == [f"{duplicates.KIND}/H1/D1/{NOTO_ID}/{ids}"]
    await certificates.revoke_certificate(store, _actor(), "434434-mashiki-1-000001", "二重交付", at=NOW)
    assert await _open_review_items(store) == []


async def test_withdrawing_one_of_a_pair_closes_its_review_at_once(store):
    first = await _receive(store)
    async with store.transaction():  # the partner's, accepted during a partition, not yet issued
        second = dataclasses.replace(first, application_id="A-wajima-1-000000000002", received_node="wajima-1",
                                     received_at=(NOW + dt.timedelta(minutes=5)).isoformat())
        await store.save(second)
        await duplicates.review_events(store, [second])
    assert len(await _open_review_items(store)) == 1
    await applications.withdraw_application(store, _actor(), second.application_id, "二重受付のため", at=NOW)
    assert await _open_review_items(store) == []


@pytest.mark.integration
async def test_simultaneous_receives_on_one_node_accept_exactly_one(database):
    """Eight clerks at once on eight connections: the triple's lock lets one through."""
    conns = [await asyncpg.connect(database) for _ in range(8)]
    try:
        stores = [CounterRepository(c, node_id="mashiki-1", town=HOME) for c in conns]
        async with stores[0].transaction():
            await stores[0].put("resident", "R1", {"resident_id": "R1", "household_id": "H1", "town_code": HOME})
            await stores[0].put("dwelling", "D1", {"dwelling_id": "D1", "household_ids": ["H1"],
                                                   "town_code": HOME, "location": "益城町 1-1"})
        results = await asyncio.gather(*(_receive(s) for s in stores), return_exceptions=True)
        accepted = [r for r in results if isinstance(r, Application)]
        refused = [r for r in results if isinstance(r, Conflict)]
        assert len(accepted) == 1 and len(refused) == 7, results
        assert {e.code for e in refused} == {"application.duplicate"}
        assert len(await stores[0].applications_for("H1", "D1")) == 1
    finally:
        for c in conns:
            await c.close()


@pytest.mark.integration
async def test_the_look_up_is_served_by_the_index(pg_store):
    await pg_store.conn.execute("SET enable_seqscan = off")
    plan = "\n".join(r[0] for r in await pg_store.conn.fetch(
        "EXPLAIN " + APPLICATIONS_FOR_SQL.replace("$1", "'H1'").replace("$2", "'D1'")))
    assert "entities_application_household_dwelling" in plan, plan
