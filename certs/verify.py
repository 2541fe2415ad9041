"""Offline verification of a certificate against a trust list, with every reason.

Each check yields pass, fail or skipped (could not be checked, e.g. everything after a
format failure). Malformed input never raises: it fails the ``format`` check. Time comes in
as ``now``.

The verdict word (``Verdict.word``, the same six words as the web verifier) follows the
order of checks in docs/certs.md: any failure of format, signature, chain, delegation,
validity or printed boxes → 無効; then revoked (trust list or status) → 失効; superseded →
差替え; under review → 確認中; no usable status (no status source, the issuing node's
status list missing, expired or older than the certificate) or a stale trust list →
確認不能; else 有効. Only 有効 is valid. ``Verdict.ok`` keeps its older, narrower meaning:
no check failed (authentic and not known to be withdrawn), which holds for 確認不能 too.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509

from .boxes import PrintedBoxes
from .claims import Claims, decode_claims, with_printed_boxes
from .cose import Sign1, parse_sign1
from .encoding import PREFIX, qr_string_to_cose
from .errors import CertsError, VerificationError
from .keys import verify_signature
from .model import Certificate
from .numbers import CertificateNumber
from .pki import delegation_of, issued_by, town_code_of, within_validity
from .state import CertificateStatus, Revoked, Superseded
from .status_list import Lookup, Outcome, StatusList, lookup
from .trust_list import TrustList

StatusLookup = Callable[[CertificateNumber], CertificateStatus | None]
MAX_TRUST_LIST_AGE = timedelta(days=7)
CLOCK_SKEW = timedelta(minutes=5)


class Status(enum.Enum):
    """Outcome of one check."""

    PASS = "pass"
    FAIL = "fail"
    SKIPPED = "skipped"


# Check name → (Japanese label, English label), in the order they are reported.
CHECKS = {
    "format": ("形式", "format"),
    "signature": ("署名", "signature"),
    "chain": ("証明書チェーン", "certificate chain"),
    "delegation": ("代行権限", "delegation"),
    "validity": ("有効期間", "validity window"),
    "revoked": ("失効", "revocation"),
    "superseded": ("再発行による置換", "superseded"),
    "status": ("状態（状態リスト）", "status (status list)"),
    "trust_list_age": ("信頼リストの鮮度", "trust list age"),
    "boxes": ("印字欄の照合", "printed boxes"),
}


@dataclass(frozen=True)
class Check:
    """One check's outcome with its explanation in Japanese and English."""

    name: str
    status: Status
    ja: str
    en: str


VALID, INVALID, REVOKED, SUPERSEDED, UNDER_REVIEW, UNKNOWN = "有効", "無効", "失効", "差替え", "確認中", "確認不能"
WORDS_EN = {VALID: "VALID", INVALID: "INVALID", REVOKED: "REVOKED", SUPERSEDED: "SUPERSEDED",
            UNDER_REVIEW: "UNDER_REVIEW", UNKNOWN: "STATUS_UNKNOWN"}
_AUTHENTICITY = ("format", "signature", "chain", "delegation", "validity", "boxes")


