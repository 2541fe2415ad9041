"""Helpers for the kiosk tests: a registered kiosk on a counter node, a resident's kiosk
session opened with a one-time code or a software card."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from cryptography.hazmat.primitives import serialization

from service.kiosk import cards
from tests.support.auth import SignedKiosk, register_kiosk

REASON = {"X-Access-Reason": quote("避難所での申請受付（益城町からの避難者）")}


def pem(cert: Any) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


async def kiosk_on(node: Any, kiosk_id: str = "kiosk-1") -> SignedKiosk:
    """Register a kiosk through an admin on ``node`` (a tests.support.counter.Node); the
    kiosk signs on the node's cookie-less client."""
    admin = await node.login(f"admin-{kiosk_id}", ("admin",))
    device = await register_kiosk(admin.client, admin.session, kiosk_id=kiosk_id)
    return SignedKiosk(node.client, device.kiosk_id, device.key)


async def code_session(kiosk: SignedKiosk, clerk: Any, town_code: str, resident_id: str) -> dict:
    """A clerk issues a one-time code; the kiosk redeems it (the session goes on ``kiosk``)."""
    status, body = await clerk.post("/api/v1/application-codes", {"town_code": town_code,
                                                                  "resident_id": resident_id}, headers=REASON)
    assert status == 201, body
    resp = await kiosk.request("POST", "/api/v1/kiosk/redeem", {"code": body["code"]})
    session = await resp.json()
    assert resp.status == 200, session
    kiosk.session_token = session["session_token"]
    return session


async def trust_card_ca(admin: Any, ca_cert: Any) -> None:
    """Register a card CA at the node (admin)."""
    status, body = await admin.post("/api/v1/card-cas", {"certificate_pem": pem(ca_cert)})
    assert status == 201, body


async def card_session(kiosk: SignedKiosk, card_key: Any, card_cert: Any) -> dict:
    """Challenge, sign with the software card, identify."""
    challenge = (await (await kiosk.request("GET", "/api/v1/kiosk/challenge")).json())["challenge"]
    resp = await kiosk.request("POST", "/api/v1/kiosk/identify", {
        "challenge": challenge, "card_certificate": pem(card_cert),
        "signature": cards.sign_challenge(card_key, challenge)})
    session = await resp.json()
    assert resp.status == 200, session
    kiosk.session_token = session["session_token"]
    return session


async def body_of(resp: Any) -> Any:
    return await resp.json() if resp.content_type == "application/json" else await resp.read()
