"""Kiosk identity: signed kiosk requests, card challenge-response, one-time codes."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives import serialization

from service.kiosk import cards
from service.kiosk import sessions as kiosk
from service.staff.sessions import AuthPolicy
from service.web.appkeys import POOL
from tests.support.auth import TOWN_A, TOWN_B, auth_client, register_kiosk, staff_login

pytestmark = pytest.mark.integration

UTC = dt.timezone.utc


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(UTC)

    def __call__(self) -> dt.datetime:
        return self.now


def _pem(cert) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


async def _setup(client, clock):
    admin = await staff_login(client, username="admin1", roles=("admin",))
    device = await register_kiosk(client, admin, clock=clock)
    ca_key, ca = cards.create_card_ca("Test JPKI CA", now=clock())
    resp = await client.post("/api/v1/card-cas", headers=admin.headers,
                             json={"certificate_pem": _pem(ca)})
    assert resp.status == 201, await resp.text()
    card_key, card = cards.issue_card(ca_key, ca, town_code=TOWN_A, resident_id="R0001",
                                      now=clock())
    return admin, device, (card_key, card)


async def _identify(device, card, challenge=None):
    card_key, card_cert = card
    if challenge is None:
        resp = await device.request("GET", "/api/v1/kiosk/challenge")
        assert resp.status == 200, await resp.text()
        challenge = (await resp.json())["challenge"]
    return challenge, await device.request("POST", "/api/v1/kiosk/identify", {
        "challenge": challenge, "card_certificate": _pem(card_cert),
        "signature": cards.sign_challenge(card_key, challenge)})


async def _code(resp):
    return (await resp.json())["error"]["code"]


async def test_card_identifies_the_resident(database):
    clock = Clock()
    async with auth_client(database, policy=AuthPolicy(clock=clock)) as client:
        _, device, card = await _setup(client, clock)
        _, resp = await _identify(device, card)
        assert resp.status == 200, await resp.text()
        body = await resp.json()
        assert (body["town_code"], body["resident_id"], body["method"]) == (TOWN_A, "R0001", "card")
        device.session_token = body["session_token"]
        me = await device.request("GET", "/api/v1/kiosk/me")
        assert (await me.json())["resident_id"] == "R0001"
        assert (await device.request("POST", "/api/v1/kiosk/logout")).status == 200
        assert await _code(await device.request("GET", "/api/v1/kiosk/me")) == "kiosk.session"


async def test_challenge_replay_refused(database):
    clock = Clock()
    async with auth_client(database, policy=AuthPolicy(clock=clock)) as client:
        _, device, card = await _setup(client, clock)
        challenge, first = await _identify(device, card)
        assert first.status == 200
        _, again = await _identify(device, card, challenge)
        assert again.status == 401 and await _code(again) == "challenge.used"


async def test_expired_challenge_refused(database):
    clock = Clock()
    async with auth_client(database, policy=AuthPolicy(clock=clock)) as client:
        _, device, card = await _setup(client, clock)
        resp = await device.request("GET", "/api/v1/kiosk/challenge")
        challenge = (await resp.json())["challenge"]
        clock.now += kiosk.CHALLENGE_TTL + dt.timedelta(seconds=1)
        _, late = await _identify(device, card, challenge)
        assert late.status == 401 and await _code(late) == "challenge.expired"


async def test_card_from_an_untrusted_ca_refused(database):
    clock = Clock()
    async with auth_client(database, policy=AuthPolicy(clock=clock)) as client:
        _, device, _ = await _setup(client, clock)
        rogue_key, rogue = cards.create_card_ca("Test JPKI CA", now=clock())  # same name
        forged = cards.issue_card(rogue_key, rogue, town_code=TOWN_A, resident_id="R0001",
                                  now=clock())
        _, resp = await _identify(device, forged)
        assert resp.status == 401 and await _code(resp) == "card.untrusted"


async def test_signature_by_another_key_refused(database):
    clock = Clock()
    async with auth_client(database, policy=AuthPolicy(clock=clock)) as client:
        _, device, (card_key, card) = await _setup(client, clock)
        other_key, _ = cards.create_card_ca("x", now=clock())
        _, resp = await _identify(device, (other_key, card))
        assert resp.status == 401 and await _code(resp) == "card.signature"


async def test_kiosk_requests_must_be_signed_fresh_and_unique(database):
    clock = Clock()
    async with auth_client(database, policy=AuthPolicy(clock=clock)) as client:
        _, device, _ = await _setup(client, clock)
        unsigned = await client.get("/api/v1/kiosk/challenge")
        assert unsigned.status == 401 and await _code(unsigned) == "kiosk.required"
        headers = device.signed_headers("GET", "/api/v1/kiosk/challenge")
        assert (await client.get("/api/v1/kiosk/challenge", headers=headers)).status == 200
        replay = await client.get("/api/v1/kiosk/challenge", headers=headers)
        assert await _code(replay) == "kiosk.replay"
        stale = device.signed_headers("GET", "/api/v1/kiosk/challenge")
        clock.now += dt.timedelta(minutes=2)
        assert await _code(await client.get("/api/v1/kiosk/challenge", headers=stale)) == \
            "kiosk.timestamp"
        tampered = device.signed_headers("GET", "/api/v1/kiosk/me")
        assert await _code(await client.get("/api/v1/kiosk/challenge", headers=tampered)) == \
            "kiosk.signature"


async def test_one_time_code_cannot_be_used_twice(database):
    clock = Clock()
    async with auth_client(database, policy=AuthPolicy(clock=clock)) as client:
        admin, device, _ = await _setup(client, clock)
        clerk = await staff_login(client, username="clerk1", roles=("clerk",))
        resp = await client.post("/api/v1/application-codes", headers=clerk.headers,
                                 json={"town_code": TOWN_A, "resident_id": "R0002"})
        assert resp.status == 201, await resp.text()
        code = (await resp.json())["code"]
        first = await device.request("POST", "/api/v1/kiosk/redeem",
                                     {"code": code.lower().replace("-", " ")})
        assert first.status == 200, await first.text()
        assert (await first.json())["resident_id"] == "R0002"
        second = await device.request("POST", "/api/v1/kiosk/redeem", {"code": code})
        assert second.status == 401 and await _code(second) == "code.invalid"
        assert await client.app[POOL].fetchval(
            "SELECT count(*) FROM entities WHERE entity_type = 'audit'") == 1


async def test_codes_for_another_town_need_a_reason_and_a_clerk(database):
    clock = Clock()
    async with auth_client(database, policy=AuthPolicy(clock=clock)) as client:
        clerk = await staff_login(client, username="clerk1", roles=("clerk",))
        other = {"town_code": TOWN_B, "resident_id": "R9"}
        no_reason = await client.post("/api/v1/application-codes", headers=clerk.headers,
                                      json=other)
        assert no_reason.status == 422 and await _code(no_reason) == "audit.reason_required"
        ok = await client.post("/api/v1/application-codes", json=other,
                               headers={**clerk.headers, "X-Access-Reason": "shelter"})
        assert ok.status == 201
        surveyor = await staff_login(client, username="surv", roles=("surveyor",))
        refused = await client.post("/api/v1/application-codes", headers=surveyor.headers,
                                    json={"town_code": TOWN_A, "resident_id": "R1"})
        assert refused.status == 403 and await _code(refused) == "auth.role"


async def test_kiosk_session_is_bound_to_its_kiosk(database):
    clock = Clock()
    async with auth_client(database, policy=AuthPolicy(clock=clock)) as client:
        admin, device, card = await _setup(client, clock)
        other = await register_kiosk(client, admin, "kiosk-2", clock=clock)
        _, resp = await _identify(device, card)
        other.session_token = (await resp.json())["session_token"]
        stolen = await other.request("GET", "/api/v1/kiosk/me")
        assert stolen.status == 401 and await _code(stolen) == "kiosk.session"
