"""The application (申請) as a frozen dataclass: the replicated record the lifecycle moves on.

Pure. Its replicated state (DESIGN 3) is read and written by nodes of other versions and
compared by the digest, so the record keeps it exactly on a round trip
(service.counter.record_state.OpenRecordBase): keys this version does not know stay in
``extra``, and keys an older state lacks stay out. The lifecycle
(service.counter.lifecycle) returns new records; nothing mutates one.

The applicant's details, the disaster and the 被災証明's property are kept as the
JSON values they are stored as (``applicant_details`` is checked by
service.counter.applicants when it is set).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Mapping

from service.counter.record_checks import Check, FieldProblem, check_text, validate_record
from service.counter.record_state import OpenRecordBase

KINDS = ("risai", "hisai")  # 罹災証明書 (a surveyed dwelling) or 被災証明 (no survey)


def _check_kind(field: str, value: Any) -> FieldProblem | None:
    if value not in KINDS:
        return FieldProblem(field, f"must be one of {', '.join(KINDS)}", "record.choice")
    return None


def _check_history(field: str, value: Any) -> FieldProblem | None:
    if not isinstance(value, tuple) or not all(isinstance(h, dict) for h in value):
        return FieldProblem(field, "must be a list of objects", "record.type")
    return None


def _as_tuple(record: Any, name: str) -> None:
    value = getattr(record, name)
    if isinstance(value, list):
        object.__setattr__(record, name, tuple(value))


@dataclasses.dataclass(frozen=True, slots=True)
class Application(OpenRecordBase):
    """申請: who applied for which household, dwelling and disaster, where it stands
    (``status``, ``history``), what was judged and which certificates it has."""

    entity_type: ClassVar[str] = "application"
    id_field: ClassVar[str] = "application_id"
    # What every node's rules read from any application, even a replicated one that holds
    # little else (the one-current-certificate rule reads only these and the triple).
    REQUIRED_FIELDS: ClassVar[tuple[str, ...]] = ("application_id", "kind", "status", "household_id", "received_at")
    # Keys an application gains later in its life (a new one's state has none of them).
    NEW_ABSENT: ClassVar[frozenset[str]] = frozenset(
        {"applicant_details", "survey_ids", "judgement", "judged_by", "resurvey_note",
         "resurvey_requests", "withdrawal"})
    CHECKS: ClassVar[dict[str, Check]] = {
        "application_id": check_text(80), "kind": _check_kind, "status": check_text(40),
        "household_id": check_text(80), "competent_town": check_text(20, required=False),
        "received_at": check_text(40), "history": _check_history,
    }

    application_id: str
    kind: str
    status: str
    household_id: str
    received_at: str  # ISO instant
    competent_town: str = ""  # its mayor issues the certificate (present in every state made)
    history: tuple[dict[str, Any], ...] = ()  # {"status", "action", "at", "node", "staff", ...detail}
    applicant_resident_id: str | None = None
    applicant_town: str | None = None
    dwelling_id: str | None = None  # a 罹災証明書's dwelling (None for 被災証明)
    property: dict[str, Any] | None = None  # a 被災証明's {"location", "description"}
    disaster: dict[str, Any] | None = None  # {"id", "name", "date"}
    channel: str | None = None
    received_node: str | None = None
    received_town: str | None = None
    survey_id: str | None = None  # the survey judged (or entered last)
    damage_class: str | None = None  # certs.damage.DamageClass code, from the judgement
    current_certificate: str | None = None
    certificates: tuple[str, ...] = ()
    tracking_code_sha256: str | None = None
    tracking_key: str | None = None
    applicant_details: dict[str, Any] | None = None  # service.counter.applicants state
    survey_ids: tuple[str, ...] | None = None
    judgement: dict[str, Any] | None = None
    judged_by: str | None = None
    resurvey_note: str | None = None
    resurvey_requests: tuple[dict[str, Any], ...] = ()
    withdrawal: dict[str, Any] | None = None
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    absent: frozenset[str] = NEW_ABSENT

    def __post_init__(self) -> None:
        for name in ("history", "certificates", "survey_ids", "resurvey_requests"):
            _as_tuple(self, name)
        validate_record(self)

    def towns(self) -> set[str]:
        """The towns whose data it holds: the competent town and the applicant's."""
        return {self.competent_town, self.applicant_town or self.competent_town}
