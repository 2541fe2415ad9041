"""Staff account administration over HTTP against real PostgreSQL (issue 15).

An admin of the node's town creates, changes, disables and resets accounts of that town
only; disabling or resetting ends the account's sessions at once, and the cut-off carried
by the replicated account ends sessions on a node that only hears of it by replication.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest

from service.staff.accounts import load_account, save_staff
from service.web.appkeys import POOL
from tests.support.auth import PASSWORD, login
from tests.support.counter import TOWN_A, TOWN_B, build_pki, counter_node

pytestmark = pytest.mark.integration
NEW_PASSWORD = "another long passphrase 2026"


@pytest.fixture(scope="module")
def pki():
    return build_pki()


async def _new_client(node, username, password=PASSWORD, town=None):
    from aiohttp.test_utils import TestClient

    client = TestClient(node.server)
    await client.start_server()
    node.clients.append(client)
    resp = await client.post("/api/v1/auth/login", json={"town_code": town or TOWN_B,
                                                          "username": username, "password": password})
    return client, resp.status, await resp.json()


async def test_admin_manages_accounts_of_their_town(database, pki):
    async with counter_node(database, pki) as node:
        admin = await node.login("admin1", ("admin",))
        status, body = await admin.post("/api/v1/staff", {
            "username": "Sato", "display_name": "佐藤 花子", "roles": ["clerk"], "password": PASSWORD})
        assert status == 201, body
        sato = body["staff"]
        assert sato["username"] == "sato" and sato["roles"] == ["clerk"] and not sato["disabled"]
        assert sato["changed_by"] == admin.session.staff["staff_id"] and "password_hash" not in sato

        status, listing = await admin.get("/api/v1/staff")
        assert status == 200 and listing["town_code"] == TOWN_B
        assert [s["username"] for s in listing["staff"]] == ["admin1", "sato"]

        status, body = await admin.post("/api/v1/staff", {"username": "sato", "roles": ["clerk"],
                                                          "password": PASSWORD})
        assert status == 409 and body["error"]["code"] == "staff.exists"

        # Sato logs in and works; a role change shows in their session within the cache TTL.
        client, status, me = await _new_client(node, "sato")
        assert status == 200 and me["staff"]["roles"] == ["clerk"]
        status, body = await admin.post(f"/api/v1/staff/{sato['staff_id']}", {"roles": ["clerk", "surveyor"]})
        assert status == 200 and body["staff"]["roles"] == ["clerk", "surveyor"], body

        # Disable: the open session ends at once, and no new login.
        status, body = await admin.post(f"/api/v1/staff/{sato['staff_id']}", {"disabled": True})
        assert status == 200 and body["staff"]["disabled"] is True
        assert (await client.get("/api/v1/auth/me")).status == 401
        _, status, body = await _new_client(node, "sato")
        assert status == 401 and body["error"]["code"] == "auth.invalid"

        # Enable and reset the password: the old password stops working, the new one works,
        # and a session opened before the reset ends.
        status, _ = await admin.post(f"/api/v1/staff/{sato['staff_id']}", {"disabled": False})
        assert status == 200
        client, status, _ = await _new_client(node, "sato")
        assert status == 200
        status, body = await admin.post(f"/api/v1/staff/{sato['staff_id']}/password", {"password": NEW_PASSWORD})
        assert status == 200, body
        assert (await client.get("/api/v1/auth/me")).status == 401
        _, status, _ = await _new_client(node, "sato")
        assert status == 401
        _, status, _ = await _new_client(node, "sato", NEW_PASSWORD)
        assert status == 200


async def test_refusals_name_the_reason(database, pki):
    async with counter_node(database, pki) as node:
        admin = await node.login("admin1", ("admin",))
        clerk = await node.login("clerk1", ("clerk",))
        partner_admin = await node.login("admin-a", ("admin",), town=TOWN_A)
        own_id = admin.session.staff["staff_id"]
        clerk_id = clerk.session.staff["staff_id"]

        status, body = await clerk.get("/api/v1/staff")
        assert status == 403 and body["error"]["code"] == "auth.role"
        status, body = await partner_admin.post(f"/api/v1/staff/{clerk_id}", {"disabled": True})
        assert status == 403 and body["error"]["code"] == "staff.other_town"
        status, body = await partner_admin.get("/api/v1/staff")  # their own town's accounts only
        assert status == 200 and [s["username"] for s in body["staff"]] == ["admin-a"]
        for change in ({"disabled": True}, {"roles": ["clerk"]}):
            status, body = await admin.post(f"/api/v1/staff/{own_id}", change)
            assert status == 403 and body["error"]["code"] == "staff.self_lockout", body

        cases = [
            ("/api/v1/staff", {"username": "x1", "roles": ["mayor"], "password": PASSWORD}, "roles"),
            ("/api/v1/staff", {"username": "x1", "roles": ["clerk"], "password": "short"}, "password"),
            ("/api/v1/staff", {"username": "-bad", "roles": ["clerk"], "password": PASSWORD}, "username"),
            ("/api/v1/staff", {"username": "x1", "roles": "clerk", "password": PASSWORD}, "roles"),
            ("/api/v1/staff", {"username": "x1", "roles": ["clerk"], "password": PASSWORD, "town": "1"}, "town"),
            (f"/api/v1/staff/{clerk_id}", {"disabled": "yes"}, "disabled"),
            (f"/api/v1/staff/{clerk_id}", {}, "body"),
            (f"/api/v1/staff/{clerk_id}/password", {"password": "short"}, "password"),
        ]
        for path, payload, field in cases:
            status, body = await admin.post(path, payload)
            assert status == 422, (path, payload, body)
            assert field in [f["field"] for f in body["error"]["fields"]], (payload, body)
        status, body = await admin.get("/api/v1/staff")
        assert [s["username"] for s in body["staff"]] == ["admin1", "clerk1"]  # nothing half-written
        status, body = await admin.post("/api/v1/staff/00000000-0000-0000-0000-000000000000", {"disabled": True})
        assert status == 404 and body["error"]["code"] == "staff.not_found"


async def test_replicated_cut_off_ends_sessions_without_local_delete(database, pki):
    """What a peer node sees: only the account state changes (as the consumer writes it)."""
    async with counter_node(database, pki) as node:
        clerk = await node.login("clerk1", ("clerk",))
        assert (await clerk.get("/api/v1/auth/me"))[0] == 200
        async with node.app[POOL].acquire() as conn, conn.transaction():
            account = await load_account(conn, clerk.session.staff["staff_id"])
            cut = dt.datetime.now(dt.timezone.utc).isoformat()
            await save_staff(conn, node_id="peer-1", node_town=TOWN_B,
                             account=dataclasses.replace(account, sessions_not_before=cut))
        await asyncio.sleep(2.1)  # the session cache's TTL, in case the NOTIFY was missed
        assert (await clerk.get("/api/v1/auth/me"))[0] == 401
        await login(clerk.client, username="clerk1")  # a new session after the cut-off works
        assert (await clerk.client.get("/api/v1/auth/me")).status == 200


async def test_more_callers_than_connections_degrade_and_recover(database, pki):
    async with counter_node(database, pki) as node:  # pool_max=6
        admin = await node.login("admin1", ("admin",))
        replies = await asyncio.wait_for(
            asyncio.gather(*(admin.get("/api/v1/staff") for _ in range(30))), timeout=60)
        assert {s for s, _ in replies} <= {200, 503}, {s for s, _ in replies}
        assert (await admin.get("/api/v1/staff"))[0] == 200
