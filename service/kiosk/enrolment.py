"""Kiosk enrolment (issue 13): the kiosk's key is made in its browser, only the public key
is registered, and a supervisor approves it at the counter.

1. The kiosk page makes a P-256 key with WebCrypto (``extractable: false``: the private key
   cannot leave that browser) and sends ``POST /api/v1/kiosk-enrolments {public_key_pem}``
   (no login: the kiosk has no credential yet). It gets an enrolment id (its secret handle)
   and a pairing code, which it shows on screen with the key's fingerprint.
2. A supervisor at the counter types the pairing code, the kiosk id and the centre:
   ``POST /api/v1/kiosk-enrolments/approve`` registers the device (kiosk_devices) with the
   public key stored at step 1, never a key typed or uploaded at the counter.
3. The kiosk polls ``GET /api/v1/kiosk-enrolments/{enrolment_id}`` until approved, then
   signs its requests (service.kiosk.signing).

Requests expire after ENROLMENT_TTL and at most MAX_PENDING may wait at once, so
unauthenticated requests cannot fill the table.
"""

from __future__ import annotations

import datetime as dt
import secrets

from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization

from service.counter import codes
from service.counter.records import ID_PATTERN
from service.errors import Conflict, InvalidRequest, NotFound, Unavailable
from service.kiosk.identity import _json, _now
from service.kiosk.sessions import token_digest
from service.kiosk.signing import load_device_key
from service.staff.sessions import current_staff, require_role
from service.web.appkeys import POOL

ENROLMENT_TTL = dt.timedelta(minutes=30)
MAX_PENDING = 50
PAIRING_LENGTH = 8  # characters of the code alphabet (about 39 bits), typed once, short-lived


def fingerprint(pem: str) -> str:
    """The first 16 hex digits of SHA-256 over the key's SPKI: what kiosk and counter both show."""
    der = load_device_key(pem).public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return digest.finalize().hex()[:16]


def _pairing_code() -> str:
    raw = "".join(secrets.choice(codes.ALPHABET) for _ in range(PAIRING_LENGTH))
    return codes.display_code(raw)


async def request_enrolment(request: web.Request) -> web.Response:
    """POST /api/v1/kiosk-enrolments {public_key_pem}: a kiosk asks to be enrolled."""
    body = await _json(request, "public_key_pem")
    pem = body["public_key_pem"]
    print_ = fingerprint(pem)
    now = _now(request)
    enrolment_id, pairing = secrets.token_urlsafe(16), _pairing_code()
    async with request.app[POOL].acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM kiosk_enrolments WHERE expires_at < $1 AND kiosk_id IS NULL", now)
        # Serialise the count-then-insert: two kiosks asking at once cannot both pass the cap.
        await conn.execute("LOCK TABLE kiosk_enrolments IN SHARE ROW EXCLUSIVE MODE")
        pending = await conn.fetchval("SELECT count(*) FROM kiosk_enrolments WHERE kiosk_id IS NULL")
        if pending >= MAX_PENDING:
            raise Unavailable("too many kiosk enrolments are waiting; try again later",
                              code="kiosk.enrolment_busy")
        await conn.execute(
            "INSERT INTO kiosk_enrolments (enrolment_id, pairing_sha256, public_key_pem, requested_at,"
            " expires_at) VALUES ($1, $2, $3, $4, $5)", enrolment_id, token_digest(codes.code_key(pairing)),
            pem, now, now + ENROLMENT_TTL)
    return web.json_response({"enrolment_id": enrolment_id, "pairing_code": pairing, "fingerprint": print_,
                              "expires_at": (now + ENROLMENT_TTL).isoformat()}, status=201)


async def enrolment_status(request: web.Request) -> web.Response:
    """GET /api/v1/kiosk-enrolments/{enrolment_id}: pending, approved (with the kiosk id) or expired."""
    row = await request.app[POOL].fetchrow(
        "SELECT e.kiosk_id, e.expires_at, coalesce(d.centre, d.name) AS centre FROM kiosk_enrolments e"
        " LEFT JOIN kiosk_devices d USING (kiosk_id) WHERE e.enrolment_id = $1", request.match_info["enrolment_id"])
    if row is None:
        raise NotFound("no such enrolment", code="kiosk.enrolment_unknown")
    if row["kiosk_id"] is not None:
        return web.json_response({"status": "approved", "kiosk_id": row["kiosk_id"], "centre": row["centre"]})
    return web.json_response({"status": "expired" if row["expires_at"] <= _now(request) else "pending"})


async def _waiting(conn, pairing_code: str, now: dt.datetime, *, lock: bool = False):
    row = await conn.fetchrow(
        "SELECT enrolment_id, public_key_pem, requested_at FROM kiosk_enrolments WHERE pairing_sha256 = $1"
        " AND kiosk_id IS NULL AND expires_at > $2" + (" FOR UPDATE" if lock else ""),
        token_digest(codes.code_key(pairing_code)), now)
    if row is None:
        raise InvalidRequest.about("pairing_code", "no kiosk is waiting with this code (wrong or expired)",
                                   "kiosk.pairing")
    return row


@require_role("supervisor", "admin")
async def preview_enrolment(request: web.Request) -> web.Response:
    """POST /api/v1/kiosk-enrolments/preview {pairing_code} (supervisor): the waiting key's
    fingerprint, to compare with the one on the kiosk's screen before approving."""
    body = await _json(request, "pairing_code")
    async with request.app[POOL].acquire() as conn:
        row = await _waiting(conn, body["pairing_code"], _now(request))
    return web.json_response({"fingerprint": fingerprint(row["public_key_pem"]),
                              "requested_at": row["requested_at"].isoformat()})


@require_role("supervisor", "admin")
async def approve_enrolment(request: web.Request) -> web.Response:
    """POST /api/v1/kiosk-enrolments/approve {pairing_code, kiosk_id, name, centre} (supervisor)."""
    body = await _json(request, "pairing_code", "kiosk_id", "name", "centre")
    if not ID_PATTERN.fullmatch(body["kiosk_id"]):
        raise InvalidRequest.about("kiosk_id", "1-64 of A-Z a-z 0-9 . _ -", "kiosk.id")
    now, staff = _now(request), current_staff(request)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        row = await _waiting(conn, body["pairing_code"], now, lock=True)
        done = await conn.fetchval(
            "INSERT INTO kiosk_devices (kiosk_id, name, public_key_pem, registered_by, centre)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING true", body["kiosk_id"],
            body["name"].strip()[:100], row["public_key_pem"], staff.staff_id, body["centre"].strip()[:100])
        if not done:
            raise Conflict(f"kiosk {body['kiosk_id']} is already registered", code="kiosk.exists")
        await conn.execute("UPDATE kiosk_enrolments SET kiosk_id = $2, approved_by = $3, approved_at = $4"
                           " WHERE enrolment_id = $1", row["enrolment_id"], body["kiosk_id"], staff.staff_id, now)
    return web.json_response({"kiosk_id": body["kiosk_id"], "fingerprint": fingerprint(row["public_key_pem"])},
                             status=201)


def setup_enrolment_routes(app: web.Application) -> None:
    """The enrolment routes (registered with the other kiosk routes)."""
    app.router.add_post("/api/v1/kiosk-enrolments", request_enrolment)
    app.router.add_post("/api/v1/kiosk-enrolments/preview", preview_enrolment)
    app.router.add_post("/api/v1/kiosk-enrolments/approve", approve_enrolment)
    app.router.add_get("/api/v1/kiosk-enrolments/{enrolment_id}", enrolment_status)
