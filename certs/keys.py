"""Signing keys: algorithms, key files, and the Signer port: the federation's one signer.

Certificates (COSE), replication envelopes (JWS) and kiosk request signatures all sign and
verify through this module. Algorithm agility: ES256 (ECDSA P-256 with SHA-256, the
default, as in the EU DCC) and EdDSA (Ed25519) are chosen per key. COSE and JWS both want
ECDSA signatures as raw r||s (64 bytes), not DER, so the conversion lives here, next to the
only code that signs and verifies.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from .errors import KeyFileError

ES256 = "ES256"
EDDSA = "EdDSA"
ALGORITHMS = (ES256, EDDSA)
COSE_ALG_IDS = {ES256: -7, EDDSA: -8}  # RFC 9053 registry values
COSE_ALG_NAMES = {v: k for k, v in COSE_ALG_IDS.items()}

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


@runtime_checkable
class Signer(Protocol):
    """What issuing needs from a key: its key id, its COSE algorithm name, and signing.

    A PKCS#11 token implements the same three members, so the key never has to leave it.
    """

    kid: bytes
    alg: str

    def sign(self, data: bytes) -> bytes:
        """Sign ``data``; ES256 returns raw r||s (64 bytes), EdDSA 64 bytes."""
        ...


def generate_private_key(alg: str = ES256) -> PrivateKey:
    """Fresh private key for ``alg`` (uses the OS random source)."""
    if alg == ES256:
        return ec.generate_private_key(ec.SECP256R1())
    if alg == EDDSA:
        return ed25519.Ed25519PrivateKey.generate()
    raise KeyFileError("key.alg", f"unsupported algorithm {alg!r}; use one of {ALGORITHMS}", "alg")


def alg_of(key: PrivateKey | PublicKey) -> str:
    """COSE algorithm name for a private or public key."""
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        if not isinstance(key.curve, ec.SECP256R1):
            raise KeyFileError("key.curve", f"only P-256 is supported, got {key.curve.name}", "alg")
        return ES256
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return EDDSA
    raise KeyFileError("key.type", f"unsupported key type {type(key).__name__}", "alg")


def key_id(public_key: PublicKey) -> bytes:
    """A kid for a bare public key: the first 8 bytes of SHA-256 over its SubjectPublicKeyInfo."""
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).digest()[:8]


class SoftwareSigner:
    """A Signer over a private key held in this process.

    ``kid`` defaults to :func:`key_id` of the public key (development and test keys that no
    delegation certificate names).
    """

    def __init__(self, private_key: PrivateKey, kid: bytes | None = None) -> None:
        self.alg = alg_of(private_key)
        self.kid = key_id(private_key.public_key()) if kid is None else bytes(kid)
        self._key = private_key

    @classmethod
    def generate(cls, alg: str = ES256) -> "SoftwareSigner":
        """A signer over a fresh random key of ``alg``."""
        return cls(generate_private_key(alg))

    def public_key(self) -> PublicKey:
        """The matching public key (what a trust list would publish)."""
        return self._key.public_key()

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` in COSE form."""
        if self.alg == EDDSA:
            return self._key.sign(data)
        # RFC 6979 deterministic nonces: a weak random source at signing time cannot leak the
        # key, and the same input gives the same signature (reproducible test vectors).
        r, s = decode_dss_signature(self._key.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True)))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def __repr__(self) -> str:  # never print key material
        return f"SoftwareSigner(alg={self.alg!r}, kid={self.kid.hex()!r})"


def raw_signature(alg: str, signature: bytes) -> bytes:
    """A signature in COSE/JWS form: ES256 DER (WebCrypto gives raw, HSMs and cryptography
    give DER) becomes raw r||s; a 64-byte ES256 signature and EdDSA pass unchanged.

    Raises ValueError when an ES256 signature is neither raw nor DER.
    """
    if alg != ES256 or len(signature) == 64:
        return signature
    r, s = decode_dss_signature(signature)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def verify_signature(public_key: PublicKey, alg: str, data: bytes, signature: bytes) -> bool:
    """True if ``signature`` (COSE form) over ``data`` verifies with ``public_key`` and ``alg``.

    The key type must match ``alg``, so a forged header cannot pick a weaker verification
    path for a key (algorithm confusion).
    """
    try:
        if alg != alg_of(public_key) or len(signature) != 64:
            return False
        if alg == EDDSA:
            public_key.verify(signature, data)
        else:
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            public_key.verify(der, data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, KeyFileError):
        return False
    return True


def save_private_key(path: Path, key: PrivateKey) -> None:
    """Write ``key`` as unencrypted PKCS#8 PEM, readable by the owner only (0600).

    The file is created with 0600 from the start (not chmod-ed afterwards, which would leave
    a window), must not already exist (no silent key replacement), and is fsync-ed so a
    crash right after a ceremony does not leave an empty key file.
    """
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError("key.exists", f"refusing to overwrite existing key file {path}", "path") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())


def load_private_key(path: Path) -> PrivateKey:
    """Read a private key written by save_private_key; refuse group/world-readable files."""
    try:
        mode = path.stat().st_mode
        if mode & 0o077:
            raise KeyFileError("key.permissions", f"{path} is accessible by others (mode {mode & 0o777:o})", "path")
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise KeyFileError("key.unreadable", f"cannot read key file {path}: {exc.strerror}", "path") from None
    except ValueError:
        raise KeyFileError("key.malformed", f"{path} is not a PEM private key", "path") from None
    alg_of(key)  # reject unsupported key types early
    return key


def public_key_pem(key: PrivateKey | PublicKey) -> bytes:
    """SubjectPublicKeyInfo PEM of a key (public part only)."""
    public = key.public_key() if hasattr(key, "private_bytes") else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
