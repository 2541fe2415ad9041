"""Signed event envelopes, pure (no I/O), independent of certs/.

The envelope is a JWS compact serialization (RFC 7515)::

    BASE64URL(header) "." BASE64URL(payload) "." BASE64URL(signature)

with ``header = canonical_json({"alg": alg, "kid": BASE64URL(kid)})`` and no padding.
The signature covers ``BASE64URL(header) "." BASE64URL(payload)`` (the JWS signing input),
so alg and kid are signed too. ``alg`` is ``"ES256"`` (ECDSA P-256 with SHA-256, signature
as raw ``r || s``, 64 bytes, as JWS requires) or ``"EdDSA"`` (Ed25519, RFC 8037).
The payload is the event's canonical JSON (events.encode).

Signers are any object with ``kid: bytes``, ``alg: str`` and ``sign(data) -> bytes``; an
ES256 signer may return DER or raw r||s, both are accepted. Verifiers pass a
``key_lookup(kid) -> public key | None`` callable (the trust list, in production).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from replication.errors import BadSignature, MalformedEvent
from replication.events import canonical_json

ALGORITHMS = ("ES256", "EdDSA")
KeyLookup = Callable[[bytes], Any]


class Signer(Protocol):
    """What envelope.seal needs from a node key (software, certs/ or PKCS#11)."""

    kid: bytes
    alg: str

    def sign(self, data: bytes) -> bytes: ...


def b64url(data: bytes) -> bytes:
    """Base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def b64url_decode(data: bytes) -> bytes:
    """Inverse of b64url; raises MalformedEvent on bad input."""
    try:
        return base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedEvent(f"bad base64url: {exc}") from None


def _raw_es256(sig: bytes) -> bytes:
    if len(sig) == 64:
        return sig
    r, s = decode_dss_signature(sig)  # a DER signature from cryptography or an HSM
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def seal(signer: Signer, payload: bytes) -> bytes:
    """Sign ``payload`` with ``signer`` and return the envelope bytes."""
    if signer.alg not in ALGORITHMS:
        raise ValueError(f"unsupported alg {signer.alg!r}")
    header = canonical_json({"alg": signer.alg, "kid": b64url(signer.kid).decode()})
    signing_input = b64url(header) + b"." + b64url(payload)
    sig = signer.sign(signing_input)
    if signer.alg == "ES256":
        sig = _raw_es256(sig)
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
    _verify(alg, key, b64url_decode(sig_b64), header_b64 + b"." + payload_b64)
    return Opened(b64url_decode(payload_b64), kid, alg)


def _verify(alg: str, key: Any, sig: bytes, signing_input: bytes) -> None:
    # The key type must match the header's alg, so a forged header cannot pick a weaker
    # verification path for a key (algorithm confusion).
    try:
        if alg == "ES256" and isinstance(key, ec.EllipticCurvePublicKey):
            if not isinstance(key.curve, ec.SECP256R1) or len(sig) != 64:
                raise BadSignature("ES256 needs a P-256 key and a 64-byte signature")
            der = encode_dss_signature(int.from_bytes(sig[:32]), int.from_bytes(sig[32:]))
            key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
        elif alg == "EdDSA" and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(sig, signing_input)
        else:
            raise BadSignature(f"alg {alg!r} does not match key type {type(key).__name__}")
    except InvalidSignature:
        raise BadSignature("signature does not verify") from None


def key_id(public_key: Any) -> bytes:
    """A kid for a public key: the first 8 bytes of SHA-256 over its SubjectPublicKeyInfo."""
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()[:8]


class SoftwareSigner:
    """An in-memory key for tests and development (ES256 or EdDSA)."""

    def __init__(self, private_key: Any, alg: str) -> None:
        self._key = private_key
        self.alg = alg
        self.kid = key_id(private_key.public_key())

    @classmethod
    def generate(cls, alg: str = "ES256") -> "SoftwareSigner":
        """A fresh random key of the given algorithm."""
        if alg == "ES256":
            return cls(ec.generate_private_key(ec.SECP256R1()), alg)
        if alg == "EdDSA":
            return cls(ed25519.Ed25519PrivateKey.generate(), alg)
        raise ValueError(f"unsupported alg {alg!r}")

    def public_key(self) -> Any:
        """The matching public key (what a trust list would publish)."""
        return self._key.public_key()

    def sign(self, data: bytes) -> bytes:
        """Sign; ES256 returns DER (seal converts it to raw r||s)."""
        if self.alg == "ES256":
            return self._key.sign(data, ec.ECDSA(hashes.SHA256()))
        return self._key.sign(data)


def static_key_lookup(*signers: SoftwareSigner) -> KeyLookup:
    """A key_lookup over a fixed set of software signers (tests, dev federation)."""
    keys = {s.kid: s.public_key() for s in signers}
    return keys.get
