"""The whole counter story over HTTP against real PostgreSQL (DESIGN 2, issue 4 "done when").

A resident of town A (益城町) applies at town B's node (輪島市); the survey is entered and
judged; the certificate is issued in A's name (A's mayor, B as place, 代行) and verifies;
a re-survey supersedes it; verification then reports the superseded state.
"""

from __future__ import annotations

import json
import subprocess
from urllib.parse import quote

import pytest

from tests.support.counter import TOWN_A, TOWN_B, build_pki, counter_node, seed_town
from tests.support.issuing import staff_id

pytestmark = pytest.mark.integration
REASON = {"X-Access-Reason": quote("避難所での申請受付（益城町からの避難者）")}
DISASTER = {"name": "令和6年能登半島地震", "date": "2024-01-01"}


@pytest.fixture(scope="module")
def pki():
    return build_pki()


def _household_member(town, index=0):
    resident = town.residents[index]
    dwelling = next(d for d in town.dwellings if resident.household_id in d.household_ids)
    return resident, dwelling


async def test_resident_of_a_applies_at_b_and_certificate_is_superseded(database, pki):
    async with counter_node(database, pki) as node:
        town = await seed_town(node.app)
        clerk = await node.login("clerk1", ("clerk",))
        surveyor = await node.login("surveyor1", ("surveyor",))
        supervisor = await node.login("boss1", ("supervisor",))
        resident, dwelling = _household_member(town)

        # Search by reading in hiragana finds the katakana record (search_key), audited.
        status, found = await clerk.get("/api/v1/residents", params={"kana": "".join(
            chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in resident.family_kana),
            "birth_date": resident.birth_date.isoformat()}, headers=REASON)
        assert status == 200, found
        assert resident.resident_id in [r["resident_id"] for r in found["residents"]]

        status, created = await clerk.post("/api/v1/applications", {
            "applicant_resident_id": resident.resident_id, "dwelling_id": dwelling.dwelling_id,
            "disaster": DISASTER}, headers=REASON)
        assert status == 201, created
        app_id, code = created["application"]["application_id"], created["tracking_code"]
        assert created["application"]["competent_town"] == TOWN_A

        status, body = await surveyor.post(f"/api/v1/applications/{app_id}/surveys", {
            "surveyed_on": "2024-01-10", "damage_ratio": 42.5, "surveyor_id": staff_id(surveyor)}, headers=REASON)
        assert status == 201, body
        status, body = await supervisor.post(f"/api/v1/applications/{app_id}/judgement", {}, headers=REASON)
        assert status == 200, body
        assert body["damage_class"]["ja"] == "大規模半壊"

        status, issued = await clerk.post(f"/api/v1/applications/{app_id}/certificate",
                                          {"place": "輪島市役所 窓口"}, headers=REASON)
        assert status == 201, issued
        cert = issued["certificate"]
        assert cert["competent_town"] == TOWN_A and cert["issuing_town"] == TOWN_B and cert["on_behalf"]
        assert cert["number"].startswith(f"{TOWN_A}-wajima-1-")
        assert issued["replication"] == "local-only"

        verdict = await _verify(node.client, cert["qr"])
        assert verdict["ok"], verdict
        checks = {c["name"]: c["status"] for c in verdict["checks"]}
        assert checks["delegation"] == "pass" and checks["superseded"] == "pass"
        # The QR carries a digest of the printed boxes; the node's stored text matches it.
        assert checks["boxes"] == "pass"

        # The PDF renders on demand from the QR plus the stored boxes: the place of issue
        # (a printed box, not in the QR) is on the page.
        resp = await clerk.client.get(f"/api/v1/certificates/{cert['number']}/pdf", headers=REASON)
        pdf = await resp.read()
        assert resp.status == 200 and pdf.startswith(b"%PDF")
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout
        assert "輪島市役所 窓口" in text.decode()

        # Re-survey: requested, surveyed again (second survey), re-judged, reissued.
        assert (await clerk.post(f"/api/v1/applications/{app_id}/resurvey-request",
                                 {"resurvey_reason": "内部の損傷を見てほしい"}, headers=REASON))[0] == 200
        status, body = await surveyor.post(f"/api/v1/applications/{app_id}/surveys", {
            "kind": "second", "surveyed_on": "2024-02-01", "damage_ratio": "55",
            "surveyor_id": staff_id(surveyor)}, headers=REASON)
        assert status == 201, body
        assert (await supervisor.post(f"/api/v1/applications/{app_id}/judgement", {}, headers=REASON))[0] == 200
        status, second = await clerk.post(f"/api/v1/applications/{app_id}/certificate", {}, headers=REASON)
        assert status == 201, second
        assert second["certificate"]["supersedes"] == cert["number"]
        assert second["certificate"]["damage_class"] == "zenkai"

        old = await _verify(node.client, cert["qr"])
        assert not old["ok"]
        superseded = next(c for c in old["checks"] if c["name"] == "superseded")
        assert superseded["status"] == "fail" and second["certificate"]["number"] in superseded["en"]
        assert old["status"] == {"state": "superseded", "by": second["certificate"]["number"]}
        assert (await _verify(node.client, second["certificate"]["qr"]))["ok"]

        # The applicant tracks the application with the code from the receipt (no login).
        resp = await node.client.get(f"/api/v1/applications/{app_id}/tracking", params={"code": code})
        tracked = await resp.json()
        assert resp.status == 200 and tracked["application"]["status"] == "reissued"
        assert [h["status"] for h in tracked["application"]["history"]] == [
            "received", "surveyed", "judged", "issued", "resurvey_requested", "resurveyed", "rejudged", "reissued"]
        resp = await node.client.get(f"/api/v1/applications/{app_id}/tracking", params={"code": "WRONG"})
        assert resp.status == 404

        # Every access to A's resident data by B's staff was audited with staff, node, reason.
        audits = await _audits(node.app)
        assert {"application.create", "survey.enter", "application.judge", "certificate.issue",
                "resident.search"} <= {a["action"] for a in audits}
        assert all(a["node_id"] == "wajima-1" and a["reason"] and a["staff_id"] for a in audits)


