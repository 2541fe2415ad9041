"""Staff login, sessions, cookie flags, CSRF and roles against a real node database."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from aiohttp import web

from service.staff.sessions import AuthPolicy
from service.web.appkeys import POOL
from service.web.auth import COOKIE_NAME, current_staff, require_role
from tests.support.auth import PASSWORD, TOWN_A, TOWN_B, add_staff, auth_client, login, staff_login

pytestmark = pytest.mark.integration

LOGIN = "/api/v1/auth/login"


async def test_login_me_logout(database):
    async with auth_client(database) as client:
        await add_staff(client.app, username="sato", roles=("clerk", "supervisor"),
                        display_name="佐藤 花子")
        who = await login(client, username="sato")
        assert who.staff["roles"] == ["clerk", "supervisor"]
        assert who.staff["display_name"] == "佐藤 花子"
        me = await client.get("/api/v1/auth/me")
        assert me.status == 200
        assert (await me.json())["csrf_token"] == who.csrf_token
        out = await client.post("/api/v1/auth/logout", headers=who.headers)
        assert out.status == 200
        again = await client.get("/api/v1/auth/me")
        assert again.status == 401
        assert (await again.json())["error"]["code"] == "auth.required"


async def test_cookie_flags(database):
    async with auth_client(database, secure_cookies=True) as client:
        await add_staff(client.app, username="sato")
        resp = await client.post(LOGIN, json={"town_code": TOWN_A, "username": "sato",
                                              "password": PASSWORD})
        assert resp.status == 200
        cookie = resp.cookies[COOKIE_NAME]
        assert cookie["httponly"] and cookie["secure"]
        assert cookie["samesite"] == "Strict" and cookie["path"] == "/"
        # Only a digest of the token is stored.
        stored = await client.app[POOL].fetchval("SELECT count(*) FROM staff_sessions"
                                                 " WHERE token_sha256 = $1", cookie.value.encode())
        assert stored == 0


async def test_dev_cookie_without_secure_flag(database):
    async with auth_client(database, secure_cookies=False) as client:
        await add_staff(client.app, username="sato")
        resp = await client.post(LOGIN, json={"town_code": TOWN_A, "username": "sato",
                                              "password": PASSWORD})
        assert not resp.cookies[COOKIE_NAME]["secure"]


@pytest.mark.parametrize("body", [
    {"town_code": TOWN_A, "username": "sato", "password": "wrong password!"},
    {"town_code": TOWN_A, "username": "nobody", "password": PASSWORD},
    {"town_code": TOWN_B, "username": "sato", "password": PASSWORD},
])
async def test_wrong_credentials_same_answer(database, body):
    async with auth_client(database) as client:
        await add_staff(client.app, username="sato")
        resp = await client.post(LOGIN, json=body)
        assert resp.status == 401
        error = (await resp.json())["error"]
        assert error == {"code": "auth.invalid", "message": "wrong town, username or password",
                         "fields": []}
        assert COOKIE_NAME not in resp.cookies


async def test_login_refuses_form_posts_and_foreign_origins(database):
    async with auth_client(database) as client:
        await add_staff(client.app, username="sato")
        form = await client.post(LOGIN, data={"town_code": TOWN_A, "username": "sato",
                                              "password": PASSWORD})
        assert form.status == 415
        assert (await form.json())["error"]["code"] == "auth.json_required"
        foreign = await client.post(LOGIN, headers={"Origin": "https://evil.example"},
                                    json={"town_code": TOWN_A, "username": "sato",
                                          "password": PASSWORD})
        assert foreign.status == 403
        assert (await foreign.json())["error"]["code"] == "csrf.origin"
        missing = await client.post(LOGIN, json={"town_code": TOWN_A})
        assert missing.status == 422
        assert {f["field"] for f in (await missing.json())["error"]["fields"]} == {
            "username", "password"}


async def test_csrf_missing_and_mismatch(database):
    async with auth_client(database) as client:
        who = await staff_login(client, username="sato")
        missing = await client.post("/api/v1/auth/logout")
        assert missing.status == 403
        assert (await missing.json())["error"]["code"] == "csrf.missing"
        wrong = await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": "x" * 43})
        assert wrong.status == 403
        assert (await wrong.json())["error"]["code"] == "csrf.mismatch"
        # The session survived both refusals.
        assert (await client.get("/api/v1/auth/me")).status == 200
        assert (await client.post("/api/v1/auth/logout", headers=who.headers)).status == 200


@require_role("supervisor", "admin")
async def _supervised(request: web.Request) -> web.Response:
    return web.json_response({"by": current_staff(request).username})


async def _client_with_guarded_route(database):
    from aiohttp.test_utils import TestClient, TestServer

    from service.web.app import create_app
    from tests.support.auth import ensure_auth, node_settings

    app = ensure_auth(create_app(node_settings(database)))
    app.router.add_post("/test/supervised", _supervised)
    return TestClient(TestServer(app))


async def test_role_refusal_names_roles(database):
    client = await _client_with_guarded_route(database)
    await client.start_server()
    try:
        anon = await client.post("/test/supervised")
        assert anon.status == 401
        assert (await anon.json())["error"]["code"] == "auth.required"
        clerk = await staff_login(client, username="clerk1", roles=("clerk",))
        refused = await client.post("/test/supervised", headers=clerk.headers)
        assert refused.status == 403
        error = (await refused.json())["error"]
        assert error["code"] == "auth.role"
        assert "supervisor" in error["message"] and "admin" in error["message"]
        boss = await staff_login(client, username="boss", roles=("supervisor",))
        ok = await client.post("/test/supervised", headers=boss.headers)
        assert ok.status == 200 and (await ok.json()) == {"by": "boss"}
    finally:
        await client.close()


async def test_session_expires_when_idle_and_absolutely(database):
    now = [dt.datetime(2024, 1, 2, 9, 0, tzinfo=dt.timezone.utc)]
    policy = AuthPolicy(session_ttl=dt.timedelta(hours=2), idle_ttl=dt.timedelta(minutes=30),
                        clock=lambda: now[0])
    async with auth_client(database, policy=policy) as client:
        await staff_login(client, username="sato")
        for _ in range(5):  # active use keeps it alive, up to the absolute limit
            now[0] += dt.timedelta(minutes=20)
            assert (await client.get("/api/v1/auth/me")).status == 200
        now[0] += dt.timedelta(minutes=21)  # 2h01 after login
        assert (await client.get("/api/v1/auth/me")).status == 401
        await login(client, username="sato")
        now[0] += dt.timedelta(minutes=31)  # idle
        assert (await client.get("/api/v1/auth/me")).status == 401
        assert await client.app[POOL].fetchval("SELECT count(*) FROM staff_sessions") == 0


async def test_login_replaces_an_existing_session(database):
    async with auth_client(database) as client:
        await staff_login(client, username="sato")
        await login(client, username="sato")
        assert await client.app[POOL].fetchval("SELECT count(*) FROM staff_sessions") == 1


async def test_disabled_account_loses_its_session(database):
    import json

    async with auth_client(database) as client:
        await staff_login(client, username="sato")
        assert (await client.get("/api/v1/auth/me")).status == 200  # now cached in memory
        await client.app[POOL].execute(
            "UPDATE entities SET state = jsonb_set(state, '{disabled}', 'true')"
            " WHERE entity_type = 'staff'")
        # The change's NOTIFY evicts the cached session; it arrives asynchronously, so
        # allow it the cache TTL (2 s), which bounds it even without the notification.
        statuses = []
        for _ in range(30):
            statuses.append((await client.get("/api/v1/auth/me")).status)
            if statuses[-1] == 401:
                break
            await asyncio.sleep(0.1)
        assert statuses[-1] == 401, statuses
        resp = await client.post(LOGIN, json={"town_code": TOWN_A, "username": "sato",
                                              "password": PASSWORD})
        assert resp.status == 401
        assert json.loads(await resp.text())["error"]["code"] == "auth.invalid"


async def test_partner_node_serves_another_towns_staff(database):
    """Town A's hall is down: its clerk logs in at town B's node from the replicated account."""
    from service.staff.accounts import create_staff, hash_password

    async with auth_client(database, node_id="node-b", town_code=TOWN_B) as client:
        async with client.app[POOL].acquire() as conn, conn.transaction():
            # As the consumer would hold it: written by node-a, in town A's name.
            await create_staff(conn, node_id="node-a", node_town=TOWN_A, town_code=TOWN_A,
                               username="sato", display_name="佐藤", roles="clerk",
                               password_hash=hash_password(PASSWORD))
        who = await login(client, username="sato", town_code=TOWN_A)
        assert who.staff["town_code"] == TOWN_A


async def test_repeated_failures_are_throttled(database):
    from service.staff.sessions import MAX_FAILURES

    async with auth_client(database) as client:
        await add_staff(client.app, username="sato")
        wrong = {"town_code": TOWN_A, "username": "sato", "password": "not the password"}
        for _ in range(MAX_FAILURES):
            assert (await client.post(LOGIN, json=wrong)).status == 401
        right = {**wrong, "password": PASSWORD}
        throttled = await client.post(LOGIN, json=right)
        assert throttled.status == 429
        assert (await throttled.json())["error"]["code"] == "auth.throttled"