@dataclass(frozen=True)
class Verdict:
    """The result: ``ok`` and every check, plus what could be decoded."""

    checks: tuple[Check, ...]
    certificate: Certificate | None = None
    signed_at: datetime | None = None
    kid: bytes | None = None
    trust_list_version: int = 0
    boxes_digest: bytes | None = None  # digest of the printed boxes the QR binds but leaves out
    status_list: StatusList | None = None  # the issuing node's list that was consulted, if any
    superseded_by: str | None = None
    now: datetime | None = None

    @property
    def ok(self) -> bool:
        """True if no check failed (see the module docstring: not the same as valid)."""
        return all(c.status is not Status.FAIL for c in self.checks)

    @property
    def word(self) -> str:
        """The verdict: 有効 / 無効 / 失効 / 差替え / 確認中 / 確認不能 (see the module docstring)."""
        failed = set(self.failures)
        if failed & set(_AUTHENTICITY):
            return INVALID
        for name, word in (("revoked", REVOKED), ("superseded", SUPERSEDED), ("status", UNDER_REVIEW)):
            if name in failed:
                return word
        if "trust_list_age" in failed or self.check("status").status is not Status.PASS:
            return UNKNOWN
        return VALID

    @property
    def valid(self) -> bool:
        """True only for the verdict 有効."""
        return self.word == VALID

    def check(self, name: str) -> Check:
        """The check called ``name``."""
        return next(c for c in self.checks if c.name == name)

    @property
    def failures(self) -> tuple[str, ...]:
        """Names of the failed checks."""
        return tuple(c.name for c in self.checks if c.status is Status.FAIL)

    def to_dict(self) -> dict:
        """JSON-ready form for the service API."""
        listed = self.status_list
        return {
            "ok": self.ok,
            "verdict": self.word,
            "verdict_en": WORDS_EN[self.word],
            "superseded_by": self.superseded_by,
            "status_list": None if listed is None else {
                "node_id": listed.node_id, "signer_node": listed.signer_node,
                "issued_at": listed.issued_at.isoformat(), "expires_at": listed.expires_at.isoformat(),
                "age_seconds": int(listed.age(self.now).total_seconds()) if self.now else None},
            "number": str(self.certificate.number) if self.certificate else None,
            "signed_at": self.signed_at.isoformat() if self.signed_at else None,
            "kid": self.kid.hex() if self.kid else None,
            "trust_list_version": self.trust_list_version,
            "boxes_digest": self.boxes_digest.hex() if self.boxes_digest else None,
            "checks": [{"name": c.name, "status": c.status.value, "ja": c.ja, "en": c.en} for c in self.checks],
        }


@dataclass
class _Run:
    trust_list: TrustList
    now: datetime
    results: dict[str, Check] = field(default_factory=dict)

    def set(self, name: str, ok: bool | None, ja: str, en: str) -> bool:
        status = Status.SKIPPED if ok is None else Status.PASS if ok else Status.FAIL
        # The first failure of a check is kept: it is the most specific reason.
        if self.results.get(name, None) is None or self.results[name].status is not Status.FAIL:
            self.results[name] = Check(name, status, ja, en)
        return bool(ok)


def verify(
    data: str | bytes, trust_list: TrustList, now: datetime, *, status_lookup: StatusLookup | None = None,
    max_trust_list_age: timedelta = MAX_TRUST_LIST_AGE, clock_skew: timedelta = CLOCK_SKEW,
    printed_boxes: PrintedBoxes | None = None, status_lists: Mapping[str, StatusList] | None = None,
) -> Verdict:
    """Verify a QR string (``JPRC1:...``) or raw COSE_Sign1 bytes at time ``now``.

    Status comes from ``status_lookup`` (a node's own records; None for a number it does not
    know) and/or ``status_lists`` (verified lists by issuing node, e.g. from a bundle); the
    stronger of the two wins. With neither, the status is unknown (確認不能).

    ``printed_boxes``: the text printed on the form (世帯構成員, other damage, place, and
    the householder address), checked against the QR in the ``boxes`` check; if they
    match, ``Verdict.certificate`` is the full certificate. Without them the check is
    skipped when the QR binds boxes it does not carry.
    """
    run = _Run(trust_list, now)
    _check_trust_list_age(run, max_trust_list_age, clock_skew)
    message, claims = _decode(run, data)
    cert, signed_at = (claims.certificate, claims.signed_at) if claims else (None, None)
    delegation = trust_list.delegation(message.kid) if message else None
    if message is not None:
        _check_signature(run, message, delegation)
    if cert is not None and signed_at is not None and delegation is not None:
        _check_chain(run, delegation, signed_at)
        _check_delegation(run, delegation, cert)
        _check_validity(run, delegation, signed_at, clock_skew)
    listed = by = None
    if cert is not None:
        status = status_lookup(cert.number) if status_lookup else None
        listed = lookup(status_lists, cert.number, now, signed_at=signed_at) if status_lists is not None else None
        _check_revoked(run, message.kid, cert, status, listed)
        by = _check_superseded(run, status, listed)
        _check_status(run, status, listed)
        cert = _check_boxes(run, message, claims, printed_boxes) or cert
    checks = tuple(run.results.get(n) or Check(n, Status.SKIPPED, "未確認", "not checked") for n in CHECKS)
    return Verdict(checks, cert, signed_at, message.kid if message else None, trust_list.version,
                   claims.boxes_digest if claims else None, listed.status_list if listed else None, by, now)


