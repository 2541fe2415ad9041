"""The resident's own calls at a kiosk (issue 13): a kiosk session sees and acts on its own
household only (403 for any other household's ids), through the counter's rules, and a kiosk
read of another town's data is audited with the kiosk and its centre as the actor.

Node B (輪島市, wajima-1) holds town A's (益城町) residents: the resident is another town's.
"""

from __future__ import annotations

import json

import pytest

from service.web.appkeys import POOL
from tests.support.counter import TOWN_A, build_pki, counter_node, seed_town
from tests.support.kiosk import REASON, body_of, code_session, kiosk_on
from tests.support.replication_nodes import eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pki():
    return build_pki()


def _member_of_another_household(town, resident):
    return next(r for r in town.residents if r.household_id != resident.household_id)


def _dwelling_of(town, resident):
    return next(d for d in town.dwellings if resident.household_id in d.household_ids)


async def _queue_empty(node) -> bool:
    return await node.app[POOL].fetchval("SELECT count(*) FROM kiosk_audit_queue") == 0


async def _get(kiosk, path):
    resp = await kiosk.request("GET", path)
    return resp.status, await body_of(resp)


async def _post(kiosk, path, body):
    resp = await kiosk.request("POST", path, body)
    return resp.status, await body_of(resp)


async def _issue(clerk, boss, app_id):
    assert (await boss.post(f"/api/v1/applications/{app_id}/surveys",
                            {"surveyed_on": "2024-01-10", "damage_ratio": "35",
                             "surveyor_id": boss.session.staff["staff_id"]}, headers=REASON))[0] == 201
    assert (await boss.post(f"/api/v1/applications/{app_id}/judgement", {}, headers=REASON))[0] == 200
    status, issued = await clerk.post(f"/api/v1/applications/{app_id}/certificate", {}, headers=REASON)
    assert status == 201, issued
    return issued["certificate"]["number"]


async def _disaster(boss) -> str:
    status, body = await boss.post("/api/v1/disasters", {"name": "令和6年能登半島地震", "date": "2024-01-01",
                                                         "towns": [TOWN_A]})
    assert status == 201, body
    return body["disaster"]["disaster_id"]


async def test_kiosk_session_serves_its_own_household_only(database, pki):
    async with counter_node(database, pki) as node:
        town = await seed_town(node.app)
        clerk = await node.login("clerk1", ("clerk",))
        boss = await node.login("boss1", ("supervisor", "surveyor"))
        kiosk = await kiosk_on(node)
        me, other = town.residents[0], _member_of_another_household(town, town.residents[0])
        mine, theirs = _dwelling_of(town, me), _dwelling_of(town, other)
        disaster = await _disaster(boss)
        await code_session(kiosk, clerk, TOWN_A, me.resident_id)

        status, view = await _get(kiosk, "/api/v1/kiosk/household")
        assert status == 200, view
        assert view["resident"]["resident_id"] == me.resident_id and view["other_town"] is True
        assert mine.dwelling_id in [d["dwelling_id"] for d in view["dwellings"]]
        status, found = await _get(kiosk, "/api/v1/kiosk/disasters")
        assert status == 200 and [d["disaster_id"] for d in found["disasters"]] == [disaster]

        # Apply for the household's dwelling: received through the counter's rule, channel kiosk.
        status, created = await _post(kiosk, "/api/v1/kiosk/applications",
                                      {"dwelling_id": mine.dwelling_id, "disaster_id": disaster})
        assert status == 201, created
        app_id = created["application"]["application_id"]
        assert created["application"]["status"] == "received" and created["tracking_code"]
        status, staff_view = await clerk.get(f"/api/v1/applications/{app_id}", headers=REASON)
        assert staff_view["application"]["channel"] == "kiosk"
        assert staff_view["application"]["applicant_resident_id"] == me.resident_id

        # Another household's dwelling, application, certificate: 403, nothing written.
        status, body = await _post(kiosk, "/api/v1/kiosk/applications",
                                   {"dwelling_id": theirs.dwelling_id, "disaster_id": disaster})
        assert status == 403 and body["error"]["code"] == "kiosk.other_household"
        status, created = await clerk.post("/api/v1/applications", {
            "applicant_resident_id": other.resident_id, "dwelling_id": theirs.dwelling_id,
            "disaster_id": disaster}, headers=REASON)
        their_app = created["application"]["application_id"]
        their_cert = await _issue(clerk, boss, their_app)
        status, body = await _get(kiosk, f"/api/v1/kiosk/applications/{their_app}")
        assert status == 403 and body["error"]["code"] == "kiosk.other_household"
        for path in (f"/api/v1/kiosk/certificates/{their_cert}/pdf?copy=1",):
            status, body = await _get(kiosk, path)
            assert status == 403 and body["error"]["code"] == "kiosk.other_household"
        status, body = await _post(kiosk, f"/api/v1/kiosk/certificates/{their_cert}/copies", {"copy_reason": "追加"})
        assert status == 403 and body["error"]["code"] == "kiosk.other_household"
        status, listed = await _get(kiosk, "/api/v1/kiosk/applications")
        assert [a["application_id"] for a in listed["applications"]] == [app_id]
        status, listed = await _get(kiosk, "/api/v1/kiosk/certificates")
        assert listed["certificates"] == []

        # Issued: the kiosk prints a 再交付 copy, recorded as a copy with the kiosk as place.
        number = await _issue(clerk, boss, app_id)
        status, listed = await _get(kiosk, "/api/v1/kiosk/certificates")
        assert [(c["number"], c["printable"]) for c in listed["certificates"]] == [(number, True)]
        status, copy = await _post(kiosk, f"/api/v1/kiosk/certificates/{number}/copies", {"copy_reason": "追加"})
        assert status == 201 and copy["copy_no"] == 1, copy
        resp = await kiosk.request("GET", f"/api/v1/kiosk/certificates/{number}/pdf?copy=1")
        assert resp.status == 200 and (await resp.read()).startswith(b"%PDF")
        record = json.loads(await node.app[POOL].fetchval(
            "SELECT state FROM entities WHERE entity_type = 'certificate_copy' AND entity_id = $1",
            f"{number}/copy-1"))
        assert record["staff_id"] == "kiosk:kiosk-1" and record["place"] == "kiosk:kiosk-1@避難所 1"

        # Revoked: the kiosk says so and refuses a copy (the counter's rule).
        assert (await boss.post(f"/api/v1/certificates/{number}/revoke", {"reason": "誤発行"},
                                headers=REASON))[0] == 201
        status, listed = await _get(kiosk, "/api/v1/kiosk/certificates")
        assert listed["certificates"][0]["status"]["state"] == "revoked"
        assert listed["certificates"][0]["printable"] is False
        status, body = await _post(kiosk, f"/api/v1/kiosk/certificates/{number}/copies", {"copy_reason": "追加"})
        assert status == 409 and body["error"]["code"] == "certificate.not_current"

        # The kiosk's reads and writes of town A's data were audited, kiosk and centre as actor
        # (through the kiosk audit queue, drained into the replicated trail within a second).
        await eventually(lambda: _queue_empty(node), timeout=10, what="the kiosk audit queue drained")
        rows = await node.app[POOL].fetch("SELECT state FROM entities WHERE entity_type = 'audit'"
                                          " AND state->>'kiosk_id' = 'kiosk-1'")
        audits = [json.loads(r["state"]) for r in rows]
        assert {"resident.read", "application.create", "application.read", "certificate.copy"} <= \
            {a["action"] for a in audits}
        assert all(a["town_code"] == TOWN_A and a["staff_id"] == "kiosk:kiosk-1"
                   and a["username"] == "kiosk:kiosk-1@避難所 1" and a["reason"] for a in audits)