async def test_copy_revoke_and_hisai(database, pki):
    async with counter_node(database, pki) as node:
        town = await seed_town(node.app)
        clerk = await node.login("clerk1", ("clerk",))
        supervisor = await node.login("boss1", ("supervisor", "surveyor"))
        resident, dwelling = _household_member(town, 0)
        number = await issue_for(clerk, supervisor, resident, dwelling)

        status, copy = await clerk.post(f"/api/v1/certificates/{number}/copies", {"copy_reason": "紛失"},
                                        headers=REASON)
        assert status == 201 and copy["number"] == number and copy["copy_no"] == 1 and copy["label"] == "再交付"

        status, body = await clerk.post(f"/api/v1/certificates/{number}/revoke", {"reason": "誤発行"}, headers=REASON)
        assert status == 403 and body["error"]["code"] == "auth.role"
        status, body = await supervisor.post(f"/api/v1/certificates/{number}/revoke", {"reason": "誤発行"},
                                             headers=REASON)
        assert status == 201, body
        verdict = await _verify(node.client, copy["qr"])
        revoked = next(c for c in verdict["checks"] if c["name"] == "revoked")
        assert not verdict["ok"] and revoked["status"] == "fail" and "誤発行" in revoked["ja"]
        status, body = await clerk.post(f"/api/v1/certificates/{number}/copies", {"copy_reason": "追加"},
                                        headers=REASON)
        assert status == 409 and body["error"]["code"] == "certificate.not_current"

        # 被災証明: a shed, no survey, no class.
        status, created = await clerk.post("/api/v1/applications", {
            "kind": "hisai", "applicant_resident_id": resident.resident_id, "disaster": DISASTER,
            "property": {"description": "物置（倒壊）", "location": dwelling.location}}, headers=REASON)
        assert status == 201, created
        app_id = created["application"]["application_id"]
        status, issued = await clerk.post(f"/api/v1/applications/{app_id}/certificate", {}, headers=REASON)
        assert status == 201, issued
        assert issued["certificate"]["cert_type"] == "hisai" and issued["certificate"]["damage_class"] is None
        assert (await _verify(node.client, issued["certificate"]["qr"]))["ok"]


async def test_trust_list_is_served_and_cacheable(database, pki):
    async with counter_node(database, pki) as node:
        resp = await node.client.get("/api/v1/trust-list")
        assert resp.status == 200 and await resp.read() == (pki / "trust-list.cbor").read_bytes()
        etag = resp.headers["ETag"]
        again = await node.client.get("/api/v1/trust-list", headers={"If-None-Match": etag})
        assert again.status == 304 and "max-age" in again.headers["Cache-Control"]


async def issue_for(clerk, supervisor, resident, dwelling, ratio="35") -> str:
    """Drive one application to an issued certificate; returns its number."""
    status, created = await clerk.post("/api/v1/applications", {
        "applicant_resident_id": resident.resident_id, "dwelling_id": dwelling.dwelling_id,
        "disaster": DISASTER}, headers=REASON)
    assert status == 201, created
    app_id = created["application"]["application_id"]
    assert (await supervisor.post(f"/api/v1/applications/{app_id}/surveys",
                                  {"surveyed_on": "2024-01-10", "damage_ratio": ratio,
                                   "surveyor_id": staff_id(supervisor)}, headers=REASON))[0] == 201
    assert (await supervisor.post(f"/api/v1/applications/{app_id}/judgement", {}, headers=REASON))[0] == 200
    status, issued = await clerk.post(f"/api/v1/applications/{app_id}/certificate", {}, headers=REASON)
    assert status == 201, issued
    return issued["certificate"]["number"]


async def _verify(client, qr: str) -> dict:
    resp = await client.post("/api/v1/verify", json={"qr": qr})
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def _audits(app) -> list[dict]:
    from service.web.appkeys import POOL

    rows = await app[POOL].fetch("SELECT state FROM entities WHERE entity_type = 'audit'")
    return [json.loads(r["state"]) for r in rows]
