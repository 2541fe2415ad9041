"""Kiosk device request signatures (pure): what a kiosk signs, and checking it.

Every kiosk request is signed with the device's key (P-256 or Ed25519): ``X-Kiosk-Id``,
``X-Kiosk-Timestamp`` (ms) and ``X-Kiosk-Signature`` (base64) over
``method \\n raw path \\n timestamp \\n sha256(body)``. A timestamp outside
:data:`SIGNATURE_WINDOW` is refused (by service.kiosk.identity, which also refuses replays).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from service.errors import InvalidRequest

SIGNATURE_WINDOW = dt.timedelta(seconds=60)


def decode_base64(value: Any, field: str) -> bytes:
    """Base64 from a request field; 422 ``invalid.base64`` if it is not."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise InvalidRequest.about(field, "must be base64", "invalid.base64") from None


def der_signature(raw: bytes) -> bytes:
    """An ECDSA signature in DER, from DER or raw r||s."""
    # WebCrypto gives raw r||s (64 bytes for P-256); cryptography wants DER.
    if len(raw) == 64:
        return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    return raw


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
    raise InvalidRequest.about("public_key_pem", "must be a PEM P-256 or Ed25519 public key",
                               "kiosk.key")


def verify_request_signature(public_key_pem: str, message: bytes, signature: bytes) -> bool:
    """True when ``signature`` over ``message`` is the kiosk's."""
    key = load_device_key(public_key_pem)
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        else:
            key.verify(der_signature(signature), message, ec.ECDSA(hashes.SHA256()))
        return True
    except (InvalidSignature, ValueError):
        return False
