"""The server side of the counter defects of issue 15, through the HTTP API on a real
node and real PostgreSQL: future dates, the resident search without a town, full-width
digits in stored addresses, the import's encoding names, a ratio given as a string,
tracking by the code alone, and 503 when the connection dies inside a transaction."""

from __future__ import annotations

import asyncpg
import pytest

from service.api.certificates import BEFORE_STORE
from tests.integration.test_counter_story import DISASTER, REASON, _household_member
from tests.support.counter import TOWN_A, build_pki, counter_node, seed_town
from tests.support.issuing import staff_id

pytestmark = pytest.mark.integration
HEADER = "住民ID,市区町村コード,氏,名,氏カナ,名カナ,生年月日,性別,住所,世帯番号,世帯主\n"


@pytest.fixture(scope="module")
def pki():
    return build_pki()


async def _application(node, town):
    clerk = await node.login("clerk1", ("clerk",))
    resident, dwelling = _household_member(town)
    status, created = await clerk.post("/api/v1/applications", {
        "applicant_resident_id": resident.resident_id, "dwelling_id": dwelling.dwelling_id,
        "disaster": DISASTER}, headers=REASON)
    assert status == 201, created
    return clerk, resident, dwelling, created


async def test_future_dates_are_refused(database, pki):
    """Defect 3: a disaster on 2099-01-01 and a survey on 2099-12-31 have not happened."""
    async with counter_node(database, pki) as node:
        town = await seed_town(node.app)
        clerk, resident, dwelling, created = await _application(node, town)
        status, body = await clerk.post("/api/v1/applications", {
            "applicant_resident_id": resident.resident_id, "dwelling_id": dwelling.dwelling_id,
            "disaster": {"name": "未来の地震", "date": "2099-01-01"}}, headers=REASON)
        assert status == 422 and body["error"]["fields"][0]["field"] == "disaster.date", body
        assert body["error"]["code"] == "record.future_date"
        surveyor = await node.login("surveyor1", ("surveyor",))
        app_id = created["application"]["application_id"]
        status, body = await surveyor.post(f"/api/v1/applications/{app_id}/surveys", {
            "surveyed_on": "2099-12-31", "damage_ratio": 30, "surveyor_id": staff_id(surveyor)}, headers=REASON)
        assert status == 422 and body["error"]["fields"][0]["field"] == "surveyed_on", body
        # A ratio given as the string "50.000" is the same as the number 50.000 (defect 12).
        status, body = await surveyor.post(f"/api/v1/applications/{app_id}/surveys", {
            "surveyed_on": "2024-01-10", "damage_ratio": "50.000", "surveyor_id": staff_id(surveyor)},
            headers=REASON)
        assert status == 201, body


async def test_search_without_a_town_returns_own_matches_and_counts_the_others(database, pki):
    """Defect 10: no 422 because another town's resident matches; say how many need a reason."""
    async with counter_node(database, pki) as node:
        town = await seed_town(node.app)
        clerk = await node.login("clerk1", ("clerk",))
        kana = town.residents[0].family_kana
        expected = sum(1 for r in town.residents if r.family_kana.startswith(kana))
        status, body = await clerk.get("/api/v1/residents", params={"kana": kana})
        assert status == 200, body
        assert body["residents"] == [] and body["other_town_matches"] == expected
        status, body = await clerk.get("/api/v1/residents", params={"kana": kana}, headers=REASON)
        assert status == 200 and body["count"] == expected and body["other_town_matches"] == 0


async def test_sjis_import_and_an_address_with_full_width_digits(database, pki):
    """Defects 11 and 12: the import takes sjis/ms932/SHIFT_JIS; 宮園１２３ finds 宮園１２３."""
    async with counter_node(database, pki) as node:
        admin = await node.login("boss1", ("supervisor",))
        rows = [f"R{i},{TOWN_A},宮園,{name},ミヤゾノ,{kana},1970-03-0{i},1,熊本県益城町宮園１２{i},H{i},1\n"
                for i, (name, kana) in enumerate([("一郎", "イチロウ"), ("二郎", "ジロウ"), ("三郎", "サブロウ")], 1)]
        for row, encoding in zip(rows, ("sjis", "ms932", "SHIFT_JIS")):
            status, body = await admin.post(f"/api/v1/imports?kind=residents&wait=true&encoding={encoding}",
                                            data=(HEADER + row).encode("cp932"))
            assert status == 201, (encoding, body)
        for typed in ("宮園１２１", "宮園121", "宮園 121"):
            status, body = await admin.get("/api/v1/residents", params={"address": typed}, headers=REASON)
            assert status == 200 and [r["resident_id"] for r in body["residents"]] == ["R1"], (typed, body)


async def test_the_tracking_code_alone_finds_the_application(database, pki):
    """Defect 8: one rule for codes (case, spaces, dashes), and no application id needed."""
    async with counter_node(database, pki) as node:
        town = await seed_town(node.app)
        clerk, _, _, created = await _application(node, town)
        code, app_id = created["tracking_code"], created["application"]["application_id"]
        assert "tracking_key" not in created["application"]
        for typed in (code, code.lower(), code.replace("-", ""), code.lower().replace("-", " ")):
            resp = await node.client.get("/api/v1/tracking", params={"code": typed})
            body = await resp.json()
            assert resp.status == 200 and body["application"]["application_id"] == app_id, (typed, body)
            resp = await node.client.get(f"/api/v1/applications/{app_id}/tracking", params={"code": typed})
            assert resp.status == 200, typed
        for wrong in ("", "AAAA-AAAA-AAAA", code[:-1]):
            resp = await node.client.get("/api/v1/tracking", params={"code": wrong})
            assert resp.status == 404 and (await resp.json())["error"]["code"] == "application.not_found"


async def test_a_connection_lost_inside_a_transaction_is_503(database, pki):
    """Defect 9: the database goes away mid-transaction (here: its backend is terminated
    while issuance holds the transaction open): 503 database.unavailable, not 500."""
    async with counter_node(database, pki) as node:
        town = await seed_town(node.app)
        clerk, _, _, created = await _application(node, town)
        app_id = created["application"]["application_id"]
        boss = await node.login("boss1", ("supervisor", "surveyor"))
        assert (await boss.post(f"/api/v1/applications/{app_id}/surveys",
                                {"surveyed_on": "2024-01-10", "damage_ratio": 35, "surveyor_id": staff_id(boss)},
                                headers=REASON))[0] == 201
        assert (await boss.post(f"/api/v1/applications/{app_id}/judgement", {}, headers=REASON))[0] == 200

        async def kill_the_issuing_backend():
            admin = await asyncpg.connect(database)
            try:
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND state = 'idle in transaction'"
                    " AND pid <> pg_backend_pid()")
            finally:
                await admin.close()

        node.app[BEFORE_STORE].append(kill_the_issuing_backend)
        status, body = await clerk.post(f"/api/v1/applications/{app_id}/certificate", {}, headers=REASON)
        assert status == 503 and body["error"]["code"] == "database.unavailable", body
