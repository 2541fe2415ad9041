"""What the counter records about an issued certificate after issuing it: copies (再交付)
and revocations. Frozen dataclasses; their replicated state form is made only at the
storage seam (``to_state``/``from_state`` of service.counter.record_state.RecordBase)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from service.counter.record_checks import Check, check_id, check_text, validate_record
from service.counter.record_state import RecordBase


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
