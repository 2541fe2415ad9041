"""The disaster registry over HTTP (real PostgreSQL): supervisors register disasters,
applications pick one by id, unknown ids and future dates are refused, free text still works."""

from __future__ import annotations

import pytest

from tests.integration.test_counter_story import REASON, _household_member
from tests.support.counter import TOWN_A, TOWN_B, build_pki, counter_node, seed_town

pytestmark = pytest.mark.integration
NOTO = {"name": "令和6年能登半島地震", "date": "2024-01-01", "towns": [TOWN_B, TOWN_A],
        "saigai_kyujo_ho": True, "shien_ho": True}


@pytest.fixture(scope="module")
def pki():
    return build_pki()


async def test_applications_name_a_registered_disaster(database, pki):
    async with counter_node(database, pki) as node:
        town = await seed_town(node.app)
        clerk = await node.login("clerk1", ("clerk",))
        boss = await node.login("boss1", ("supervisor", "surveyor"))
        status, body = await clerk.post("/api/v1/disasters", NOTO)
        assert status == 403 and body["error"]["code"] == "auth.role"
        status, body = await boss.post("/api/v1/disasters", NOTO)
        assert status == 201, body
        disaster = body["disaster"]
        assert disaster["towns"] == sorted([TOWN_A, TOWN_B]) and disaster["shien_ho"] is True
        status, body = await boss.post("/api/v1/disasters", NOTO)
        assert status == 409 and body["error"]["code"] == "disaster.exists"
        status, body = await boss.post("/api/v1/disasters", {**NOTO, "date": "2099-01-01"})
        assert status == 422 and body["error"]["code"] == "record.future_date" and body["error"]["fields"][0]["field"] == "date"
        status, body = await boss.post("/api/v1/disasters", {**NOTO, "towns": "172049"})
        assert status == 422 and body["error"]["fields"][0]["field"] == "towns"
        status, listed = await clerk.get("/api/v1/disasters")
        assert status == 200 and [d["disaster_id"] for d in listed["disasters"]] == [disaster["disaster_id"]]

        resident, dwelling = _household_member(town, 0)
        application = {"applicant_resident_id": resident.resident_id, "dwelling_id": dwelling.dwelling_id}
        status, body = await clerk.post("/api/v1/applications", {**application, "disaster_id": "D-20240101-nothere00"},
                                        headers=REASON)
        assert status == 422 and body["error"]["code"] == "disaster.unknown"
        status, body = await clerk.post("/api/v1/applications", application, headers=REASON)
        assert status == 422 and body["error"]["fields"][0]["field"] == "disaster"
        status, body = await clerk.post("/api/v1/applications", {**application, "disaster_id": disaster["disaster_id"]},
                                        headers=REASON)
        assert status == 201, body
        assert body["application"]["disaster"] == {"id": disaster["disaster_id"], "name": NOTO["name"],
                                                   "date": NOTO["date"]}
        # The older free-text form keeps working and is linked when the registry knows it.
        other, other_dwelling = _household_member(town, 1)
        status, body = await clerk.post("/api/v1/applications", {
            "applicant_resident_id": other.resident_id, "dwelling_id": other_dwelling.dwelling_id,
            "disaster": {"name": NOTO["name"], "date": NOTO["date"]}}, headers=REASON)
        assert status == 201 and body["application"]["disaster"]["id"] == disaster["disaster_id"]
        status, body = await clerk.post("/api/v1/applications", {
            "applicant_resident_id": other.resident_id, "dwelling_id": other_dwelling.dwelling_id,
            "disaster": {"name": "未来の災害", "date": "2099-01-01"}}, headers=REASON)
        assert status == 422 and body["error"]["code"] == "record.future_date"
