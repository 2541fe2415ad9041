"""Kiosk devices (DESIGN 6): registering one, and checking the signed requests they make.

A kiosk is a device with its own key (P-256 or Ed25519), registered by an admin or enrolled
(service.kiosk.enrolment). Every kiosk request is signed (service.kiosk.signing); a timestamp
outside ±60 s, or a (kiosk, timestamp, nonce) already seen, is refused.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from typing import Any

from service.counter.records import ID_PATTERN
from service.errors import Conflict, InvalidRequest, Unauthenticated
from service.kiosk.sessions import KioskSession, token_digest
from service.kiosk.signing import (
    NONCE,
    SIGNATURE_WINDOW,
    decode_base64,
    load_device_key,
    request_message,
    verify_request_signature,
)
from service.storage import kiosk_devices


def check_kiosk_id(kiosk_id: str) -> None:
    """422 ``kiosk.id`` unless the id is 1-64 of A-Z a-z 0-9 . _ -."""
    if not ID_PATTERN.fullmatch(kiosk_id):
        raise InvalidRequest.about("kiosk_id", "1-64 of A-Z a-z 0-9 . _ -", "kiosk.id")


async def register_device(conn: Any, *, kiosk_id: str, name: str, public_key_pem: str,
                          centre: Any, registered_by: str) -> None:
    """Register a kiosk by its public key (admin); 409 ``kiosk.exists`` if the id is taken."""
    if centre is not None and (not isinstance(centre, str) or not centre.strip()):
        raise InvalidRequest.about("centre", "must be non-blank text (the evacuation centre)", "invalid.type")
    load_device_key(public_key_pem)
    check_kiosk_id(kiosk_id)
    if not await kiosk_devices.register_device(conn, kiosk_id=kiosk_id, name=name.strip()[:100],
                                               public_key_pem=public_key_pem, registered_by=registered_by,
                                               centre=centre.strip()[:100] if centre else None):
        raise Conflict(f"kiosk {kiosk_id} is already registered", code="kiosk.exists")


@dataclasses.dataclass(frozen=True)
class SignedRequest:
    """What a signed kiosk request's headers say (as sent, unchecked)."""

    kiosk_id: str
    timestamp: str
    nonce: str
    signature: str


def check_freshness(signed: SignedRequest, now: dt.datetime) -> None:
    """401 ``kiosk.timestamp`` / ``kiosk.nonce`` unless the request is inside the window and
    carries a well-formed nonce (checked before the body is read)."""
    ts = signed.timestamp
    if not ts.isdigit() or abs(now.timestamp() * 1000 - int(ts)) > SIGNATURE_WINDOW.total_seconds() * 1000:
        raise Unauthenticated("kiosk request timestamp missing or outside the window",
                              code="kiosk.timestamp")
    if not NONCE.fullmatch(signed.nonce):
        raise Unauthenticated("X-Kiosk-Nonce must be 32 lower-case hex digits (16 random bytes)",
                              code="kiosk.nonce")


def signed_message(signed: SignedRequest, method: str, raw_path: str, body: bytes) -> tuple[bytes, bytes]:
    """(the message the kiosk signed, its signature decoded); 422 ``invalid.base64``."""
    message = request_message(method, raw_path, signed.timestamp, signed.nonce, body)
    return message, decode_base64(signed.signature, "X-Kiosk-Signature")


async def verify_signed(conn: Any, signed: SignedRequest, message: bytes, signature: bytes,
                        token: str | None, now: dt.datetime) -> tuple[str, KioskSession | None]:
    """Check the signature and the nonce, and load the kiosk session of ``token`` (if given), on
    one connection; returns (the kiosk's centre, its session). 401 ``kiosk.signature``,
    ``kiosk.replay``, ``kiosk.session``."""
    row = await kiosk_devices.device_and_session(conn, signed.kiosk_id, token_digest(token) if token else b"", now)
    if row is None or not verify_request_signature(row["public_key_pem"], message, signature):
        raise Unauthenticated("kiosk signature refused", code="kiosk.signature")
    request_key = hashlib.sha256(f"{signed.kiosk_id}\n{signed.timestamp}\n{signed.nonce}".encode()).digest()
    if not await kiosk_devices.first_sight(conn, request_key, now, 2 * SIGNATURE_WINDOW):
        raise Unauthenticated("replayed kiosk request", code="kiosk.replay")
    if token is None:
        return row["centre"], None
    if row["town_code"] is None:
        raise Unauthenticated("kiosk session ended or unknown", code="kiosk.session")
    return row["centre"], KioskSession(signed.kiosk_id, row["town_code"], row["resident_id"], row["method"],
                                       row["expires_at"])
