"""Replicated records of the counter workflow (DESIGN.md §3), as frozen dataclasses.

Pure: no I/O, no clock. Each record validates itself on construction and converts to and
from the JSON-safe ``state`` dict that the generic entity store (entity_type, entity_id,
state JSONB) and the replication events carry: dates as ISO strings, Decimals as strings,
enums as their stable codes, tuples as lists.

Every validation failure raises :class:`RecordError`, which lists *all* failing fields of
the record, each with a stable dotted code, so the HTTP layer renders one 422 and the CSV
import reports every bad cell of a row at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from decimal import Decimal
from typing import Any, Callable, ClassVar

# The checks, the state form and search keys live in their own modules; their public
# names are re-exported here, where the rest of the code imports them from.
from .record_checks import (
    EARLIEST_DATE,
    ID_PATTERN,
    Check,
    FieldProblem,
    RecordError,
    check_bool,
    check_date,
    check_decimal,
    check_enum,
    check_hashes,
    check_id,
    check_ids,
    check_kana,
    check_region,
    check_storeys,
    check_text,
    check_town,
    field_problems,
    validate_record,
)
from .record_state import RecordBase
from .search_keys import search_key, to_katakana

__all__ = [
    "EARLIEST_DATE", "ENTITY_TYPES", "ID_PATTERN", "MAX_FLOOD_DEPTH_M", "STRUCTURE_LABELS",
    "Check", "Dwelling", "FieldProblem", "Household", "Inundation", "RecordError", "Resident", "Sex",
    "Structure", "Survey", "SurveyKind", "Town", "field_problems", "record_from_state",
    "search_key", "to_katakana",
]

MAX_FLOOD_DEPTH_M = Decimal(30)  # above this, a value in cm was almost surely typed as m


class Sex(enum.IntEnum):
    """性別, coded as in 住民基本台帳 extracts: 1 男, 2 女; 9 (不明) as in ISO/IEC 5218."""

    MALE = 1
    FEMALE = 2
    UNKNOWN = 9


class Structure(enum.Enum):
    """構造 of a dwelling. Values are stable codes; the guideline treats wood/prefab apart."""

    WOOD = "wood"  # 木造
    PREFAB = "prefab"  # プレハブ
    STEEL = "steel"  # 鉄骨造
    RC = "rc"  # 鉄筋コンクリート造
    SRC = "src"  # 鉄骨鉄筋コンクリート造
    NON_WOOD = "non-wood"  # 非木造 (not further specified)
    OTHER = "other"  # その他

    @property
    def label_ja(self) -> str:
        """Japanese label, as in the CSV and on screen."""
        return STRUCTURE_LABELS[self]


STRUCTURE_LABELS = {
    Structure.WOOD: "木造",
    Structure.PREFAB: "プレハブ",
    Structure.STEEL: "鉄骨造",
    Structure.RC: "鉄筋コンクリート造",
    Structure.SRC: "鉄骨鉄筋コンクリート造",
    Structure.NON_WOOD: "非木造",
    Structure.OTHER: "その他",
}


class SurveyKind(enum.Enum):
    """第1次調査 (exterior) or 第2次調査 (interior, on the resident's request)."""

    FIRST = "first"
    SECOND = "second"

    @property
    def label_ja(self) -> str:
        """一次調査 / 二次調査, as on screen."""
        return "一次調査" if self is SurveyKind.FIRST else "二次調査"


class Inundation(enum.Enum):
    """浸水の程度 of a flood survey: 床上浸水 (water above the floor) or 床下浸水 (below it)."""

    ABOVE_FLOOR = "above_floor"  # 床上浸水
    BELOW_FLOOR = "below_floor"  # 床下浸水

    @property
    def label_ja(self) -> str:
        """床上浸水 / 床下浸水."""
        return "床上浸水" if self is Inundation.ABOVE_FLOOR else "床下浸水"


def _optional(check: Check) -> Check:
    def optional(field: str, value: Any) -> FieldProblem | None:
        return None if value is None else check(field, value)
    return optional


def _coerce(record: Any, name: str, convert: Callable[[Any], Any], accept: type) -> None:
    # Accept the plain form (list, code string, int) and store the canonical one; a value
    # that does not convert is left as it is for the checks to report.
    value = getattr(record, name)
    if not isinstance(value, accept):
        try:
            object.__setattr__(record, name, convert(value))
        except (ValueError, TypeError):
            pass


def _as_sex(value: Any) -> Any:
    return value if isinstance(value, bool) else Sex(value)


def _as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


@dataclasses.dataclass(frozen=True, slots=True)
class Town(RecordBase):
    """市町村: 全国地方公共団体コード, name, region id and mayor's name."""

    entity_type: ClassVar[str] = "town"
    id_field: ClassVar[str] = "code"
    code: str
    name: str
    region: str
    mayor: str

    CHECKS: ClassVar[dict[str, Check]] = {
        "code": check_town, "name": check_text(50), "region": check_region, "mayor": check_text(50),
    }

    def __post_init__(self) -> None:
        validate_record(self)


@dataclasses.dataclass(frozen=True, slots=True)
class Resident(RecordBase):
    """住民, as in a 住民基本台帳 extract. Names in kanji, readings in katakana."""

    entity_type: ClassVar[str] = "resident"
    id_field: ClassVar[str] = "resident_id"
    resident_id: str
    town_code: str
    family_name: str
    given_name: str
    family_kana: str
    given_kana: str
    birth_date: dt.date
    sex: Sex
    address: str
    household_id: str
    is_householder: bool

    CHECKS: ClassVar[dict[str, Check]] = {
        "resident_id": check_id, "town_code": check_town, "family_name": check_text(50),
        "given_name": check_text(50), "family_kana": check_kana, "given_kana": check_kana,
        "birth_date": check_date, "sex": check_enum(Sex), "address": check_text(200),
        "household_id": check_id, "is_householder": check_bool,
    }

    def __post_init__(self) -> None:
        _coerce(self, "sex", _as_sex, Sex)
        validate_record(self)

    @property
    def name_key(self) -> str:
        """Search key of the full name in kanji (see :func:`search_key`)."""
        return search_key(self.family_name + self.given_name)

    @property
    def kana_key(self) -> str:
        """Search key of the full reading (see :func:`search_key`)."""
        return search_key(self.family_kana + self.given_kana)


@dataclasses.dataclass(frozen=True, slots=True)
class Household(RecordBase):
    """世帯: its householder (世帯主) and the address they are registered at."""

    entity_type: ClassVar[str] = "household"
    id_field: ClassVar[str] = "household_id"
    household_id: str
    town_code: str
    householder_id: str
    address: str

    CHECKS: ClassVar[dict[str, Check]] = {
        "household_id": check_id, "town_code": check_town, "householder_id": check_id, "address": check_text(200),
    }

    def __post_init__(self) -> None:
        validate_record(self)


@dataclasses.dataclass(frozen=True, slots=True)
class Dwelling(RecordBase):
    """住家: the building surveyed. ``location`` is its 所在地, not a resident's 住所."""

    entity_type: ClassVar[str] = "dwelling"
    id_field: ClassVar[str] = "dwelling_id"
    dwelling_id: str
    town_code: str  # the competent town: the certificate is issued in its mayor's name
    location: str
    structure: Structure
    storeys: int
    household_ids: tuple[str, ...]

    CHECKS: ClassVar[dict[str, Check]] = {
        "dwelling_id": check_id, "town_code": check_town, "location": check_text(200),
        "structure": check_enum(Structure), "storeys": check_storeys, "household_ids": check_ids,
    }

    def __post_init__(self) -> None:
        _coerce(self, "structure", Structure, Structure)
        _coerce(self, "household_ids", _as_tuple, tuple)
        validate_record(self)


@dataclasses.dataclass(frozen=True, slots=True)
class Survey(RecordBase):
    """被害認定調査: one survey, kept as its own record and never overwritten.

    Its basis is a damage ratio (損害割合, %), a flood depth above the floor (浸水深, m, which
    is 床上浸水), or 床下浸水 alone (``inundation`` BELOW_FLOOR with neither). The damage class is
    derived (:attr:`damage_class`), never stored or typed.

    The fields after ``notes`` were added with survey records (issue 14). A survey stored
    before them (or imported from CSV, which has no application) reads with their defaults
    (``ADDED_FIELDS``: a read-time mapping, no migration): no application id (the
    application's ``survey_id`` still names it), no surveyor account (``surveyor`` is the
    name as typed then), and the flooding box inferred from the depth as issuance did.
    """

    entity_type: ClassVar[str] = "survey"
    id_field: ClassVar[str] = "survey_id"
    ADDED_FIELDS: ClassVar[tuple[str, ...]] = (
        "application_id", "surveyor_id", "inundation", "resurvey_request", "entered_by", "entered_at")
    survey_id: str
    dwelling_id: str
    kind: SurveyKind
    surveyor: str  # the surveyor's name as shown (from their staff account when surveyor_id is set)
    surveyed_on: dt.date
    damage_ratio: Decimal | None = None
    flood_depth_m: Decimal | None = None
    photo_sha256: tuple[str, ...] = ()
    notes: str = ""
    application_id: str | None = None
    surveyor_id: str | None = None  # the staff account of the surveyor (chosen, not the clerk)
    inundation: Inundation | None = None
    resurvey_request: str | None = None  # the 再調査 request this survey answers
    entered_by: str | None = None  # staff id of who typed it in
    entered_at: str | None = None  # ISO instant

    CHECKS: ClassVar[dict[str, Check]] = {
        "survey_id": check_id, "dwelling_id": check_id, "kind": check_enum(SurveyKind),
        "surveyor": check_text(100), "surveyed_on": check_date,
        "damage_ratio": check_decimal(Decimal(0), Decimal(100), "%"),
        "flood_depth_m": check_decimal(Decimal(0), MAX_FLOOD_DEPTH_M, "m"),
        "photo_sha256": check_hashes, "notes": check_text(2000, required=False, multiline=True),
        "application_id": _optional(check_text(80)), "surveyor_id": _optional(check_text(80)),
        "inundation": _optional(check_enum(Inundation)), "resurvey_request": _optional(check_text(80)),
        "entered_by": _optional(check_text(80)), "entered_at": _optional(check_text(40)),
    }

    def __post_init__(self) -> None:
        _coerce(self, "kind", SurveyKind, SurveyKind)
        _coerce(self, "photo_sha256", _as_tuple, tuple)
        if self.inundation is not None:
            _coerce(self, "inundation", Inundation, Inundation)
        validate_record(self)

    def _cross_check(self) -> FieldProblem | None:
        if self.damage_ratio is not None and self.flood_depth_m is not None:
            return FieldProblem("damage_ratio", "give one of damage_ratio and flood_depth_m, not both",
                                "record.exclusive")
        if self.flood_depth_m is not None and self.inundation is Inundation.BELOW_FLOOR:
            return FieldProblem("inundation", "a depth above the floor is 床上浸水 (above_floor)",
                                "survey.inundation_depth")
        if (self.damage_ratio is None and self.flood_depth_m is None
                and self.inundation is not Inundation.BELOW_FLOOR):
            return FieldProblem("damage_ratio", "give damage_ratio, flood_depth_m, or inundation below_floor "
                                "(床下浸水)", "record.exclusive")
        return None

    @property
    def flooding(self) -> Inundation | None:
        """The 床上/床下浸水 box: as recorded, else (an older record) 床上 when a depth above 0 was given."""
        if self.inundation is not None:
            return self.inundation
        if self.flood_depth_m is not None and self.flood_depth_m > 0:
            return Inundation.ABOVE_FLOOR
        return None

    @property
    def damage_class(self) -> Any:
        """certs.damage.DamageClass derived from the ratio, the flood depth, or 床下浸水 alone."""
        from certs.damage import DamageClass

        if self.damage_ratio is not None:
            return DamageClass.from_ratio(self.damage_ratio)
        if self.flood_depth_m is not None:
            return DamageClass.from_flood_depth(self.flood_depth_m)
        # 床下浸水 alone: 準半壊に至らない (内閣府「災害に係る住家の被害認定基準運用指針」, 浸水による被害).
        return DamageClass.ICHIBU_SONKAI


ENTITY_TYPES: dict[str, type] = {
    cls.entity_type: cls for cls in (Town, Resident, Household, Dwelling, Survey)
}


def record_from_state(entity_type: str, state: dict[str, Any]) -> Any:
    """Rebuild the record of ``entity_type`` from its stored state."""
    try:
        cls = ENTITY_TYPES[entity_type]
    except KeyError:
        raise RecordError.single("entity_type", f"unknown entity type {entity_type!r}", "record.entity_type") from None
    return cls.from_state(state)
