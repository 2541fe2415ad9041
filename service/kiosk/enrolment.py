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
unauthenticated requests cannot fill the table. The handlers are service.api.kiosk_enrolment.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization

from service.counter import codes
from service.errors import Conflict, InvalidRequest, NotFound, Unavailable
from service.kiosk.devices import check_kiosk_id
from service.kiosk.sessions import token_digest
from service.kiosk.signing import load_device_key
from service.storage import kiosk_devices

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


async def request_enrolment(conn: Any, pem: str, now: dt.datetime) -> dict[str, Any]:
    """A kiosk asks to be enrolled (in the caller's transaction); 503 ``kiosk.enrolment_busy``
    when MAX_PENDING requests already wait."""
    print_ = fingerprint(pem)
    enrolment_id, pairing = secrets.token_urlsafe(16), _pairing_code()
    if not await kiosk_devices.add_enrolment(conn, enrolment_id=enrolment_id,
                                             pairing_digest=token_digest(codes.code_key(pairing)),
                                             public_key_pem=pem, now=now, expires_at=now + ENROLMENT_TTL,
                                             max_pending=MAX_PENDING):
        raise Unavailable("too many kiosk enrolments are waiting; try again later",
                          code="kiosk.enrolment_busy")
    return {"enrolment_id": enrolment_id, "pairing_code": pairing, "fingerprint": print_,
            "expires_at": (now + ENROLMENT_TTL).isoformat()}


async def enrolment_status(conn: Any, enrolment_id: str, now: dt.datetime) -> dict[str, Any]:
    """Pending, approved (with the kiosk id and centre) or expired; 404 ``kiosk.enrolment_unknown``."""
    row = await kiosk_devices.enrolment(conn, enrolment_id)
    if row is None:
        raise NotFound("no such enrolment", code="kiosk.enrolment_unknown")
    if row["kiosk_id"] is not None:
        return {"status": "approved", "kiosk_id": row["kiosk_id"], "centre": row["centre"]}
    return {"status": "expired" if row["expires_at"] <= now else "pending"}


async def _waiting(conn: Any, pairing_code: str, now: dt.datetime, *, lock: bool = False) -> dict[str, Any]:
    row = await kiosk_devices.waiting_enrolment(conn, token_digest(codes.code_key(pairing_code)), now, lock=lock)
    if row is None:
        raise InvalidRequest.about("pairing_code", "no kiosk is waiting with this code (wrong or expired)",
                                   "kiosk.pairing")
    return row


async def preview_enrolment(conn: Any, pairing_code: str, now: dt.datetime) -> dict[str, Any]:
    """The waiting key's fingerprint, to compare with the one on the kiosk's screen before approving."""
    row = await _waiting(conn, pairing_code, now)
    return {"fingerprint": fingerprint(row["public_key_pem"]), "requested_at": row["requested_at"].isoformat()}


async def approve_enrolment(conn: Any, *, pairing_code: str, kiosk_id: str, name: str, centre: str,
                            approved_by: str, now: dt.datetime) -> dict[str, Any]:
    """Register the waiting kiosk under ``kiosk_id`` with its stored key (supervisor), in the
    caller's transaction; 409 ``kiosk.exists`` if the id is taken."""
    check_kiosk_id(kiosk_id)
    row = await _waiting(conn, pairing_code, now, lock=True)
    if not await kiosk_devices.register_device(conn, kiosk_id=kiosk_id, name=name.strip()[:100],
                                               public_key_pem=row["public_key_pem"], registered_by=approved_by,
                                               centre=centre.strip()[:100]):
        raise Conflict(f"kiosk {kiosk_id} is already registered", code="kiosk.exists")
    await kiosk_devices.mark_approved(conn, row["enrolment_id"], kiosk_id=kiosk_id, approved_by=approved_by, now=now)
    return {"kiosk_id": kiosk_id, "fingerprint": fingerprint(row["public_key_pem"])}
