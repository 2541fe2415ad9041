"""What the counter records about a certificate: the issued certificate itself, then copies
(再交付) and revocations. Frozen dataclasses; their replicated state form is made only at the
storage seam (``to_state``/``from_state`` of service.counter.record_state.RecordBase; the
certificate's keeps unknown and absent keys exactly, as OpenRecordBase says)."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Mapping

from service.counter.record_checks import Check, FieldProblem, check_id, check_text, validate_record
from service.counter.record_state import OpenRecordBase, RecordBase


def check_qr(field: str, value: Any) -> FieldProblem | None:
    """Base45 text (its alphabet has a space, so it is not checked as trimmed text)."""
    if not isinstance(value, str) or not value:
        return FieldProblem(field, "must be the QR's base45 text", "record.type")
    return None


@dataclasses.dataclass(frozen=True, slots=True)
class CertificateRecord(OpenRecordBase):
    """The replicated, insert-only record of one issued certificate. The signed QR holds
    the content; the other fields say what it is, where and for which application it was
    issued, for the lists, the status lists and the PDF."""

    entity_type: ClassVar[str] = "certificate"
    id_field: ClassVar[str] = "number"
    REQUIRED_FIELDS: ClassVar[tuple[str, ...]] = ("number", "qr", "competent_town")
    CHECKS: ClassVar[dict[str, Check]] = {
        "number": check_text(40), "qr": check_qr, "competent_town": check_text(20)}

    number: str  # 整理番号
    qr: str  # the signed COSE_Sign1 as base45 (certs.encoding)
    competent_town: str
    application_id: str | None = None
    cert_type: str | None = None  # certs.model.CertificateType value
    signed_at: str | None = None  # ISO instant
    issue_date: str | None = None  # ISO date, JST
    issuing_node: str | None = None
    issuing_town: str | None = None
    on_behalf: bool | None = None  # issued by another town's node (代行)
    damage_class: str | None = None
    supersedes: str | None = None  # the number this one replaces (再調査)
    dwelling_id: str | None = None
    survey_id: str | None = None
    staff_id: str | None = None
    # The printed optional boxes' text (the QR holds only their digest), so the PDF can be
    # re-rendered and checked: certs.boxes.PrintedBoxes.to_record().
    printed_boxes: dict[str, Any] | None = None
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    absent: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        validate_record(self)


_COMMON: dict[str, Check] = {"number": check_text(40), "at": check_text(40), "node": check_id}


@dataclasses.dataclass(frozen=True, slots=True)
class _AfterIssue(RecordBase):
    """What both records say: which certificate, when (ISO 8601, UTC), where and by whom."""

    number: str
    at: str
    node: str
    staff_id: str | None

    def __post_init__(self) -> None:
        validate_record(self)


@dataclasses.dataclass(frozen=True, slots=True)
class Revocation(_AfterIssue):
    """失効: the certificate ``number`` is withdrawn for ``reason`` (insert-only, replicated)."""

    entity_type: ClassVar[str] = "revocation"
    id_field: ClassVar[str] = "number"
    CHECKS: ClassVar[dict[str, Check]] = {**_COMMON, "reason": check_text(500)}
    reason: str


@dataclasses.dataclass(frozen=True, slots=True)
class CertificateCopy(_AfterIssue):
    """再交付: copy ``copy_no`` of certificate ``number`` (same number, same QR)."""

    entity_type: ClassVar[str] = "certificate_copy"
    id_field: ClassVar[str] = "number"
    CHECKS: ClassVar[dict[str, Check]] = _COMMON
    copy_no: int
    # 紛失 / 汚損 / 追加 as service.counter.printing.CopyReason's name (lost / damaged /
    # additional); None on copies recorded before reasons were asked for.
    copy_reason: str | None = None
    place: str | None = None  # where it was handed out, when not the counter (a kiosk: issue 13)

    @property
    def entity_id(self) -> str:
        """Copies of one certificate are separate entities: ``<number>/copy-<n>``."""
        return f"{self.number}/copy-{self.copy_no}"
