"""Kiosk identity (DESIGN 6): kiosk devices, resident cards, challenges, one-time codes.

- A kiosk is a device with its own key (P-256 or Ed25519), registered by an admin. Every
  kiosk request is signed: ``X-Kiosk-Id``, ``X-Kiosk-Timestamp`` (ms) and
  ``X-Kiosk-Signature`` (base64) over ``method \\n raw path \\n timestamp \\n sha256(body)``.
  A timestamp outside ±60 s, or a signature already seen, is refused.
- A resident proves who they are with a card modelled on the My Number card's
  user-authentication certificate: the node hands out a random single-use challenge, the
  card signs it (ECDSA P-256), and the node checks the card certificate against the card CAs
  it trusts. The certificate binds ``urn:risai:resident:<town>:<resident id>``.
- Fallback: a clerk issues a one-time application code; a kiosk redeems it once.
Either way the kiosk gets a short kiosk session (``X-Kiosk-Session``) bound to that kiosk
and that one resident. Header credentials are never sent by browsers on their own, so
kiosk requests need no CSRF token. All of this is local to the node (not replicated).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from aiohttp import web

from service.storage.db import acquire, create_pool
from service.web.appkeys import POOL, SETTINGS
from service.staff.audit import access_reason, audit
from service.staff.sessions import AUTH_POLICY, current_staff, require_role
from service.errors import Conflict, Forbidden, InvalidRequest, Unauthenticated
from service.kiosk.cards import verify_card
from service.kiosk.audit_queue import draining
from service.kiosk.card_cas import publish_card_ca, trusted_card_cas
from service.kiosk.signing import (
    NONCE, SIGNATURE_WINDOW, decode_base64, load_device_key, request_message,
    verify_request_signature,
)
from service.kiosk.sessions import (
    KioskSession, consume_challenge, issue_code, redeem_code, start_kiosk_session, token_digest,
)
from service.counter.records import ID_PATTERN
from service.kiosk.self_service import KioskActor, Resident

CHALLENGE_TTL = dt.timedelta(minutes=2)
KIOSK_POOL_SIZE = 3
KIOSK_POOL: web.AppKey[Any] = web.AppKey("kiosk_pool", object)


# ---- the kiosks' own connections ----------------------------------------------------------
# Kiosk requests use a small pool of their own, beside the node's: a resident at a kiosk
# must not queue behind a busy counter for a connection (issue 13: a kiosk screen answers in
# under 300 ms while the counter API is under load). Waiting for one is bounded as for the
# counter (503 node.busy), never a request that hangs.

async def kiosk_pool_ctx(app: web.Application) -> Any:
    """cleanup_ctx: open the kiosks' pool after the node's (same database), close it before."""
    settings = app[SETTINGS]
    pool = await create_pool(settings.database.dsn, min_size=1, max_size=KIOSK_POOL_SIZE)
    app[KIOSK_POOL] = pool
    try:
        # The kiosks' audit records reach the replicated trail through their queue.
        async with draining(app[POOL], node_id=settings.node.id, town=settings.node.town_code):
            yield
    finally:
        await pool.close()


def kiosk_pool(app: web.Application) -> Any:
    """The kiosks' pool (the node's own if it was not started, e.g. in a bare test app)."""
    return app.get(KIOSK_POOL) or app[POOL]


def kiosk_connection(request: web.Request) -> Any:
    """One connection of the kiosks' pool, or 503 node.busy after the acquire timeout."""
    return acquire(kiosk_pool(request.app), request.app[SETTINGS].database.acquire_timeout_s)


# ---- HTTP --------------------------------------------------------------------------------

KIOSK_DEVICE: web.RequestKey[str | None] = web.RequestKey("kiosk_device")
KIOSK_CENTRE: web.RequestKey[str] = web.RequestKey("kiosk_centre")
KIOSK: web.RequestKey[KioskSession | None] = web.RequestKey("kiosk_session")


def _now(request: web.Request) -> dt.datetime:
    return request.app[AUTH_POLICY].clock()


