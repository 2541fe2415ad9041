"""The 代行 report and the statistics (集計) over HTTP against real PostgreSQL, on node B
(輪島市) after it served town A's (益城町) cases in A's name (tests/support/casework.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from deploy import synthetic_names
from tests.support.casework import make_cases
from tests.support.counter import TOWN_A, TOWN_B, build_pki, counter_node
from tests.support.issuing import REASON

pytestmark = pytest.mark.integration
JST = dt.timezone(dt.timedelta(hours=9))


@pytest.fixture(scope="module")
def pki():
    return build_pki()


async def test_daikou_report_and_statistics(database, pki):
    async with counter_node(database, pki) as node:
        supervisor = await node.login("boss1", ("supervisor", "surveyor"))
        clerk_b = await node.login("clerk1", ("clerk",))
        boss_a = await node.login("boss-a", ("supervisor",), town=TOWN_A)
        auditor_a = await node.login("auditor-a", ("auditor",), town=TOWN_A)
        cases = await make_cases(node, supervisor, clerk_b)
        today = dt.datetime.now(JST).date().isoformat()

        status, report = await boss_a.get("/api/v1/reports/daikou")
        assert status == 200, report
        assert report["by_node"] == [{"node": "wajima-1", "applications": 4, "surveys": 3, "certificates": 2,
                                      "copies": 1, "revocations": 1}]
        assert [(d["day"], d["node"]) for d in report["by_day"] if d["certificates"]] == [(today, "wajima-1")]
        assert sorted(c["number"] for c in report["certificates"]) == sorted(cases.certificates)
        assert report["certificates_total"] == 2 and report["applications_total"] == 4
        assert report["audits"] is None  # a supervisor, not an auditor

        status, audited = await auditor_a.get("/api/v1/reports/daikou")
        assert status == 200 and audited["audits"], audited
        assert all(a["town_code"] == TOWN_A and a["staff_town"] == TOWN_B for a in audited["audits"])
        assert {"application.create", "certificate.issue", "certificate.revoke"} <= {
            a["action"] for a in audited["audits"]}

        # B's own report: nobody else acted in B's name. A's report read by B needs a reason.
        status, own = await clerk_b.get("/api/v1/reports/daikou")
        assert status == 200 and own["by_node"] == [] and own["certificates"] == []
        status, body = await clerk_b.get("/api/v1/reports/daikou", params={"town": TOWN_A})
        assert status == 422 and body["error"]["code"] == "audit.reason_required"
        status, body = await clerk_b.get("/api/v1/reports/daikou", params={"town": TOWN_A}, headers=REASON)
        assert status == 200 and body["certificates_total"] == 2
        status, body = await clerk_b.get("/api/v1/reports/daikou", params={"town": "12345"})
        assert status == 400 and body["error"]["fields"][0]["field"] == "town"

        # 集計 of A's cases (read by B's staff: counts only, no reason needed) and of node B.
        for params in ({"town": TOWN_A}, {"scope": "node"}):
            status, stats = await clerk_b.get("/api/v1/statistics", params=params)
            assert status == 200, stats
            apps = {r["class"]: r["n"] for r in stats["applications_by_class"]}
            assert apps == {"zenkai": 1, "daikibo-hankai": 1, "chukibo-hankai": 0, "hankai": 1,
                            "jun-hankai": 0, "ichibu-sonkai": 0, None: 1}
            certs = {r["class"]: r["n"] for r in stats["certificates_by_class"]}
            assert certs["zenkai"] == 1 and sum(certs.values()) == 1  # the revoked one is not current
            assert stats["applications_by_day"] == [{"key": today, "n": 4}]
            assert stats["certificates_by_node"] == [{"key": "wajima-1", "n": 1}]
            districts = stats["by_district"]
            assert sum(d["applications"] for d in districts) == 4
            assert sum(d["certificates"]["zenkai"] for d in districts) == 1
            assert all(d["district"] in synthetic_names.DISTRICTS for d in districts), districts
        status, body = await clerk_b.get("/api/v1/statistics", params={"scope": "region"})
        assert status == 400 and body["error"]["fields"][0]["field"] == "scope"


@pytest.mark.parametrize("location, town, district", [
    ("熊本県益城町大字宮園字東原123番4", "益城町", "宮園"),
    ("熊本県益城町木山2丁目15番3", "益城町", "木山"),
    ("石川県輪島市河井町二丁目10", "輪島市", "河井町"),
    ("三本松二丁目5", "", "三本松"),
    ("岩手県陸前高田市高田町字館の沖120", "陸前高田市", "高田町"),
])
async def test_district_of_a_location(database, location, town, district):
    import asyncpg

    conn = await asyncpg.connect(database)
    try:
        assert await conn.fetchval("SELECT risai_district($1, $2)", location, town) == district
    finally:
        await conn.close()