async def test_kiosk_calls_need_a_session(database, pki):
    async with counter_node(database, pki) as node:
        kiosk = await kiosk_on(node)
        status, body = await _get(kiosk, "/api/v1/kiosk/household")
        assert status == 401 and body["error"]["code"] == "kiosk.required"
        resp = await node.client.get("/api/v1/kiosk/applications")
        assert resp.status == 401


async def test_ended_session_is_refused(database, pki):
    async with counter_node(database, pki) as node:
        town = await seed_town(node.app)
        clerk = await node.login("clerk1", ("clerk",))
        kiosk = await kiosk_on(node)
        await code_session(kiosk, clerk, TOWN_A, town.residents[0].resident_id)
        assert (await _get(kiosk, "/api/v1/kiosk/household"))[0] == 200
        assert (await _post(kiosk, "/api/v1/kiosk/logout", None))[0] == 200
        status, body = await _get(kiosk, "/api/v1/kiosk/household")
        assert status == 401 and body["error"]["code"] == "kiosk.session"


async def test_more_kiosk_callers_than_pool_connections_degrade_never_wedge(database, pki):
    """24 kiosk screens at once on a pool of 6: each answers (200, or 503 when the pool stays
    busy too long), none hangs."""
    import asyncio

    async with counter_node(database, pki) as node:
        town = await seed_town(node.app)
        clerk = await node.login("clerk1", ("clerk",))
        kiosks = []
        for i in range(4):
            kiosk = await kiosk_on(node, f"kiosk-{i}")
            await code_session(kiosk, clerk, TOWN_A, town.residents[i].resident_id)
            kiosks.append(kiosk)
        paths = ["/api/v1/kiosk/household", "/api/v1/kiosk/applications", "/api/v1/kiosk/certificates"]
        calls = [kiosks[i % 4].request("GET", paths[i % 3]) for i in range(24)]
        replies = await asyncio.wait_for(asyncio.gather(*calls), timeout=120)
        statuses = [r.status for r in replies]
        assert set(statuses) <= {200, 503}, statuses
        assert statuses.count(200) >= 1


async def test_queued_kiosk_audits_move_once_with_the_read(database, pki):
    """A kiosk screen's audit record is queued in the screen's transaction and moved into the
    replicated audit trail (entity + outbox) exactly once, even by two drains at once."""
    import asyncio

    from service.storage.kiosk_audit_queue import drain
    from service.web.kiosk_auth import KIOSK_POOL

    async with counter_node(database, pki) as node:
        town = await seed_town(node.app)
        clerk = await node.login("clerk1", ("clerk",))
        kiosk = await kiosk_on(node)
        await code_session(kiosk, clerk, TOWN_A, town.residents[0].resident_id)
        await eventually(lambda: _queue_empty(node), timeout=10, what="drained")
        pool = node.app[POOL]
        before = await pool.fetchval("SELECT count(*) FROM entities WHERE entity_type = 'audit'")
        for _ in range(5):
            assert (await _get(kiosk, "/api/v1/kiosk/household"))[0] == 200
        moved = await asyncio.gather(*(drain(node.app[KIOSK_POOL], node_id="wajima-1", town="172049")
                                       for _ in range(2)))
        await eventually(lambda: _queue_empty(node), timeout=10, what="drained")
        audits = await pool.fetchval("SELECT count(*) FROM entities WHERE entity_type = 'audit'")
        assert audits - before == 5 and sum(moved) <= 5
        outbox = await pool.fetchval("SELECT count(*) FROM outbox WHERE entity_type = 'audit'")
        assert outbox == audits