async def _verify(request: web.Request, kiosk_id: str, token: str | None) -> KioskSession | None:
    """Check the request's signature, freshness and nonce, and load its kiosk session (if a
    token is given), on one pooled connection: a kiosk screen queues for the pool once here,
    not three times, when the counter keeps the pool busy (issue 13)."""
    now, headers = _now(request), request.headers
    ts, sig = headers.get("X-Kiosk-Timestamp", ""), headers.get("X-Kiosk-Signature", "")
    nonce = headers.get("X-Kiosk-Nonce", "")
    if not ts.isdigit() or abs(now.timestamp() * 1000 - int(ts)) > SIGNATURE_WINDOW.total_seconds() * 1000:
        raise Unauthenticated("kiosk request timestamp missing or outside the window",
                              code="kiosk.timestamp")
    if not NONCE.fullmatch(nonce):
        raise Unauthenticated("X-Kiosk-Nonce must be 32 lower-case hex digits (16 random bytes)",
                              code="kiosk.nonce")
    message = request_message(request.method, request.raw_path, ts, nonce, await request.read())
    signature = decode_base64(sig, "X-Kiosk-Signature")
    async with kiosk_connection(request) as conn:
        row = await conn.fetchrow(
            "SELECT d.public_key_pem, coalesce(d.centre, d.name) AS centre, s.town_code, s.resident_id,"
            " s.method, s.expires_at FROM kiosk_devices d LEFT JOIN kiosk_sessions s ON s.kiosk_id = d.kiosk_id"
            " AND s.token_sha256 = $2 AND s.ended_at IS NULL AND s.expires_at > $3"
            " WHERE d.kiosk_id = $1 AND d.revoked_at IS NULL",
            kiosk_id, token_digest(token) if token else b"", now)
        if row is None or not verify_request_signature(row["public_key_pem"], message, signature):
            raise Unauthenticated("kiosk signature refused", code="kiosk.signature")
        async with conn.transaction():
            # The replay guard need not survive a crash: its rows matter for one signature
            # window (60 s), and a node restarting loses at most the last moment of them. So
            # this commit does not wait for the WAL flush (a kiosk screen pays no fsync for it).
            await conn.execute("SET LOCAL synchronous_commit = off")
            await conn.execute("DELETE FROM kiosk_request_seen WHERE seen_at < $1",
                               now - 2 * SIGNATURE_WINDOW)
            fresh = await conn.fetchval(
                "INSERT INTO kiosk_request_seen VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true",
                hashlib.sha256(f"{kiosk_id}\n{ts}\n{nonce}".encode()).digest(), now)
    if not fresh:
        raise Unauthenticated("replayed kiosk request", code="kiosk.replay")
    request[KIOSK_CENTRE] = row["centre"]
    if token is None:
        return None
    if row["town_code"] is None:
        raise Unauthenticated("kiosk session ended or unknown", code="kiosk.session")
    return KioskSession(kiosk_id, row["town_code"], row["resident_id"], row["method"], row["expires_at"])


@web.middleware
async def kiosk_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Verify a signed kiosk request and load its resident session, if any."""
    request[KIOSK_DEVICE], request[KIOSK] = None, None
    kiosk_id = request.headers.get("X-Kiosk-Id")
    token = request.headers.get("X-Kiosk-Session")
    if kiosk_id:
        request[KIOSK] = await _verify(request, kiosk_id, token)
        request[KIOSK_DEVICE] = kiosk_id
    elif token:
        raise Unauthenticated("a kiosk session needs a signed kiosk request", code="kiosk.signature")
    return await handler(request)


def current_device(request: web.Request) -> str:
    """The signing kiosk's id, or 401 ``kiosk.required``."""
    kiosk_id = request.get(KIOSK_DEVICE)
    if kiosk_id is None:
        raise Unauthenticated("only a registered kiosk can call this", code="kiosk.required")
    return kiosk_id


def current_kiosk(request: web.Request) -> KioskSession:
    """The kiosk's identified resident, or 401 ``kiosk.required``."""
    session = request.get(KIOSK)
    if session is None:
        raise Unauthenticated("identify the resident at the kiosk first", code="kiosk.required")
    return session


def kiosk_party(request: web.Request) -> tuple[KioskActor, Resident]:
    """(the kiosk as actor, its identified resident), or 401 ``kiosk.required``."""
    session = current_kiosk(request)
    device = KioskActor(session.kiosk_id, request[KIOSK_CENTRE], request.app[SETTINGS].node.town_code)
    return device, Resident(session.town_code, session.resident_id, session.method)


def require_kiosk_resident(request: web.Request, town_code: str, resident_id: str) -> KioskSession:
    """The kiosk session, if it belongs to this resident; 403 ``kiosk.other_resident`` if not."""
    session = current_kiosk(request)
    if (session.town_code, session.resident_id) != (town_code, resident_id):
        raise Forbidden("a kiosk session can only see its own resident's applications",
                        code="kiosk.other_resident")
    return session


async def _json(request: web.Request, *fields: str) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise InvalidRequest.about("body", "not valid JSON", "invalid.json") from None
    if not isinstance(body, dict):
        raise InvalidRequest.about("body", "must be a JSON object", "invalid.type")
    missing = [{"field": f, "reason": "required text", "code": "invalid.required"}
               for f in fields if not isinstance(body.get(f), str) or not body[f].strip()]
    if missing:
        raise InvalidRequest(f"required: {', '.join(fields)}", fields=missing)
    return body


@require_role("admin")
async def register_kiosk(request: web.Request) -> web.Response:
    """POST /api/v1/kiosks {kiosk_id, name, public_key_pem[, centre]} (admin)."""
    body = await _json(request, "kiosk_id", "name", "public_key_pem")
    centre = body.get("centre")
    if centre is not None and (not isinstance(centre, str) or not centre.strip()):
        raise InvalidRequest.about("centre", "must be non-blank text (the evacuation centre)", "invalid.type")
    load_device_key(body["public_key_pem"])
    if not ID_PATTERN.fullmatch(body["kiosk_id"]):
        raise InvalidRequest.about("kiosk_id", "1-64 of A-Z a-z 0-9 . _ -", "kiosk.id")
    done = await request.app[POOL].fetchval(
        "INSERT INTO kiosk_devices (kiosk_id, name, public_key_pem, registered_by, centre)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING true", body["kiosk_id"],
        body["name"].strip()[:100], body["public_key_pem"], current_staff(request).staff_id,
        centre.strip()[:100] if centre else None)
    if not done:
        raise Conflict(f"kiosk {body['kiosk_id']} is already registered", code="kiosk.exists")
    return web.json_response({"kiosk_id": body["kiosk_id"]}, status=201)


