"""Content of a certificate in the Cabinet Office unified form (統一様式).

Pure frozen dataclasses: no I/O, no clock. Validation happens at construction, so a
Certificate that exists is one that may be signed and printed. The damage ratio and any
money amount are deliberately absent: the form shows the class only.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from .damage import DamageClass
from .errors import InvalidInput
from .numbers import CertificateNumber, validate_node_id
from .town_code import validate_town_code

MAX_TEXT = 200  # generous for an address; keeps the QR payload bounded
MAX_MEMBERS = 20


class CertificateType(enum.Enum):
    """罹災証明書 (dwelling, with a damage class) or 被災証明 (other property, no class)."""

    RISAI = "risai"
    HISAI = "hisai"

    @property
    def label_ja(self) -> str:
        """Title printed on the form."""
        return "罹災証明書" if self is CertificateType.RISAI else "被災証明書"

    @property
    def label_en(self) -> str:
        """English title printed beside the Japanese one."""
        return "Disaster Damage Certificate" if self is CertificateType.RISAI else "Certificate of Disaster Report"


class Flooding(enum.Enum):
    """Optional box: 浸水区分 (inundation level)."""

    ABOVE_FLOOR = "above-floor"
    BELOW_FLOOR = "below-floor"

    @property
    def label_ja(self) -> str:
        """Japanese label."""
        return "床上浸水" if self is Flooding.ABOVE_FLOOR else "床下浸水"

    @property
    def label_en(self) -> str:
        """English label."""
        return "Above floor level" if self is Flooding.ABOVE_FLOOR else "Below floor level"


def _text(value: str, field: str, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise InvalidInput("certificate.text", f"{field} must be non-blank text of at most {MAX_TEXT} chars", field)
    if any(ord(ch) < 0x20 for ch in value):
        raise InvalidInput("certificate.text", f"{field} must not contain control characters", field)


@dataclass(frozen=True)
class Town:
    """The competent town (the mayor certifies in its name)."""

    code: str
    name: str
    mayor: str

    def __post_init__(self) -> None:
        validate_town_code(self.code, "competent_town.code")
        _text(self.name, "competent_town.name")
        _text(self.mayor, "competent_town.mayor")


@dataclass(frozen=True)
class IssuingPlace:
    """交付場所: the node that signed and the town (and office) where it was handed over."""

    node_id: str
    town_code: str
    town_name: str
    place: str | None = None  # e.g. "輪島市役所 第二庁舎 窓口"; optional

    def __post_init__(self) -> None:
        validate_node_id(self.node_id, "issuing.node_id")
        validate_town_code(self.town_code, "issuing.town_code")
        _text(self.town_name, "issuing.town_name")
        _text(self.place, "issuing.place", optional=True)


@dataclass(frozen=True)
class Disaster:
    """罹災原因: the disaster's name and the date it struck."""

    name: str
    date: date

    def __post_init__(self) -> None:
        _text(self.name, "disaster.name")
        if not isinstance(self.date, date):
            raise InvalidInput("certificate.date", "disaster.date must be a date", "disaster.date")


@dataclass(frozen=True)
class HouseholdMember:
    """世帯構成員 (optional box): a member's name and relation to the householder."""

    name: str
    relation: str

    def __post_init__(self) -> None:
        _text(self.name, "members.name")
        _text(self.relation, "members.relation")


@dataclass(frozen=True)
class Certificate:
    """One immutable certificate; a re-survey yields a new one that ``supersedes`` it."""

    number: CertificateNumber
    cert_type: CertificateType
    householder_address: str
    householder_name: str
    disaster: Disaster
    dwelling_address: str
    damage_class: DamageClass | None
    competent_town: Town
    issuing: IssuingPlace
    issue_date: date
    members: tuple[HouseholdMember, ...] = ()
    flooding: Flooding | None = None
    other_damage: str | None = None
    supersedes: CertificateNumber | None = None

    def __post_init__(self) -> None:
        _text(self.householder_address, "householder_address")
        _text(self.householder_name, "householder_name")
        _text(self.dwelling_address, "dwelling_address")
        _text(self.other_damage, "other_damage", optional=True)
        self._check_type_and_class()
        self._check_number()
        if not isinstance(self.issue_date, date) or self.issue_date < self.disaster.date:
            raise InvalidInput("certificate.date", "issue_date must be a date on or after the disaster", "issue_date")
        if not isinstance(self.members, tuple) or len(self.members) > MAX_MEMBERS:
            raise InvalidInput("certificate.members", f"members must be a tuple of at most {MAX_MEMBERS}", "members")

    def _check_type_and_class(self) -> None:
        if self.cert_type is CertificateType.RISAI and not isinstance(self.damage_class, DamageClass):
            raise InvalidInput("certificate.class_missing", "a 罹災証明書 needs a damage class", "damage_class")
        if self.cert_type is CertificateType.HISAI and self.damage_class is not None:
            raise InvalidInput("certificate.class_forbidden", "a 被災証明 carries no damage class", "damage_class")
        if not isinstance(self.cert_type, CertificateType):
            raise InvalidInput("certificate.type", "cert_type must be a CertificateType", "cert_type")

    def _check_number(self) -> None:
        # The number names the competent town and the issuing node; they must agree with
        # the content, or the QR would claim one issuer and the number another.
        if self.number.town_code != self.competent_town.code:
            raise InvalidInput("certificate.number_town", "number's town code is not the competent town", "number")
        if self.number.node_id != self.issuing.node_id:
            raise InvalidInput("certificate.number_node", "number's node id is not the issuing node", "number")
        if self.supersedes is not None:
            if self.supersedes == self.number:
                raise InvalidInput("certificate.supersedes", "a certificate cannot supersede itself", "supersedes")
            if self.supersedes.town_code != self.competent_town.code:
                raise InvalidInput("certificate.supersedes", "superseded certificate is another town's", "supersedes")

    @property
    def on_behalf(self) -> bool:
        """True when issued by another town's node (代行): place differs from issuer."""
        return self.issuing.town_code != self.competent_town.code
