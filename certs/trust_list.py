"""Signed, versioned trust list: what an offline verifier needs and nothing else.

Contents: the federation root, each town's CA (with name and mayor), every delegation
certificate ever issued (old certificates stay verifiable after a delegation expires),
revoked delegation kids and revoked certificate numbers, a version that only grows, and
the time it was issued, and the kids of the keys that may sign status lists
(``status_list_signers``; see status_list.py). The bundle is CBOR signed by the root key as a COSE_Sign1, the
same envelope as the certificates, so a verifier needs one parser. The root key is
offline: the trust list changes only in a ceremony (init, renew, revoke).

``status_list_signers`` is a later addition: a trust list written before it has no such
key, still parses, and allows no status-list signer (so every status is "unknown").
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from .cose import parse_sign1, sign1
from .errors import CertsError, TrustListError
from .keys import PrivateKey, SoftwareSigner, verify_signature
from .model import Town
from .pki import kid_of

FORMAT = 1
MAX_TRUST_LIST_BYTES = 16 * 1024 * 1024  # thousands of delegations fit; bounds a hostile file


@dataclass(frozen=True)
class TownEntry(Town):
    """A town of the federation (certs.model.Town) and its CA (the mayor's authority)."""

    ca: x509.Certificate


@dataclass(frozen=True)
class Revocation:
    """A revoked delegation (``subject`` = kid hex) or certificate (``subject`` = 整理番号)."""

    subject: str
    reason: str
    revoked_at: datetime


@dataclass(frozen=True)
class TrustList:
    """The trust list content; see the module docstring."""

    version: int
    issued_at: datetime
    federation: str
    root: x509.Certificate
    towns: tuple[TownEntry, ...]
    delegations: tuple[x509.Certificate, ...]
    revoked_keys: tuple[Revocation, ...] = ()
    revoked_certificates: tuple[Revocation, ...] = ()
    status_list_signers: tuple[bytes, ...] = ()  # delegation kids whose key may sign status lists
    _by_kid: dict = field(default=None, compare=False, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_kid", {kid_of(cert): cert for cert in self.delegations})

    def delegation(self, kid: bytes) -> x509.Certificate | None:
        """The delegation certificate with this kid, if listed."""
        return self._by_kid.get(kid)

    def town(self, code: str) -> TownEntry | None:
        """The town entry for a town code, if listed."""
        return next((t for t in self.towns if t.code == code), None)

    def key_revocation(self, kid: bytes) -> Revocation | None:
        """The revocation of a delegation kid, if any."""
        return next((r for r in self.revoked_keys if r.subject == kid.hex()), None)

    def certificate_revocation(self, number: str) -> Revocation | None:
        """The revocation of a certificate number, if any."""
        return next((r for r in self.revoked_certificates if r.subject == number), None)

    def may_sign_status_lists(self, kid: bytes) -> bool:
        """True if the trust list names ``kid`` as a status-list signer (revocation not checked)."""
        return kid in self.status_list_signers

    def age(self, now: datetime) -> timedelta:
        """How old this trust list is at ``now`` (negative if issued in the future)."""
        return now - self.issued_at


def sign_trust_list(trust_list: TrustList, root_key: PrivateKey) -> bytes:
    """Serialise and sign with the root key; returns COSE_Sign1 bytes."""
    return sign1(cbor2.dumps(_to_cbor(trust_list), canonical=True), SoftwareSigner(root_key, kid_of(trust_list.root)))


def parse_trust_list(data: bytes, anchor: x509.Certificate | None = None) -> TrustList:
    """Verify and parse a signed trust list.

    ``anchor`` is the pinned federation root. Without it the embedded root is used, which
    proves integrity but not origin; verifiers should pin the root they were given.
    """
    try:
        message = parse_sign1(data, MAX_TRUST_LIST_BYTES)
        trust_list = _from_cbor(cbor2.loads(message.payload))
    except CertsError as exc:
        raise TrustListError("trust_list.malformed", f"trust list is malformed: {exc.message}", "trust_list") from None
    except Exception as exc:  # untrusted bytes: x509/cbor2 parsers raise several types
        raise TrustListError("trust_list.malformed", f"trust list is malformed: {type(exc).__name__}", "trust_list") from None
    root = anchor or trust_list.root
    if anchor is not None and anchor != trust_list.root:
        raise TrustListError("trust_list.anchor", "trust list root is not the pinned root", "trust_list")
    if message.kid != kid_of(root) or not verify_signature(root.public_key(), message.alg, message.to_be_signed(), message.signature):
        raise TrustListError("trust_list.signature", "trust list signature does not verify", "trust_list")
    return trust_list


def save_trust_list(path: Path, signed: bytes) -> None:
    """Atomically replace ``path`` with signed trust list bytes.

    Write to a temporary file, fsync, then rename: a reader never sees half a trust list,
    and a crash leaves either the old or the new one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(signed)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def load_trust_list(path: Path, anchor: x509.Certificate | None = None) -> TrustList:
    """Read and verify a trust list file (see parse_trust_list)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TrustListError("trust_list.unreadable", f"cannot read {path}: {exc.strerror}", "trust_list") from None
    return parse_trust_list(data, anchor)


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


def _to_cbor(t: TrustList) -> dict:
    return {
        "format": FORMAT,
        "version": t.version,
        "issued_at": int(t.issued_at.timestamp()),
        "federation": t.federation,
        "root": _der(t.root),
        "towns": [[e.code, e.name, e.mayor, _der(e.ca)] for e in t.towns],
        "delegations": [_der(c) for c in t.delegations],
        "revoked_keys": [[r.subject, r.reason, int(r.revoked_at.timestamp())] for r in t.revoked_keys],
        "revoked_certificates": [[r.subject, r.reason, int(r.revoked_at.timestamp())] for r in t.revoked_certificates],
        "status_list_signers": list(t.status_list_signers),
    }


def _from_cbor(obj: dict) -> TrustList:
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ValueError("unknown trust list format")
    load = x509.load_der_x509_certificate

    def revocations(rows: list) -> tuple[Revocation, ...]:
        return tuple(Revocation(str(s), str(r), _time(at)) for s, r, at in rows)

    return TrustList(
        version=int(obj["version"]),
        issued_at=_time(obj["issued_at"]),
        federation=str(obj["federation"]),
        root=load(obj["root"]),
        towns=tuple(TownEntry(str(c), str(n), str(m), load(der)) for c, n, m, der in obj["towns"]),
        delegations=tuple(load(der) for der in obj["delegations"]),
        revoked_keys=revocations(obj["revoked_keys"]),
        revoked_certificates=revocations(obj["revoked_certificates"]),
        status_list_signers=_kids(obj.get("status_list_signers", [])),  # absent in older lists
    )


def _kids(values: list) -> tuple[bytes, ...]:
    if not isinstance(values, list) or not all(type(v) is bytes for v in values):
        raise ValueError("status_list_signers must be a list of byte strings")
    return tuple(values)


def _time(value: int) -> datetime:
    if type(value) is not int:
        raise ValueError("time must be an int")
    return datetime.fromtimestamp(value, timezone.utc)
