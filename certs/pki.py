"""Federation PKI: root CA → one CA per town (the mayor's authority) → node delegations.

A delegation certificate says "node N may sign certificates in town T's name". It is an
end-entity certificate for N's public key, issued by T's CA, carrying T's code and N's id
in a critical private extension, so a verifier checks that the CA that delegated is T's
and that the claims name T and N. Delegations are short-lived and renewed ahead of expiry.

Everything here is pure apart from the keys passed in: time (``now``) and serial numbers
come in as arguments so ceremonies and tests are reproducible.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from .errors import PkiError
from .keys import PrivateKey, PublicKey
from .numbers import validate_node_id
from .town_code import validate_town_code

# Private OIDs under a UUID arc (ITU-T X.667, 2.25.<uuid>): no registration needed.
_ARC = "2.25.31122992788610468450511199230181575966"
OID_DELEGATION = x509.ObjectIdentifier(_ARC + ".1")  # extension: SEQUENCE {town, node}
OID_EKU_CERT_SIGNING = x509.ObjectIdentifier(_ARC + ".2")  # key purpose: sign 罹災証明書
KID_LENGTH = 8  # as in the EU DCC: first 8 bytes of SHA-256 over the certificate DER


@dataclass(frozen=True)
class Delegation:
    """What a delegation certificate grants: ``node_id`` may sign for ``town_code``."""

    town_code: str
    node_id: str


def kid_of(cert: x509.Certificate) -> bytes:
    """Key id of a certificate: first 8 bytes of SHA-256 of its DER."""
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).digest()[:KID_LENGTH]


def create_root_ca(key: PrivateKey, name: str, now: datetime, validity: timedelta, serial: int) -> x509.Certificate:
    """Self-signed federation root (kept offline); may sign town CAs only (path length 1)."""
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, "Federation root CA"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, _fit(name)),
    ])
    builder = _base(subject, subject, key.public_key(), now, validity, serial)
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
    builder = builder.add_extension(_ca_usage(), critical=True)
    return _sign(builder, key)


def create_town_ca(
    root_key: PrivateKey, root: x509.Certificate, public_key: PublicKey, town_code: str, town_name: str,
    now: datetime, validity: timedelta, serial: int,
) -> x509.Certificate:
    """CA of one town, signed by the root. The town code is the subject serialNumber."""
    validate_town_code(town_code)
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, f"{town_name} CA"),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, town_code),
    ])
    builder = _base(subject, root.subject, public_key, now, validity, serial)
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
    builder = builder.add_extension(_ca_usage(), critical=True)
    return _sign(builder, root_key)


def create_delegation(
    town_key: PrivateKey, town_ca: x509.Certificate, node_public_key: PublicKey, node_id: str,
    now: datetime, validity: timedelta, serial: int,
) -> x509.Certificate:
    """Delegation from ``town_ca``'s town to ``node_id`` for ``node_public_key``."""
    validate_node_id(node_id)
    town_code = town_code_of(town_ca)
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, node_id),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, town_code),
    ])
    builder = _base(subject, town_ca.subject, node_public_key, now, validity, serial)
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    builder = builder.add_extension(usage, critical=True)
    builder = builder.add_extension(x509.ExtendedKeyUsage([OID_EKU_CERT_SIGNING]), critical=True)
    value = _encode_delegation(town_code, node_id)
    # Critical: software that does not understand delegations must not accept this cert.
    builder = builder.add_extension(x509.UnrecognizedExtension(OID_DELEGATION, value), critical=True)
    return _sign(builder, town_key)


def town_code_of(ca: x509.Certificate) -> str:
    """Town code from a town CA's subject serialNumber."""
    values = ca.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    if len(values) != 1:
        raise PkiError("pki.town_code", "certificate has no single town code in its subject", "certificate")
    return validate_town_code(str(values[0].value))


@functools.lru_cache(maxsize=4096)  # pure in the certificate; verify asks once per QR
def delegation_of(cert: x509.Certificate) -> Delegation:
    """Read the delegation extension; raise PkiError if absent or malformed."""
    try:
        ext = cert.extensions.get_extension_for_oid(OID_DELEGATION)
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
        raise PkiError("pki.not_delegation", "certificate is not a delegation certificate", "certificate") from None
    if OID_EKU_CERT_SIGNING not in eku:
        raise PkiError("pki.not_delegation", "certificate lacks the certificate-signing key purpose", "certificate")
    town_code, node_id = _decode_delegation(ext.value.value)
    return Delegation(validate_town_code(town_code), validate_node_id(node_id))


@functools.lru_cache(maxsize=4096)  # pure in both certificates: the chain is checked once, not per QR
def issued_by(child: x509.Certificate, parent: x509.Certificate, *, must_be_ca: bool = True) -> str | None:
    """None if ``parent`` issued ``child`` and may issue certificates, else the reason."""
    try:
        constraints = parent.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if must_be_ca and (constraints is None or not constraints.ca):
        return "issuer is not a CA"
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError) as exc:  # name mismatch or unsupported algorithm
        return f"not issued by {parent.subject.rfc4514_string()}: {exc}"
    except InvalidSignature:
        return "signature by issuer does not verify"
    return None


def within_validity(cert: x509.Certificate, at: datetime) -> bool:
    """True if ``at`` lies within the certificate's notBefore..notAfter (inclusive)."""
    return cert.not_valid_before_utc <= at <= cert.not_valid_after_utc


def _base(subject, issuer, public_key, now, validity, serial) -> x509.CertificateBuilder:
    if now.tzinfo is None:
        raise PkiError("pki.naive_time", "now must be timezone-aware", "now")
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(now)
        .not_valid_after(now + validity)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _fit(text: str) -> str:
    # X.509 caps name attributes at 64 (UTF-8 bytes as cryptography counts them).
    while len(text.encode()) > 64:
        text = text[:-1]
    return text


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(False, False, False, False, False, True, True, False, False)


def _sign(builder: x509.CertificateBuilder, key: PrivateKey) -> x509.Certificate:
    # RFC 6979 deterministic ECDSA: no dependence on the random source at signing time, and
    # the same inputs give the same DER (reproducible ceremonies and test vectors).
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return builder.sign(key, None)
    return builder.sign(key, hashes.SHA256(), ecdsa_deterministic=True)


def _encode_delegation(town_code: str, node_id: str) -> bytes:
    # DER: SEQUENCE { UTF8String town, UTF8String node }. Both are short (6 and <= 63
    # ASCII chars), so every length fits the one-byte short form.
    body = b"".join(b"\x0c" + bytes([len(s)]) + s.encode() for s in (town_code, node_id))
    return b"\x30" + bytes([len(body)]) + body


def _decode_delegation(value: bytes) -> tuple[str, str]:
    try:
        if value[0] != 0x30 or value[1] != len(value) - 2:
            raise ValueError("not a short SEQUENCE")
        parts, pos = [], 2
        while pos < len(value):
            if value[pos] != 0x0C or value[pos + 1] >= 0x80:
                raise ValueError("not a short UTF8String")
            end = pos + 2 + value[pos + 1]
            parts.append(value[pos + 2:end].decode("ascii"))
            pos = end
        if len(parts) != 2 or pos != len(value):
            raise ValueError("expected two strings")
    except (IndexError, ValueError, UnicodeDecodeError) as exc:
        raise PkiError("pki.delegation_malformed", f"malformed delegation extension: {exc}", "certificate") from None
    return parts[0], parts[1]
