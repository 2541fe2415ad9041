"""The OpenAPI document against real responses (issue 15): a walk through the counter API
on real PostgreSQL records every response (route template, method, status, body), and each
JSON body must match the schema the document gives for that route and status. Every
documented operation of the walk must have been answered with a documented status.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from urllib.parse import quote

import jsonschema_rs
import pytest
from aiohttp import web

from replication import hlc, store
from replication.events import Event, new_event_id
from service.web import openapi
from service.web.appkeys import POOL
from tests.integration.test_quarantine_replay import _quarantine, _sealed
from tests.support.counter import TOWN_A, build_pki, counter_node, csv_bytes, seed_town
from tests.support.issuing import household_pairs, staff_id

pytestmark = pytest.mark.integration
REASON = {"X-Access-Reason": quote("避難所での申請受付（益城町からの避難者）")}
DISASTER = {"name": "令和6年能登半島地震", "date": "2024-01-01"}


@pytest.fixture(scope="module")
def pki():
    return build_pki()


def _recorder(seen: list) -> callable:
    def configure(app: web.Application) -> None:
        async def record(request: web.Request, response: web.StreamResponse) -> None:
            route = request.match_info.route.resource
            body = getattr(response, "body", None)
            seen.append((request.method.lower(), route.canonical if route else request.path,
                         response.status, response.content_type, body))
        app.on_response_prepare.append(record)
    return configure


async def _concurrent_writes(app) -> None:
    """Two nodes changed the same version of one entity: a conflict for review."""
    def event(node, wall, state, base=None):
        return Event(event_id=new_event_id(), origin_node=node, origin_town=TOWN_A, entity_type="note",
                     entity_id="N1", state=state, base_version=base, hlc=hlc.Timestamp(wall, 0, node).encode())

    base = event("mashiki-1", 1, {"v": 0})
    async with app[POOL].acquire() as conn, conn.transaction():
        for e in (base, event("mashiki-1", 5, {"v": "A"}, base.hlc), event("rikuzentakata-1", 4, {"v": "C"}, base.hlc)):
            await store.apply_event(conn, e)


async def _walk(node, town) -> None:
    clerk = await node.login("clerk1", ("clerk",))
    surveyor = await node.login("surveyor1", ("surveyor",))
    boss = await node.login("boss1", ("supervisor", "admin"))
    await node.client.get("/api/v1/auth/me")  # 401: nobody logged in on this client
    await clerk.get("/api/v1/auth/me")
    (resident, dwelling), (resident2, dwelling2), *_ = household_pairs(town)

    await clerk.get("/api/v1/residents", params={"kana": resident.family_kana}, headers=REASON)
    await clerk.get("/api/v1/residents", params={})
    await clerk.get(f"/api/v1/residents/{resident.resident_id}", headers=REASON)
    await clerk.get("/api/v1/residents/nobody", headers=REASON)
    await clerk.get("/api/v1/dwellings", params={"resident_id": resident.resident_id}, headers=REASON)
    await clerk.get(f"/api/v1/dwellings/{dwelling.dwelling_id}", headers=REASON)

    _, disaster = await boss.post("/api/v1/disasters", {**DISASTER, "towns": [TOWN_A]})
    await boss.post("/api/v1/disasters", {"name": "x", "date": "2999-01-01", "towns": [TOWN_A]})
    await clerk.get("/api/v1/disasters")
    await clerk.get(f"/api/v1/disasters/{disaster['disaster']['disaster_id']}")

    _, created = await clerk.post("/api/v1/applications", {
        "applicant_resident_id": resident.resident_id, "dwelling_id": dwelling.dwelling_id,
        "disaster_id": disaster["disaster"]["disaster_id"]}, headers=REASON)
    app_id, code = created["application"]["application_id"], created["tracking_code"]
    await clerk.post("/api/v1/applications", {"dwelling_id": 3}, headers=REASON)
    await clerk.get(f"/api/v1/applications/{app_id}", headers=REASON)
    await node.client.get(f"/api/v1/applications/{app_id}/tracking", params={"code": code})
    await node.client.get("/api/v1/tracking", params={"code": code})
    await node.client.get("/api/v1/tracking", params={"code": "0000-0000"})
    await clerk.get("/api/v1/surveyors")
    await surveyor.post(f"/api/v1/applications/{app_id}/surveys",
                        {"surveyed_on": "2024-01-10", "damage_ratio": 42.5, "surveyor_id": staff_id(surveyor)},
                        headers=REASON)
    await clerk.get(f"/api/v1/applications/{app_id}/surveys", headers=REASON)
    await clerk.post(f"/api/v1/applications/{app_id}/applicant", {"applicant": {"phone": "096-123-4567"}},
                     headers=REASON)
    await boss.post(f"/api/v1/applications/{app_id}/judgement", {}, headers=REASON)
    await clerk.post(f"/api/v1/applications/{app_id}/certificate", {"place": "輪島市役所"}, headers=REASON)
    _, issued = await clerk.post(f"/api/v1/applications/{app_id}/certificate", {}, headers=REASON)
    number = issued["certificate"]["number"]
    await clerk.get(f"/api/v1/certificates/{number}", headers=REASON)
    await clerk.get(f"/api/v1/certificates/{number}/pdf", headers=REASON)
    await clerk.post(f"/api/v1/certificates/{number}/copies", {"copy_reason": "紛失"}, headers=REASON)
    await node.client.post("/api/v1/verify", json={"qr": issued["certificate"]["qr"]})
    await node.client.post("/api/v1/verify", json={"qr": "HC1:nonsense"})
    await clerk.post(f"/api/v1/applications/{app_id}/resurvey-request", {"resurvey_reason": "内部の被害"},
                     headers=REASON)
    _, other = await clerk.post("/api/v1/applications", {
        "applicant_resident_id": resident2.resident_id, "dwelling_id": dwelling2.dwelling_id,
        "disaster_id": disaster["disaster"]["disaster_id"]}, headers=REASON)
    await clerk.post(f"/api/v1/applications/{other['application']['application_id']}/withdrawal",
                     {"withdraw_reason": "申請者の申出"}, headers=REASON)
    await clerk.post(f"/api/v1/certificates/{number}/revoke", {"reason": "誤発行"}, headers=REASON)
    await boss.post(f"/api/v1/certificates/{number}/revoke", {"reason": "誤発行"}, headers=REASON)
    await boss.post(f"/api/v1/certificates/{number}/revoke", {"reason": "誤発行"}, headers=REASON)
    await clerk.post(f"/api/v1/certificates/{number}/copies", {"copy_reason": "追加"}, headers=REASON)

    _, batch = await clerk.post("/api/v1/batch-prints", {"numbers": [number]}, headers=REASON)
    for _ in range(300):  # bounded: one page
        _, progress = await clerk.get(f"/api/v1/batch-prints/{batch['job']['job_id']}", headers=REASON)
        if progress["job"]["status"] in ("done", "failed"):
            break
        await asyncio.sleep(0.1)
    await clerk.get(f"/api/v1/batch-prints/{batch['job']['job_id']}/pdf", headers=REASON)

    await clerk.get("/api/v1/applications", params={"status": "issued"})
    await clerk.get("/api/v1/applications", params={"status": "nonsense"})
    await clerk.get("/api/v1/certificates", params={"scope": "all"}, headers=REASON)
    await clerk.get("/api/v1/exports/applications", params={"encoding": "cp932"})
    await clerk.get("/api/v1/exports/certificates")
    await clerk.get("/api/v1/reports/daikou", params={"town": TOWN_A}, headers=REASON)
    await clerk.get("/api/v1/statistics", params={"scope": "node"})

    await node.client.get("/api/v1/trust-list")
    await node.client.get("/api/v1/status-lists/wajima-1")
    await node.client.get("/api/v1/status-lists/nowhere-9")
    await node.client.get("/api/v1/verifier-bundle")

    _, done = await boss.post("/api/v1/imports?kind=dwellings&wait=true",
                              data=csv_bytes("dwellings", town.dwellings[:3]), headers={"Content-Type": "text/csv"})
    await boss.post(f"/api/v1/imports/{done['job']['job_id']}/resume")  # done: nothing changes
    _, job = await boss.post("/api/v1/imports?kind=residents", data=csv_bytes("residents", town.residents[:3]),
                             headers={"Content-Type": "text/csv"})
    if isinstance(job, dict) and "job" in job:
        await boss.get(f"/api/v1/imports/{job['job']['job_id']}")
    await boss.post("/api/v1/imports?kind=nothing", data=b"a,b\n", headers={"Content-Type": "text/csv"})

    await _concurrent_writes(node.app)
    _, open_conflicts = await boss.get("/api/v1/conflicts")
    await boss.post(f"/api/v1/conflicts/{open_conflicts['conflicts'][0]['id']}/resolve", {"resolution": "確認"})
    await boss.post("/api/v1/conflicts/999/resolve", {"resolution": "確認"})
    await clerk.get("/api/v1/replication/freshness")

    await _quarantine(node.app, 1, _sealed(node.pki, "n-1"), "bad_signature: unknown kid")
    _, listed = await boss.get("/api/v1/replication/quarantine")
    await boss.post(f"/api/v1/replication/quarantine/{listed['quarantine'][0]['id']}/replay")

    await boss.get("/api/v1/staff")
    _, made = await boss.post("/api/v1/staff", {"username": "sato", "roles": ["clerk"],
                                                "password": "correct horse battery staple"})
    await boss.post(f"/api/v1/staff/{made['staff']['staff_id']}", {"disabled": True})
    await boss.post(f"/api/v1/staff/{made['staff']['staff_id']}/password", {"password": "short"})
    await boss.post(f"/api/v1/staff/{made['staff']['staff_id']}/password",
                    {"password": "another long passphrase"})
    await clerk.get("/api/v1/staff")
    await clerk.post("/api/v1/auth/logout")


async def test_every_response_matches_the_document(database, pki):
    seen: list = []
    async with counter_node(database, pki, configure=_recorder(seen)) as node:
        node.pki = pki
        town = await seed_town(node.app)
        await _walk(node, town)
    if os.environ.get("RISAI_OPENAPI_DUMP"):
        Path(os.environ["RISAI_OPENAPI_DUMP"]).write_text(json.dumps(
            [(m, r, s, c, json.loads(b) if c == "application/json" and b else None) for m, r, s, c, b in seen],
            ensure_ascii=False, indent=1))
    document = openapi.document()
    paths, components = document["paths"], document.get("components", {})
    problems = []
    for method, route, status, content_type, body in seen:
        if not route.startswith("/api/v1/") or route == "/api/v1/openapi.json":
            continue
        op = paths.get(route, {}).get(method)
        if op is None:
            problems.append(f"{method} {route}: not documented")
            continue
        documented = op["responses"].get(str(status))
        if documented is None:
            problems.append(f"{method} {route}: status {status} not documented")
            continue
        if content_type not in documented.get("content", {}):
            problems.append(f"{method} {route} {status}: {content_type} not documented")
            continue
        schema = documented["content"][content_type].get("schema", {})
        if content_type == "application/json":
            validator = jsonschema_rs.validator_for({**schema, "components": components})
            for error in validator.iter_errors(json.loads(body)):
                problems.append(f"{method} {route} {status}: {error.message} at {list(error.instance_path)}")
    assert problems == [], "\n".join(problems)
    # The walk answered every documented operation with success at least once (the kiosk's
    # signed requests are walked in the kiosk tests).
    succeeded = {(m, r) for m, r, status, _, _ in seen if status < 300}
    untried = {(m, path) for path, ops in paths.items() for m, op in ops.items()
               if "kiosk" not in op["tags"]} - succeeded
    assert untried == set(), sorted(untried)
