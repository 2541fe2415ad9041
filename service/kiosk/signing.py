"""Kiosk device request signatures (pure): what a kiosk signs, and checking it.

Every kiosk request is signed with the device's key (P-256 or Ed25519): ``X-Kiosk-Id``,
``X-Kiosk-Timestamp`` (ms), ``X-Kiosk-Nonce`` (16 random bytes, hex) and
``X-Kiosk-Signature`` (base64) over ``method \\n raw path \\n timestamp \\n nonce \\n
sha256(body)``. A timestamp outside :data:`SIGNATURE_WINDOW` is refused, and so is a
(kiosk, timestamp, nonce) seen before (by service.kiosk.devices). The replay key is the
nonce, not the signature: a signer may be deterministic (RFC 6979) and ECDSA signatures
are malleable, so neither says whether a request is new.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
import secrets
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from certs.keys import SoftwareSigner, alg_of, raw_signature, verify_signature
from service.errors import InvalidRequest

SIGNATURE_WINDOW = dt.timedelta(seconds=60)


def decode_base64(value: Any, field: str) -> bytes:
    """Base64 from a request field; 422 ``invalid.base64`` if it is not."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise InvalidRequest.about(field, "must be base64", "invalid.base64") from None


NONCE = re.compile(r"[0-9a-f]{32}")


def request_message(method: str, raw_path: str, timestamp_ms: str, nonce: str, body: bytes) -> bytes:
    """The bytes a kiosk signs for one request."""
    return "\n".join([method.upper(), raw_path, timestamp_ms, nonce,
                      hashlib.sha256(body).hexdigest()]).encode()


def sign_request(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey, kiosk_id: str,
                 method: str, raw_path: str, body: bytes, now: dt.datetime) -> dict[str, str]:
    """The headers a kiosk sends to sign one request (used by kiosk clients and tests)."""
    ts, nonce = str(int(now.timestamp() * 1000)), secrets.token_hex(16)
    sig = SoftwareSigner(key, kid=b"").sign(request_message(method, raw_path, ts, nonce, body))
    return {"X-Kiosk-Id": kiosk_id, "X-Kiosk-Timestamp": ts, "X-Kiosk-Nonce": nonce,
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
    raise InvalidRequest.about("public_key_pem", "must be a PEM P-256 or Ed25519 public key",
                               "kiosk.key")


def verify_request_signature(public_key_pem: str, message: bytes, signature: bytes) -> bool:
    """True when ``signature`` (raw r||s as WebCrypto gives it, or DER) over ``message`` is the kiosk's."""
    key = load_device_key(public_key_pem)
    alg = alg_of(key)
    try:
        return verify_signature(key, alg, message, raw_signature(alg, signature))
    except ValueError:  # neither raw nor DER
        return False