@require_role("admin")
async def register_card_ca(request: web.Request) -> web.Response:
    """POST /api/v1/card-cas {certificate_pem} (admin): trust a card-issuing CA."""
    body = await _json(request, "certificate_pem")
    try:
        ca = x509.load_pem_x509_certificate(body["certificate_pem"].encode())
        is_ca = ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except (ValueError, x509.ExtensionNotFound):
        is_ca = False
    if not is_ca:
        raise InvalidRequest.about("certificate_pem", "must be a PEM CA certificate", "card.ca")
    fingerprint = ca.fingerprint(hashes.SHA256()).hex()
    node = request.app[SETTINGS].node
    async with request.app[POOL].acquire() as conn, conn.transaction():
        await publish_card_ca(conn, ca, body["certificate_pem"], current_staff(request).staff_id,
                              node_id=node.id, node_town=node.town_code, now=_now(request))
    return web.json_response({"fingerprint_sha256": fingerprint,
                              "subject": ca.subject.rfc4514_string()}, status=201)


async def challenge(request: web.Request) -> web.Response:
    """GET /api/v1/kiosk/challenge (signed kiosk): a fresh single-use challenge."""
    kiosk_id, now = current_device(request), _now(request)
    value = secrets.token_urlsafe(32)
    async with kiosk_connection(request) as conn:
        await conn.execute("DELETE FROM kiosk_challenges WHERE expires_at < $1",
                           now - CHALLENGE_TTL)
        await conn.execute("INSERT INTO kiosk_challenges (challenge, kiosk_id, expires_at)"
                           " VALUES ($1, $2, $3)", value, kiosk_id, now + CHALLENGE_TTL)
    return web.json_response({"challenge": value,
                              "expires_at": (now + CHALLENGE_TTL).isoformat()})


async def _session_reply(request: web.Request, town: str, resident: str,
                         method: str, conn: Any) -> web.Response:
    token, session = await start_kiosk_session(
        conn, kiosk_id=current_device(request), town_code=town, resident_id=resident,
        method=method, now=_now(request))
    return web.json_response({"session_token": token, **session.public()})


async def identify(request: web.Request) -> web.Response:
    """POST /api/v1/kiosk/identify {challenge, card_certificate, signature}."""
    kiosk_id, now = current_device(request), _now(request)
    body = await _json(request, "challenge", "card_certificate", "signature")
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
    body = await _json(request, "code")
    async with kiosk_connection(request) as conn, conn.transaction():
        node = request.app[SETTINGS].node
        town, resident = await redeem_code(conn, body["code"], current_device(request), _now(request),
                                           node_id=node.id, node_town=node.town_code)
        return await _session_reply(request, town, resident, "code", conn)


@require_role("clerk", "supervisor")
async def issue_application_code(request: web.Request) -> web.Response:
    """POST /api/v1/application-codes {town_code, resident_id[, reason]} (clerk)."""
    staff, body = current_staff(request), await _json(request, "town_code", "resident_id")
    town, resident = body["town_code"], body["resident_id"]
    reason = access_reason(request, body) if town != staff.town_code else None
    settings = request.app[SETTINGS]
    async with request.app[POOL].acquire() as conn, conn.transaction():
        code, expires = await issue_code(conn, town_code=town, resident_id=resident,
                                         issued_by=staff.staff_id, now=_now(request),
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
    await kiosk_pool(request.app).execute(
        "UPDATE kiosk_sessions SET ended_at = $2 WHERE token_sha256 = $1",
        token_digest(request.headers["X-Kiosk-Session"]), _now(request))
    return web.json_response({"logged_out": True})


def setup_routes(app: web.Application) -> None:
    """The kiosk routes (registered by service.staff.sessions.setup_auth)."""
    app.router.add_post("/api/v1/kiosks", register_kiosk)
    app.router.add_post("/api/v1/card-cas", register_card_ca)
    app.router.add_post("/api/v1/application-codes", issue_application_code)
    app.router.add_get("/api/v1/kiosk/challenge", challenge)
    app.router.add_post("/api/v1/kiosk/identify", identify)
    app.router.add_post("/api/v1/kiosk/redeem", redeem)
    app.router.add_get("/api/v1/kiosk/me", kiosk_me)
    app.router.add_post("/api/v1/kiosk/logout", kiosk_logout)
    app.cleanup_ctx.append(kiosk_pool_ctx)
    from service.kiosk.enrolment import setup_enrolment_routes  # it imports this module

    setup_enrolment_routes(app)
