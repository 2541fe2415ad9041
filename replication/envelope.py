"""Signed event envelopes, pure (no I/O).

The envelope is a JWS compact serialization (RFC 7515)::

    BASE64URL(header) "." BASE64URL(payload) "." BASE64URL(signature)

with ``header = canonical_json({"alg": alg, "kid": BASE64URL(kid)})`` and no padding.
The signature covers ``BASE64URL(header) "." BASE64URL(payload)`` (the JWS signing input),
so alg and kid are signed too. ``alg`` is ``"ES256"`` (ECDSA P-256 with SHA-256, signature
as raw ``r || s``, 64 bytes, as JWS requires) or ``"EdDSA"`` (Ed25519, RFC 8037).
The payload is the event's canonical JSON (events.encode).

Signing and verifying go through the federation's one signer, certs.keys (a
``certs.keys.Signer``: software, or a PKCS#11 token). Verifiers pass a
``key_lookup(kid) -> public key | None`` callable (the trust list, in production).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Callable

from certs.errors import KeyFileError
from certs.keys import ALGORITHMS, Signer, SoftwareSigner, alg_of, raw_signature, verify_signature
from replication.errors import BadSignature, MalformedEvent
from replication.events import canonical_json

KeyLookup = Callable[[bytes], Any]


def b64url(data: bytes) -> bytes:
    """Base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def b64url_decode(data: bytes) -> bytes:
    """Inverse of b64url; raises MalformedEvent on bad input."""
    try:
        return base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedEvent(f"bad base64url: {exc}") from None


def seal(signer: Signer, payload: bytes) -> bytes:
    """Sign ``payload`` with ``signer`` and return the envelope bytes."""
    if signer.alg not in ALGORITHMS:
        raise ValueError(f"unsupported alg {signer.alg!r}")
    header = canonical_json({"alg": signer.alg, "kid": b64url(signer.kid).decode()})
    signing_input = b64url(header) + b"." + b64url(payload)
    sig = raw_signature(signer.alg, signer.sign(signing_input))  # a PKCS#11 token may give DER
    return signing_input + b"." + b64url(sig)


@dataclass(frozen=True)
class Opened:
    """A verified envelope: the payload and who signed it."""

    payload: bytes
    kid: bytes
    alg: str


def open_envelope(data: bytes, key_lookup: KeyLookup) -> Opened:
    """Verify an envelope and return its payload; raises BadSignature or MalformedEvent."""
    parts = data.split(b".")
    if len(parts) != 3:
        raise BadSignature("not a signed envelope (expected header.payload.signature)")
    header_b64, payload_b64, sig_b64 = parts
    if not sig_b64:
        raise BadSignature("unsigned envelope")
    try:
        header = json.loads(b64url_decode(header_b64))
        alg, kid = header["alg"], b64url_decode(header["kid"].encode())
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BadSignature(f"bad envelope header: {exc!r}") from None
    key = key_lookup(kid)
    if key is None:
        raise BadSignature(f"unknown kid {kid.hex()}")
    if alg != _alg_of(key):
        raise BadSignature(f"alg {alg!r} does not match key type {type(key).__name__}")
    if not verify_signature(key, alg, header_b64 + b"." + payload_b64, b64url_decode(sig_b64)):
        raise BadSignature("signature does not verify")
    return Opened(b64url_decode(payload_b64), kid, alg)


def _alg_of(key: Any) -> str | None:
    try:
        return alg_of(key)
    except KeyFileError:  # a key type or curve the federation does not use
        return None


def static_key_lookup(*signers: SoftwareSigner) -> KeyLookup:
    """A key_lookup over a fixed set of software signers (tests, dev federation)."""
    keys = {s.kid: s.public_key() for s in signers}
    return keys.get