def _decode(run: _Run, data: str | bytes) -> tuple[Sign1 | None, Claims | None]:
    if isinstance(data, (bytes, bytearray)) and data.startswith(PREFIX.encode()):
        data = data.decode("ascii", "replace")  # a QR string handed over as bytes
    try:
        cose = qr_string_to_cose(data) if isinstance(data, str) else data
        message = parse_sign1(cose)
    except VerificationError as exc:
        run.set("format", False, "QRコードの形式が正しくありません", f"not a certificate: {exc.message}")
        return None, None
    try:
        claims = decode_claims(message.payload)
    except VerificationError as exc:
        run.set("format", False, "証明書の内容を読み取れません", f"unreadable content: {exc.message}")
        return message, None
    run.set("format", True, f"正しい形式（様式 {claims.version}）", f"well-formed (claims format {claims.version})")
    return message, claims


def _check_signature(run: _Run, message: Sign1, delegation: x509.Certificate | None) -> None:
    if delegation is None:
        ja, en = f"鍵ID {message.kid.hex()} は信頼リストにありません", f"key id {message.kid.hex()} is not in the trust list"
        run.set("signature", False, ja, en)
        run.set("delegation", False, "代行権限の証明書がありません", "no delegation certificate for this key")
        return
    ok = verify_signature(delegation.public_key(), message.alg, message.to_be_signed(), message.signature)
    run.set("signature", ok, "署名は有効" if ok else "署名が一致しません（改ざんの可能性）",
            f"valid {message.alg} signature" if ok else "signature does not match (altered?)")


def _check_chain(run: _Run, delegation: x509.Certificate, signed_at: datetime) -> None:
    try:
        town_code = delegation_of(delegation).town_code
    except CertsError as exc:
        run.set("chain", False, "代行証明書が不正です", exc.message)
        return
    town = run.trust_list.town(town_code)
    if town is None:
        run.set("chain", False, f"町村コード {town_code} のCAが信頼リストにありません", f"no CA for town {town_code}")
        return
    problem = (
        issued_by(delegation, town.ca)
        or issued_by(town.ca, run.trust_list.root)
        or (None if town_code_of(town.ca) == town_code else "town CA is for another town")
        or (None if within_validity(town.ca, signed_at) else "town CA was not valid at signing time")
    )
    run.set("chain", problem is None, "ルートCA → 町CA → 代行証明書 は有効" if problem is None else "証明書チェーンが不正です",
            "root CA → town CA → delegation verified" if problem is None else problem)


def _check_delegation(run: _Run, delegation: x509.Certificate, cert: Certificate) -> None:
    try:
        grant = delegation_of(delegation)
    except CertsError as exc:
        run.set("delegation", False, "代行証明書が不正です", exc.message)
        return
    competent, node = cert.competent_town, cert.issuing.node_id
    if grant.town_code != competent.code:
        run.set("delegation", False, f"この鍵は {competent.name} の代行を許されていません",
                f"key is delegated by town {grant.town_code}, not by competent town {competent.code}")
    elif grant.node_id != node:
        run.set("delegation", False, f"この鍵はノード {node} のものではありません",
                f"key belongs to node {grant.node_id}, not to issuing node {node}")
    else:
        run.set("delegation", True, f"{competent.name}長がノード {node} に発行を委任",
                f"town {competent.code} delegated issuing to node {node}")


def _check_validity(run: _Run, delegation: x509.Certificate, signed_at: datetime, skew: timedelta) -> None:
    start, end = delegation.not_valid_before_utc, delegation.not_valid_after_utc
    if signed_at > run.now + skew:
        run.set("validity", False, "署名日時が未来です", f"signed in the future ({signed_at.isoformat()})")
    elif not start <= signed_at <= end:
        run.set("validity", False, "署名時に代行証明書の有効期間外でした",
                f"signed {signed_at.isoformat()} outside delegation validity {start.isoformat()} .. {end.isoformat()}")
    else:
        run.set("validity", True, "署名時に代行証明書は有効", f"delegation valid at signing time {signed_at.isoformat()}")


