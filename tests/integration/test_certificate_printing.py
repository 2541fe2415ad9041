"""What prints (issue 11): withdrawn certificates are refused to the counter, archive copies
carry the mark, 再交付 copies say so; tracking tells the truth. Checked with pdftotext."""

from __future__ import annotations

import subprocess

import pytest

from tests.integration.test_counter_story import DISASTER, REASON, _household_member
from tests.support.counter import build_pki, counter_node, seed_town
from tests.support.issuing import staff_id

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pki():
    return build_pki()


def _text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()


async def _pdf(staff, number: str, **params) -> tuple[int, object]:
    resp = await staff.client.get(f"/api/v1/certificates/{number}/pdf", params=params, headers=REASON)
    body = await resp.read() if resp.content_type == "application/pdf" else await resp.json()
    return resp.status, body


async def _resurvey(clerk, boss, app_id: str) -> str:
    assert (await clerk.post(f"/api/v1/applications/{app_id}/resurvey-request",
                             {"resurvey_reason": "内部の損傷"}, headers=REASON))[0] == 200
    return await _certify(clerk, boss, app_id, "second", "55")


async def test_withdrawn_certificates_print_only_as_marked_archive_copies(database, pki):
    async with counter_node(database, pki) as node:
        town = await seed_town(node.app)
        clerk = await node.login("clerk1", ("clerk",))
        boss = await node.login("boss1", ("supervisor", "surveyor"))
        auditor = await node.login("audit1", ("auditor",))
        revoked, _ = await _issue(clerk, boss, *_household_member(town, 0))
        old, app = await _issue(clerk, boss, *_household_member(town, 1))
        tracking = {old: app}

        status, pdf = await _pdf(clerk, revoked)
        assert status == 200 and "失効" not in _text(pdf)
        status, body = await _pdf(clerk, revoked, archive="true")
        assert status == 403 and body["error"]["code"] == "auth.role"  # archive: supervisor or auditor only
        status, body = await _pdf(boss, revoked, archive="true")
        assert status == 409 and body["error"]["code"] == "certificate.current"

        assert (await boss.post(f"/api/v1/certificates/{revoked}/revoke", {"reason": "誤交付"}, headers=REASON))[0] == 201
        status, body = await _pdf(clerk, revoked)
        assert status == 409 and body["error"]["code"] == "certificate.not_current"
        assert "誤交付" in body["error"]["message"] and body["error"]["fields"][0]["code"] == "certificate.revoked"
        status, pdf = await _pdf(auditor, revoked, archive="true")
        assert status == 200
        text = _text(pdf)
        assert "失効" in text and "証明書として使用できません" in text and "誤交付" in text and revoked in text

        app_id, code = tracking[old]
        new = await _resurvey(clerk, boss, app_id)
        status, body = await _pdf(clerk, old)
        assert status == 409 and body["error"]["fields"][0]["superseded_by"] == new and new in body["error"]["message"]
        status, pdf = await _pdf(boss, old, archive="true")
        text = _text(pdf)
        assert status == 200 and "差替え" in text and "SUPERSEDED" in text and new in text
        status, pdf = await _pdf(clerk, new)
        assert status == 200 and "差替え" not in _text(pdf).split("罹")[0]  # the current one prints plainly

        # Tracking tells the truth: the superseded number is listed as such, the new one is current.
        resp = await node.client.get(f"/api/v1/applications/{app_id}/tracking", params={"code": code})
        view = (await resp.json())["application"]
        assert view["current_certificate"] == new
        assert {c["number"]: (c["state"], c["superseded_by"]) for c in view["certificates"]} == {
            old: ("superseded", new), new: ("issued", None)}


async def test_a_reissued_copy_prints_its_mark_number_date_and_reason(database, pki):
    async with counter_node(database, pki) as node:
        town = await seed_town(node.app)
        clerk = await node.login("clerk1", ("clerk",))
        boss = await node.login("boss1", ("supervisor", "surveyor"))
        number, (copy_app, code) = await _issue(clerk, boss, *_household_member(town, 0))
        status, body = await clerk.post(f"/api/v1/certificates/{number}/copies", {}, headers=REASON)
        assert status == 422 and body["error"]["fields"][0]["field"] == "copy_reason"
        status, copy = await clerk.post(f"/api/v1/certificates/{number}/copies", {"copy_reason": "汚損"}, headers=REASON)
        assert status == 201 and copy["copy_no"] == 1 and copy["copy_reason"] == "汚損"
        status, pdf = await _pdf(clerk, number, copy="1")
        text = _text(pdf)
        assert status == 200 and "再交付（第1号）" in text and "理由: 汚損" in text and "令和" in text
        status, original = await _pdf(clerk, number)
        assert "再交付" not in _text(original) and original != pdf
        status, body = await _pdf(clerk, number, copy="2")
        assert status == 404 and body["error"]["code"] == "certificate.copy_not_found"
        # Once revoked, neither the original nor a copy prints for the counter.
        assert (await boss.post(f"/api/v1/certificates/{number}/revoke", {"reason": "誤交付"}, headers=REASON))[0] == 201
        status, body = await _pdf(clerk, number, copy="1")
        assert status == 409 and body["error"]["code"] == "certificate.not_current"
        resp = await node.client.get(f"/api/v1/applications/{copy_app}/tracking", params={"code": code})
        view = (await resp.json())["application"]
        assert view["current_certificate"] is None and view["certificates"][0]["state"] == "revoked"


async def _issue(clerk, boss, resident, dwelling) -> tuple[str, tuple[str, str]]:
    """One application to an issued certificate: (number, (application id, tracking code))."""
    status, created = await clerk.post("/api/v1/applications", {
        "applicant_resident_id": resident.resident_id, "dwelling_id": dwelling.dwelling_id,
        "disaster": DISASTER}, headers=REASON)
    assert status == 201, created
    app_id = created["application"]["application_id"]
    number = await _certify(clerk, boss, app_id, "first", "35")
    return number, (app_id, created["tracking_code"])


async def _certify(clerk, boss, app_id: str, kind: str, ratio: str) -> str:
    assert (await boss.post(f"/api/v1/applications/{app_id}/surveys", {
        "kind": kind, "surveyed_on": "2024-02-01", "damage_ratio": ratio, "surveyor_id": staff_id(boss)},
        headers=REASON))[0] == 201
    assert (await boss.post(f"/api/v1/applications/{app_id}/judgement", {}, headers=REASON))[0] == 200
    status, body = await clerk.post(f"/api/v1/applications/{app_id}/certificate", {}, headers=REASON)
    assert status == 201, body
    return body["certificate"]["number"]
