"""一括印刷 over HTTP against real PostgreSQL: every certificate issued today for 郵送交付 as
one PDF from a background job, each page through the single print's gate (current only)
and the printed-boxes check; what fails either is listed, never printed."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import subprocess

import asyncpg
import pytest

from tests.integration.test_counter_story import DISASTER, REASON
from tests.support.counter import build_pki, counter_node, seed_town
from tests.support.issuing import household_pairs, issue, staff_id

pytestmark = pytest.mark.integration
JST = dt.timezone(dt.timedelta(hours=9))


@pytest.fixture(scope="module")
def pki():
    return build_pki()


async def _issued(clerk, boss, resident, dwelling, delivery: str) -> str:
    applicant = {"delivery": delivery, "contact_address": "熊本市中央区手取本町1-1"}
    status, created = await clerk.post("/api/v1/applications", {
        "applicant_resident_id": resident.resident_id, "dwelling_id": dwelling.dwelling_id,
        "disaster": DISASTER, "applicant": applicant}, headers=REASON)
    assert status == 201, created
    app_id = created["application"]["application_id"]
    for path, body in ((f"/api/v1/applications/{app_id}/surveys",
                        {"surveyed_on": "2024-01-10", "damage_ratio": "35", "surveyor_id": staff_id(boss)}),
                       (f"/api/v1/applications/{app_id}/judgement", {})):
        status, reply = await boss.post(path, body, headers=REASON)
        assert status in (200, 201), reply
    return (await issue(clerk, app_id))["certificate"]["number"]


async def _finished(clerk, job_id: str) -> tuple[dict, list[float]]:
    seen = []
    for _ in range(300):
        status, body = await clerk.get(f"/api/v1/batch-prints/{job_id}", headers=REASON)
        assert status == 200, body
        seen.append(body["job"]["progress"])
        if body["job"]["status"] in ("done", "failed"):
            return body["job"], seen
        await asyncio.sleep(0.1)
    raise AssertionError(f"batch {job_id} did not finish: {body}")


async def test_todays_postal_certificates_as_one_checked_pdf(database, pki, tmp_path):
    async with counter_node(database, pki) as node:
        town = await seed_town(node.app, residents=24)
        clerk = await node.login("clerk1", ("clerk",))
        boss = await node.login("boss1", ("supervisor", "surveyor"))
        pairs = household_pairs(town)[:5]
        mailed = [await _issued(clerk, boss, r, d, "mail") for r, d in pairs[:4]]
        at_counter = await _issued(clerk, boss, *pairs[4], "counter")
        revoked, tampered, printed = mailed[0], mailed[1], mailed[2:]
        assert (await boss.post(f"/api/v1/certificates/{revoked}/revoke", {"reason": "誤交付"}, headers=REASON))[0] == 201
        conn = await asyncpg.connect(database)
        try:  # the stored printed boxes no longer match the QR's digest
            await conn.execute("UPDATE entities SET state = jsonb_set(state, '{printed_boxes,place}', '\"偽の交付場所\"')"
                               " WHERE entity_type = 'certificate' AND entity_id = $1", tampered)
        finally:
            await conn.close()

        status, body = await clerk.post("/api/v1/batch-prints", {}, headers=REASON)
        assert status == 422 and body["error"]["code"] == "batch.selection", body
        status, body = await clerk.post("/api/v1/batch-prints", {"issued_on": "2001-01-01"}, headers=REASON)
        assert status == 422 and body["error"]["code"] == "batch.empty", body
        today = dt.datetime.now(JST).date().isoformat()
        status, body = await clerk.post("/api/v1/batch-prints", {"issued_on": today, "delivery": "mail"},
                                        headers=REASON)
        assert status == 202, body
        job_id = body["job"]["job_id"]
        assert body["job"]["total"] == 4
        other = await node.login("clerk2", ("clerk",))
        assert (await other.get(f"/api/v1/batch-prints/{job_id}"))[0] == 404  # another clerk's batch

        job, progress = await _finished(clerk, job_id)
        assert job["status"] == "done" and job["pages"] == 2 and job["done"] == 4, job
        assert progress == sorted(progress) and progress[-1] == 1.0
        assert {(s["number"], s["code"]) for s in job["skipped"]} == {
            (revoked, "certificate.not_current"), (tampered, "boxes.mismatch")}
        resp = await clerk.client.get(f"/api/v1/batch-prints/{job_id}/pdf", headers=clerk.session.headers)
        assert resp.status == 200 and resp.content_type == "application/pdf"
        pdf = tmp_path / "batch.pdf"
        pdf.write_bytes(await resp.read())
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert re.search(r"^Pages:\s+2$", info, flags=re.M), info
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert all(n in text for n in printed) and revoked not in text and tampered not in text
        assert at_counter not in text  # 窓口交付: not in the postal batch
        assert "罹災証明書" in text


async def test_more_batch_starts_than_connections_queue_or_get_503_and_all_finish(database, pki):
    async with counter_node(database, pki) as node:  # pool_max 6
        town = await seed_town(node.app)
        clerk = await node.login("clerk1", ("clerk",))
        boss = await node.login("boss1", ("supervisor", "surveyor"))
        number = await _issued(clerk, boss, *household_pairs(town)[0], "mail")
        starts = await asyncio.gather(*(clerk.post("/api/v1/batch-prints", {"numbers": [number]}, headers=REASON)
                                        for _ in range(16)))
        assert {status for status, _ in starts} <= {202, 503}, starts
        jobs = [body["job"]["job_id"] for status, body in starts if status == 202]
        assert jobs, starts
        finished = await asyncio.gather(*(_finished(clerk, job_id) for job_id in jobs))
        assert all(job["status"] == "done" and job["pages"] == 1 for job, _ in finished), finished