def _check_revoked(run: _Run, kid: bytes, cert: Certificate, status: CertificateStatus | None,
                   listed: Lookup | None) -> None:
    key = run.trust_list.key_revocation(kid)
    number = run.trust_list.certificate_revocation(str(cert.number))
    if key is not None:
        run.set("revoked", False, f"署名鍵は失効しています（{key.reason}）", f"signing key revoked: {key.reason}")
    elif number is not None:
        run.set("revoked", False, f"この証明書は失効しています（{number.reason}）", f"certificate revoked: {number.reason}")
    elif isinstance(status, Revoked):
        run.set("revoked", False, f"この証明書は失効しています（{status.reason}）", f"certificate revoked: {status.reason}")
    elif listed is not None and listed.outcome is Outcome.REVOKED:
        run.set("revoked", False, "状態リストで失効と記録されています", "certificate revoked (status list)")
    elif status is None and not _known(listed):
        run.set("revoked", None, "状態を確認できません", "not checked (no usable status source)")
    else:
        run.set("revoked", True, "失効していません", "not revoked")


def _known(listed: Lookup | None) -> bool:
    return listed is not None and listed.outcome is not Outcome.UNKNOWN


def _check_superseded(run: _Run, status: CertificateStatus | None, listed: Lookup | None) -> str | None:
    """The superseded check; returns the superseding number, if any."""
    by = str(status.by) if isinstance(status, Superseded) else None
    if by is None and listed is not None and listed.outcome is Outcome.SUPERSEDED:
        by = listed.superseded_by
    if by is not None:
        run.set("superseded", False, f"整理番号 {by} に差し替えられています", f"superseded by {by}")
    elif status is None and not _known(listed):
        run.set("superseded", None, "状態を確認できません", "not checked (no usable status source)")
    else:
        run.set("superseded", True, "最新の証明書です", "current certificate")
    return by


def _check_status(run: _Run, status: CertificateStatus | None, listed: Lookup | None) -> None:
    """Where the status came from and how old the status list is (always shown when there is one)."""
    ja = en = ""
    if listed is not None and listed.status_list is not None:
        node, hours = listed.status_list.node_id, listed.status_list.age(run.now).total_seconds() / 3600
        ja, en = f"（{node} の状態リスト、{hours:.1f}時間前）", f" (status list of {node}, {hours:.1f} h old)"
    if listed is not None and listed.outcome is Outcome.UNDER_REVIEW:
        run.set("status", False, "確認中（審査中の証明書）" + ja, "under review" + en)
    elif status is not None:
        run.set("status", True, "ノードの記録で確認" + ja, "checked against this node's records" + en)
    elif _known(listed):
        run.set("status", True, "状態リストで確認" + ja, "checked against the status list" + en)
    elif listed is not None:
        run.set("status", None, "状態を確認できません: " + listed.reason_ja + ja, "status unknown: " + listed.reason + en)
    else:
        run.set("status", None, "状態リストがないため状態を確認できません", "status unknown: no status list")


def _check_trust_list_age(run: _Run, max_age: timedelta, skew: timedelta) -> None:
    age = run.trust_list.age(run.now)
    hours = age.total_seconds() / 3600
    if age < -skew:
        run.set("trust_list_age", False, "信頼リストの発行日時が未来です", "trust list is dated in the future")
    elif age > max_age:
        run.set("trust_list_age", False, f"信頼リストが古すぎます（{hours:.0f}時間前）",
                f"trust list is {hours:.0f} h old (max {max_age.total_seconds() / 3600:.0f} h); fetch a new one")
    else:
        run.set("trust_list_age", True, f"信頼リスト v{run.trust_list.version}（{hours:.1f}時間前）",
                f"trust list v{run.trust_list.version}, {hours:.1f} h old")


def _check_boxes(run: _Run, message: Sign1, claims: Claims, boxes: PrintedBoxes | None) -> Certificate | None:
    """Printed text against the QR; returns the full certificate when it matches."""
    if boxes is None:
        if claims.boxes_digest is None:
            run.set("boxes", True, "QRに全項目を記載", "the QR carries every box")
        else:
            digest = claims.boxes_digest.hex()
            run.set("boxes", None, f"印字欄は未照合（ダイジェスト {digest}）",
                    f"printed boxes not checked (digest {digest}); supply their text to check them")
        return None
    full = with_printed_boxes(claims, message.payload, boxes)
    if full is None:
        run.set("boxes", False, "印字欄がQRの署名内容と一致しません（改ざんの可能性）",
                "printed boxes do not match what the QR signs (altered?)")
    else:
        run.set("boxes", True, "印字欄はQRの署名内容と一致", "printed boxes match what the QR signs")
    return full
