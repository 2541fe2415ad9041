"""Kiosk identity over HTTP (DESIGN 6): registering kiosks and card CAs, the card challenge,
identifying a resident (card or one-time code), and the kiosk session. Handlers only: the
rules are service.kiosk (devices, sessions, cards, card_cas); the signature check is
service.web.kiosk_auth's middleware.

- A resident proves who they are with a card modelled on the My Number card's
  user-authentication certificate: the node hands out a random single-use challenge, the
  card signs it (ECDSA P-256), and the node checks the card certificate against the card CAs
  it trusts. The certificate binds ``urn:risai:resident:<town>:<resident id>``.
- Fallback: a clerk issues a one-time application code; a kiosk redeems it once.
Either way the kiosk gets a short kiosk session (``X-Kiosk-Session``) bound to that kiosk
and that one resident. All of this is local to the node (not replicated), except codes and
card CAs (service.kiosk.sessions, card_cas).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import hashes

from service.api.common import json_text_fields
from service.api.context import access_reason
from service.kiosk.card_cas import parse_ca, publish_card_ca, trusted_card_cas
from service.kiosk.cards import verify_card
from service.kiosk.devices import register_device
from service.kiosk.sessions import (
    consume_challenge,
    end_kiosk_session,
    issue_code,
    new_challenge,
    redeem_code,
    start_kiosk_session,
)
from service.staff.audit import audit
from service.web.appkeys import POOL, SETTINGS
from service.web.auth import current_staff, require_role
from service.web.kiosk_auth import current_device, current_kiosk, kiosk_connection, kiosk_pool, request_time


@require_role("admin")
async def register_kiosk(request: web.Request) -> web.Response:
    """POST /api/v1/kiosks {kiosk_id, name, public_key_pem[, centre]} (admin)."""
    body = await json_text_fields(request, "kiosk_id", "name", "public_key_pem")
    await register_device(request.app[POOL], kiosk_id=body["kiosk_id"], name=body["name"],
                          public_key_pem=body["public_key_pem"], centre=body.get("centre"),
                          registered_by=current_staff(request).staff_id)
    return web.json_response({"kiosk_id": body["kiosk_id"]}, status=201)


@require_role("admin")
async def register_card_ca(request: web.Request) -> web.Response:
    """POST /api/v1/card-cas {certificate_pem} (admin): trust a card-issuing CA."""
    body = await json_text_fields(request, "certificate_pem")
    ca = parse_ca(body["certificate_pem"])
    node = request.app[SETTINGS].node
    async with request.app[POOL].acquire() as conn, conn.transaction():
        await publish_card_ca(conn, ca, body["certificate_pem"], current_staff(request).staff_id,
                              node_id=node.id, node_town=node.town_code, now=request_time(request))
    return web.json_response({"fingerprint_sha256": ca.fingerprint(hashes.SHA256()).hex(),
                              "subject": ca.subject.rfc4514_string()}, status=201)


async def challenge(request: web.Request) -> web.Response:
    """GET /api/v1/kiosk/challenge (signed kiosk): a fresh single-use challenge."""
    kiosk_id, now = current_device(request), request_time(request)
    async with kiosk_connection(request) as conn:
        value, expires_at = await new_challenge(conn, kiosk_id, now)
    return web.json_response({"challenge": value, "expires_at": expires_at.isoformat()})


async def _session_reply(request: web.Request, town: str, resident: str,
                         method: str, conn: Any) -> web.Response:
    token, session = await start_kiosk_session(
        conn, kiosk_id=current_device(request), town_code=town, resident_id=resident,
        method=method, now=request_time(request))
    return web.json_response({"session_token": token, **session.public()})


async def identify(request: web.Request) -> web.Response:
    """POST /api/v1/kiosk/identify {challenge, card_certificate, signature}."""
    kiosk_id, now = current_device(request), request_time(request)
    body = await json_text_fields(request, "challenge", "card_certificate", "signature")
    async with kiosk_connection(request) as conn, conn.transaction():
        # The challenge is spent even if the card is then refused: no second try with it.
        await consume_challenge(conn, body["challenge"], kiosk_id, now)
    trusted = await trusted_card_cas(kiosk_pool(request.app))
    town, resident = verify_card(body["card_certificate"], body["signature"],
                                 body["challenge"], trusted, now)
    async with kiosk_connection(request) as conn:
        return await _session_reply(request, town, resident, "card", conn)


async def redeem(request: web.Request) -> web.Response:
    """POST /api/v1/kiosk/redeem {code} (signed kiosk): start a session with a one-time code."""
    body = await json_text_fields(request, "code")
    async with kiosk_connection(request) as conn, conn.transaction():
        node = request.app[SETTINGS].node
        town, resident = await redeem_code(conn, body["code"], current_device(request), request_time(request),
                                           node_id=node.id, node_town=node.town_code)
        return await _session_reply(request, town, resident, "code", conn)


@require_role("clerk", "supervisor")
async def issue_application_code(request: web.Request) -> web.Response:
    """POST /api/v1/application-codes {town_code, resident_id[, reason]} (clerk)."""
    staff, body = current_staff(request), await json_text_fields(request, "town_code", "resident_id")
    town, resident = body["town_code"], body["resident_id"]
    reason = access_reason(request, body) if town != staff.town_code else None
    settings = request.app[SETTINGS]
    async with request.app[POOL].acquire() as conn, conn.transaction():
        code, expires = await issue_code(conn, town_code=town, resident_id=resident,
                                         issued_by=staff.staff_id, now=request_time(request),
                                         node_id=settings.node.id, node_town=settings.node.town_code)
        await audit(conn, staff=staff, node_id=settings.node.id, action="application_code.issue",
                    subject_type="resident", subject_id=resident, town_code=town,
                    reason=reason, node_town=settings.node.town_code)
    return web.json_response({"code": code, "town_code": town, "resident_id": resident,
                              "expires_at": expires.isoformat()}, status=201)


async def kiosk_me(request: web.Request) -> web.Response:
    """GET /api/v1/kiosk/me: the resident identified at this kiosk."""
    return web.json_response(current_kiosk(request).public())


async def kiosk_logout(request: web.Request) -> web.Response:
    """POST /api/v1/kiosk/logout: end the resident's kiosk session (the next person's turn)."""
    current_kiosk(request)
    await end_kiosk_session(kiosk_pool(request.app), request.headers["X-Kiosk-Session"], request_time(request))
    return web.json_response({"logged_out": True})


def setup_routes(app: web.Application) -> None:
    """The kiosk identity routes (registered by service.api.routes.setup_api)."""
    app.router.add_post("/api/v1/kiosks", register_kiosk)
    app.router.add_post("/api/v1/card-cas", register_card_ca)
    app.router.add_post("/api/v1/application-codes", issue_application_code)
    app.router.add_get("/api/v1/kiosk/challenge", challenge)
    app.router.add_post("/api/v1/kiosk/identify", identify)
    app.router.add_post("/api/v1/kiosk/redeem", redeem)
    app.router.add_get("/api/v1/kiosk/me", kiosk_me)
    app.router.add_post("/api/v1/kiosk/logout", kiosk_logout)
