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

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import secrets
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from aiohttp import web

from service.appkeys import POOL, SETTINGS
from service.audit import access_reason, audit
from service.auth import AUTH_POLICY, current_staff, require_role
from service.errors import Conflict, Forbidden, InvalidRequest, Unauthenticated
from service.records import ID_PATTERN

RESIDENT_URN = "urn:risai:resident:"
SIGNATURE_WINDOW = dt.timedelta(seconds=60)
CHALLENGE_TTL = dt.timedelta(minutes=2)
KIOSK_SESSION_TTL = dt.timedelta(minutes=10)
CODE_TTL = dt.timedelta(hours=72)
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U: read out at a counter


class CardError(Unauthenticated):
    """A card or its signature was refused (401 with a ``card.*`` code)."""


# ---- the test card CA (pure) -------------------------------------------------------------

def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def create_card_ca(common_name: str, *, now: dt.datetime,
                   days: int = 3650) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A card-issuing CA (P-256), like J-LIS's for user-authentication certificates."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(common_name))
            .issuer_name(_name(common_name)).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                         False, False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def issue_card(ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, *,
               town_code: str, resident_id: str, now: dt.datetime, days: int = 1825,
               ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A software card: its key and a user-authentication certificate for one resident."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("利用者証明用"))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False,
                                         False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(
                f"{RESIDENT_URN}{town_code}:{resident_id}")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def sign_challenge(card_key: ec.EllipticCurvePrivateKey, challenge: str) -> str:
    """What the card does: sign the challenge (ECDSA P-256 SHA-256, DER, base64)."""
    return base64.b64encode(card_key.sign(challenge.encode(), ec.ECDSA(hashes.SHA256()))).decode()


def _b64(value: Any, field: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise InvalidRequest.field(field, "must be base64", "invalid.base64") from None


def _der_signature(raw: bytes) -> bytes:
    # WebCrypto gives raw r||s (64 bytes for P-256); cryptography wants DER.
    if len(raw) == 64:
        return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    return raw


def _resident_of(card: x509.Certificate) -> tuple[str, str]:
    try:
        san = card.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = []
    for uri in san.get_values_for_type(x509.UniformResourceIdentifier) if san else []:
        if uri.startswith(RESIDENT_URN) and uri.count(":") == 4:
            town, resident = uri[len(RESIDENT_URN):].split(":")
            return town, resident
    raise CardError("the card certificate names no resident", code="card.no_resident")


def _issued_by_trusted(card: x509.Certificate, trusted: list[x509.Certificate]) -> bool:
    for ca in trusted:
        if ca.subject != card.issuer:
            continue
        try:
            card.verify_directly_issued_by(ca)
            return True
        except (ValueError, TypeError, InvalidSignature):
            continue
    return False


def verify_card(card_pem: str, signature_b64: str, challenge: str,
                trusted: list[x509.Certificate], now: dt.datetime) -> tuple[str, str]:
    """Check a card's certificate and challenge signature; returns (town code, resident id)."""
    try:
        card = x509.load_pem_x509_certificate(card_pem.encode())
    except (ValueError, TypeError, AttributeError):
        raise InvalidRequest.field("card_certificate", "not a PEM certificate",
                                   "card.malformed") from None
    signature = _der_signature(_b64(signature_b64, "signature"))
    if not _issued_by_trusted(card, trusted):
        raise CardError("the card was not issued by a trusted card CA", code="card.untrusted")
    if not card.not_valid_before_utc <= now <= card.not_valid_after_utc:
        raise CardError("the card certificate is not valid now", code="card.expired")
    key = card.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise CardError("the card key must be ECDSA P-256", code="card.key_type")
    try:
        key.verify(signature, challenge.encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise CardError("the card's signature over the challenge is wrong",
                        code="card.signature") from None
    return _resident_of(card)


# ---- kiosk device request signatures (pure) ----------------------------------------------

def request_message(method: str, raw_path: str, timestamp_ms: str, body: bytes) -> bytes:
    """The bytes a kiosk signs for one request."""
    return "\n".join([method.upper(), raw_path, timestamp_ms,
                      hashlib.sha256(body).hexdigest()]).encode()


def sign_request(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey, kiosk_id: str,
                 method: str, raw_path: str, body: bytes, now: dt.datetime) -> dict[str, str]:
    """The headers a kiosk sends to sign one request (used by kiosk clients and tests)."""
    ts = str(int(now.timestamp() * 1000))
    message = request_message(method, raw_path, ts, body)
    sig = (key.sign(message) if isinstance(key, ed25519.Ed25519PrivateKey)
           else key.sign(message, ec.ECDSA(hashes.SHA256())))
    return {"X-Kiosk-Id": kiosk_id, "X-Kiosk-Timestamp": ts,
            "X-Kiosk-Signature": base64.b64encode(sig).decode()}


def load_device_key(pem: str) -> ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey:
    """A kiosk's public key: P-256 or Ed25519 (422 ``kiosk.key`` otherwise)."""
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError, AttributeError):
        key = None
    if isinstance(key, ed25519.Ed25519PublicKey) or (
            isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"):
        return key
    raise InvalidRequest.field("public_key_pem", "must be a PEM P-256 or Ed25519 public key",
                               "kiosk.key")


def verify_request_signature(public_key_pem: str, message: bytes, signature: bytes) -> bool:
    """True when ``signature`` over ``message`` is the kiosk's."""
    key = load_device_key(public_key_pem)
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        else:
            key.verify(_der_signature(signature), message, ec.ECDSA(hashes.SHA256()))
        return True
    except (InvalidSignature, ValueError):
        return False


def new_application_code() -> str:
    """12 characters (about 59 bits) in groups of four: ABCD-EFGH-JKMN."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalise_code(code: str) -> str:
    """Codes are typed by people: ignore case, spaces and dashes."""
    raw = "".join(c for c in code.upper() if c.isalnum())
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


@dataclasses.dataclass(frozen=True)
class KioskSession:
    """A resident identified at one kiosk: the only resident whose data it may touch."""

    kiosk_id: str
    town_code: str
    resident_id: str
    method: str
    expires_at: dt.datetime

    def public(self) -> dict[str, Any]:
        return {"kiosk_id": self.kiosk_id, "town_code": self.town_code,
                "resident_id": self.resident_id, "method": self.method,
                "expires_at": self.expires_at.isoformat()}


# ---- storage -----------------------------------------------------------------------------

def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


async def consume_challenge(conn: Any, challenge: str, kiosk_id: str, now: dt.datetime) -> None:
    """Use a challenge once; 401 ``challenge.used`` / ``challenge.expired`` / ``.unknown``."""
    # One UPDATE decides atomically: two identify calls racing on one challenge cannot
    # both see used_at IS NULL (the row lock serialises them).
    used = await conn.fetchval(
        "UPDATE kiosk_challenges SET used_at = $3 WHERE challenge = $1 AND kiosk_id = $2"
        " AND used_at IS NULL AND expires_at > $3 RETURNING true", challenge, kiosk_id, now)
    if used:
        return
    row = await conn.fetchrow("SELECT kiosk_id, used_at FROM kiosk_challenges"
                              " WHERE challenge = $1", challenge)
    if row is None or row["kiosk_id"] != kiosk_id:
        raise Unauthenticated("unknown challenge", code="challenge.unknown")
    if row["used_at"] is not None:
        raise Unauthenticated("this challenge was already used", code="challenge.used")
    raise Unauthenticated("this challenge has expired; ask for a new one", code="challenge.expired")


async def start_kiosk_session(conn: Any, *, kiosk_id: str, town_code: str, resident_id: str,
                              method: str, now: dt.datetime) -> tuple[str, KioskSession]:
    """Store a kiosk session; returns (token for ``X-Kiosk-Session``, session)."""
    token = secrets.token_urlsafe(32)
    session = KioskSession(kiosk_id, town_code, resident_id, method, now + KIOSK_SESSION_TTL)
    await conn.execute(
        "INSERT INTO kiosk_sessions (token_sha256, kiosk_id, town_code, resident_id, method,"
        " created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)", _digest(token),
        kiosk_id, town_code, resident_id, method, now, session.expires_at)
    return token, session


async def issue_code(conn: Any, *, town_code: str, resident_id: str, issued_by: str,
                     now: dt.datetime) -> tuple[str, dt.datetime]:
    """Store a one-time application code (only its digest); returns (code, expires_at)."""
    code, expires = new_application_code(), now + CODE_TTL
    await conn.execute(
        "INSERT INTO application_codes (code_sha256, town_code, resident_id, issued_by,"
        " issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        _digest(code), town_code, resident_id, issued_by, now, expires)
    return code, expires


async def redeem_code(conn: Any, code: str, kiosk_id: str, now: dt.datetime) -> tuple[str, str]:
    """Redeem a code once; returns (town code, resident id) or 401 ``code.invalid``."""
    row = await conn.fetchrow(
        "UPDATE application_codes SET redeemed_at = $3, redeemed_by = $2"
        " WHERE code_sha256 = $1 AND redeemed_at IS NULL AND expires_at > $3"
        " RETURNING town_code, resident_id", _digest(normalise_code(code)), kiosk_id, now)
    if row is None:
        # One answer for unknown, used and expired: a kiosk must not learn which codes exist.
        raise Unauthenticated("this code is not valid (unknown, expired or already used)",
                              code="code.invalid")
    return row["town_code"], row["resident_id"]


# ---- HTTP --------------------------------------------------------------------------------

KIOSK_DEVICE: web.RequestKey[str | None] = web.RequestKey("kiosk_device")
KIOSK: web.RequestKey[KioskSession | None] = web.RequestKey("kiosk_session")


def _now(request: web.Request) -> dt.datetime:
    return request.app[AUTH_POLICY].clock()


async def _verify_device(request: web.Request, kiosk_id: str) -> None:
    now, headers = _now(request), request.headers
    ts, sig = headers.get("X-Kiosk-Timestamp", ""), headers.get("X-Kiosk-Signature", "")
    if not ts.isdigit() or abs(now.timestamp() * 1000 - int(ts)) > SIGNATURE_WINDOW.total_seconds() * 1000:
        raise Unauthenticated("kiosk request timestamp missing or outside the window",
                              code="kiosk.timestamp")
    pool = request.app[POOL]
    pem = await pool.fetchval("SELECT public_key_pem FROM kiosk_devices WHERE kiosk_id = $1"
                              " AND revoked_at IS NULL", kiosk_id)
    message = request_message(request.method, request.raw_path, ts, await request.read())
    if pem is None or not verify_request_signature(pem, message, _b64(sig, "X-Kiosk-Signature")):
        raise Unauthenticated("kiosk signature refused", code="kiosk.signature")
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM kiosk_request_seen WHERE seen_at < $1",
                           now - 2 * SIGNATURE_WINDOW)
        fresh = await conn.fetchval(
            "INSERT INTO kiosk_request_seen VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true",
            hashlib.sha256(sig.encode()).digest(), now)
    if not fresh:
        raise Unauthenticated("replayed kiosk request", code="kiosk.replay")


async def _load_kiosk_session(request: web.Request, kiosk_id: str, token: str) -> KioskSession:
    row = await request.app[POOL].fetchrow(
        "SELECT town_code, resident_id, method, expires_at FROM kiosk_sessions"
        " WHERE token_sha256 = $1 AND kiosk_id = $2 AND ended_at IS NULL AND expires_at > $3",
        _digest(token), kiosk_id, _now(request))
    if row is None:
        raise Unauthenticated("kiosk session ended or unknown", code="kiosk.session")
    return KioskSession(kiosk_id, row["town_code"], row["resident_id"], row["method"],
                        row["expires_at"])


@web.middleware
async def kiosk_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Verify a signed kiosk request and load its resident session, if any."""
    request[KIOSK_DEVICE], request[KIOSK] = None, None
    kiosk_id = request.headers.get("X-Kiosk-Id")
    token = request.headers.get("X-Kiosk-Session")
    if kiosk_id:
        await _verify_device(request, kiosk_id)
        request[KIOSK_DEVICE] = kiosk_id
        if token:
            request[KIOSK] = await _load_kiosk_session(request, kiosk_id, token)
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
        raise InvalidRequest.field("body", "not valid JSON", "invalid.json") from None
    if not isinstance(body, dict):
        raise InvalidRequest.field("body", "must be a JSON object", "invalid.type")
    missing = [{"field": f, "reason": "required text", "code": "invalid.required"}
               for f in fields if not isinstance(body.get(f), str) or not body[f].strip()]
    if missing:
        raise InvalidRequest(f"required: {', '.join(fields)}", fields=missing)
    return body


@require_role("admin")
async def register_kiosk(request: web.Request) -> web.Response:
    """POST /api/v1/kiosks {kiosk_id, name, public_key_pem} (admin)."""
    body = await _json(request, "kiosk_id", "name", "public_key_pem")
    load_device_key(body["public_key_pem"])
    if not ID_PATTERN.fullmatch(body["kiosk_id"]):
        raise InvalidRequest.field("kiosk_id", "1-64 of A-Z a-z 0-9 . _ -", "kiosk.id")
    done = await request.app[POOL].fetchval(
        "INSERT INTO kiosk_devices (kiosk_id, name, public_key_pem, registered_by)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true", body["kiosk_id"],
        body["name"].strip()[:100], body["public_key_pem"], current_staff(request).staff_id)
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
        raise InvalidRequest.field("certificate_pem", "must be a PEM CA certificate", "card.ca")
    fingerprint = ca.fingerprint(hashes.SHA256()).hex()
    await request.app[POOL].execute(
        "INSERT INTO card_cas (fingerprint_sha256, subject, certificate_pem, registered_by)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", fingerprint,
        ca.subject.rfc4514_string(), body["certificate_pem"], current_staff(request).staff_id)
    return web.json_response({"fingerprint_sha256": fingerprint,
                              "subject": ca.subject.rfc4514_string()}, status=201)


async def challenge(request: web.Request) -> web.Response:
    """GET /api/v1/kiosk/challenge (signed kiosk): a fresh single-use challenge."""
    kiosk_id, now = current_device(request), _now(request)
    value = secrets.token_urlsafe(32)
    async with request.app[POOL].acquire() as conn:
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
    async with request.app[POOL].acquire() as conn, conn.transaction():
        # The challenge is spent even if the card is then refused: no second try with it.
        await consume_challenge(conn, body["challenge"], kiosk_id, now)
    trusted = [x509.load_pem_x509_certificate(r["certificate_pem"].encode())
               for r in await request.app[POOL].fetch("SELECT certificate_pem FROM card_cas")]
    town, resident = verify_card(body["card_certificate"], body["signature"],
                                 body["challenge"], trusted, now)
    async with request.app[POOL].acquire() as conn:
        return await _session_reply(request, town, resident, "card", conn)


async def redeem(request: web.Request) -> web.Response:
    """POST /api/v1/kiosk/redeem {code} (signed kiosk): start a session with a one-time code."""
    body = await _json(request, "code")
    async with request.app[POOL].acquire() as conn, conn.transaction():
        town, resident = await redeem_code(conn, body["code"], current_device(request),
                                           _now(request))
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
                                         issued_by=staff.staff_id, now=_now(request))
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
    await request.app[POOL].execute(
        "UPDATE kiosk_sessions SET ended_at = $2 WHERE token_sha256 = $1",
        _digest(request.headers["X-Kiosk-Session"]), _now(request))
    return web.json_response({"logged_out": True})


def setup_routes(app: web.Application) -> None:
    """The kiosk routes (registered by service.auth.setup_auth)."""
    app.router.add_post("/api/v1/kiosks", register_kiosk)
    app.router.add_post("/api/v1/card-cas", register_card_ca)
    app.router.add_post("/api/v1/application-codes", issue_application_code)
    app.router.add_get("/api/v1/kiosk/challenge", challenge)
    app.router.add_post("/api/v1/kiosk/identify", identify)
    app.router.add_post("/api/v1/kiosk/redeem", redeem)
    app.router.add_get("/api/v1/kiosk/me", kiosk_me)
    app.router.add_post("/api/v1/kiosk/logout", kiosk_logout)
