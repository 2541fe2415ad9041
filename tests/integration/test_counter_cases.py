"""Casework over HTTP against real PostgreSQL (issue 14 part B): survey records with a chosen
surveyor, 再調査 with a reason, applicant details (続柄, contact, 代理人 with 委任状), and
withdrawal (申請取下げ) with the structured errors a clerk sees."""

from __future__ import annotations

import pytest

from service.web.appkeys import POOL
from tests.integration.test_counter_story import DISASTER, REASON, _household_member
from tests.support.counter import build_pki, counter_node, seed_town
from tests.support.issuing import staff_id

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pki():
    return build_pki()


async def _apply(clerk, resident, dwelling, **more):
    return await clerk.post("/api/v1/applications", {
        "applicant_resident_id": resident.resident_id, "dwelling_id": dwelling.dwelling_id,
        "disaster": DISASTER, **more}, headers=REASON)


async def test_surveys_applicant_details_and_withdrawal_over_http(database, pki):
    async with counter_node(database, pki) as node:
        town = await seed_town(node.app)
        clerk = await node.login("clerk1", ("clerk",))
        boss = await node.login("boss1", ("supervisor",))
        surveyor = await node.login("surveyor1", ("surveyor",))
        resident, dwelling = _household_member(town)

        status, body = await _apply(clerk, resident, dwelling, applicant={"relationship": "spouse", "phone": "123"},
                                    agent={"name": "代理 太郎", "relation": "other"})
        assert status == 422, body
        assert {f["field"] for f in body["error"]["fields"]} == {"applicant.phone"}
        status, body = await _apply(clerk, resident, dwelling, applicant={"phone": "096-123-4567"},
                                    agent={"name": "代理 太郎", "relation": "other"})
        assert status == 422 and body["error"]["code"] == "applicant.power_of_attorney", body
        status, created = await _apply(clerk, resident, dwelling, applicant={"phone": "096-123-4567"},
                                       agent={"name": "代理 太郎", "relation": "other", "power_of_attorney": True})
        assert status == 201, created
        app = created["application"]
        assert app["applicant_details"]["phone"] == "0961234567"
        assert app["applicant_details"]["agent"]["power_of_attorney"] is True
        app_id = app["application_id"]

        # The picker lists the surveyor account, not the clerk or the supervisor.
        status, picker = await clerk.get("/api/v1/surveyors")
        assert status == 200 and [s["staff_id"] for s in picker["surveyors"]] == [staff_id(surveyor)]
        # The supervisor types in the survey the surveyor made (the record names the surveyor).
        status, body = await boss.post(f"/api/v1/applications/{app_id}/surveys", {
            "surveyed_on": "2024-01-10", "damage_ratio": None, "inundation": "below_floor",
            "surveyor_id": staff_id(surveyor)}, headers=REASON)
        assert status == 201, body
        survey = body["survey"]
        assert survey["surveyor"] == "surveyor1" and survey["entered_by"] == staff_id(boss)
        assert survey["damage_class"]["code"] == "ichibu-sonkai" and survey["flooding_ja"] == "床下浸水"
        status, listed = await clerk.get(f"/api/v1/applications/{app_id}/surveys", headers=REASON)
        assert status == 200 and [s["survey_id"] for s in listed["surveys"]] == [survey["survey_id"]]

        status, body = await clerk.post(f"/api/v1/applications/{app_id}/withdrawal", {}, headers=REASON)
        assert status == 422 and body["error"]["fields"][0]["field"] == "withdraw_reason", body
        status, body = await clerk.post(f"/api/v1/applications/{app_id}/withdrawal",
                                        {"withdraw_reason": "申請者の申出により取下げ"}, headers=REASON)
        assert status == 200 and body["application"]["status"] == "withdrawn", body
        for who, path, payload in (
                (boss, f"/api/v1/applications/{app_id}/surveys",
                 {"surveyed_on": "2024-01-11", "damage_ratio": 30, "surveyor_id": staff_id(surveyor)}),
                (boss, f"/api/v1/applications/{app_id}/judgement", {}),
                (clerk, f"/api/v1/applications/{app_id}/certificate", {})):
            status, body = await who.post(path, payload, headers=REASON)
            assert status == 409 and body["error"]["code"] == "application.withdrawn", (path, body)
        status, listed = await clerk.get(f"/api/v1/applications/{app_id}/surveys", headers=REASON)
        assert len(listed["surveys"]) == 1 and listed["status"] == "withdrawn"

        # Each write went through the outbox in its transaction: the survey record once
        # (insert-only), the application at each step (received, surveyed, withdrawn).
        events = await node.app[POOL].fetch("SELECT entity_type, entity_id FROM outbox WHERE entity_id = ANY($1)",
                                            [app_id, survey["survey_id"]])
        assert sorted((e["entity_type"], e["entity_id"]) for e in events) == sorted(
            [("survey", survey["survey_id"])] + [("application", app_id)] * 3)
