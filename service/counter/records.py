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
    EARLIEST_DATE, ID_PATTERN, Check, FieldProblem, RecordError, check_bool, check_date,
    check_decimal, check_enum, check_hashes, check_id, check_ids, check_kana, check_region,
    check_storeys, check_text, check_town, field_problems, validate_record,
)
from .record_state import RecordBase
from .search_keys import search_key, to_katakana

__all__ = [
    "EARLIEST_DATE", "ENTITY_TYPES", "ID_PATTERN", "MAX_FLOOD_DEPTH_M", "STRUCTURE_LABELS",
    "Check", "Dwelling", "FieldProblem", "Household", "RecordError", "Resident", "Sex",
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
    """被害認定調査: a damage ratio (損害割合, %) or a flood depth (浸水深, m), never both.

    The damage class is derived (:attr:`damage_class`), never stored or typed.
    """

    entity_type: ClassVar[str] = "survey"
    id_field: ClassVar[str] = "survey_id"
    survey_id: str
    dwelling_id: str
    kind: SurveyKind
    surveyor: str
    surveyed_on: dt.date
    damage_ratio: Decimal | None = None
    flood_depth_m: Decimal | None = None
    photo_sha256: tuple[str, ...] = ()
    notes: str = ""

    CHECKS: ClassVar[dict[str, Check]] = {
        "survey_id": check_id, "dwelling_id": check_id, "kind": check_enum(SurveyKind),
        "surveyor": check_text(100), "surveyed_on": check_date,
        "damage_ratio": check_decimal(Decimal(0), Decimal(100), "%"),
        "flood_depth_m": check_decimal(Decimal(0), MAX_FLOOD_DEPTH_M, "m"),
        "photo_sha256": check_hashes, "notes": check_text(2000, required=False, multiline=True),
    }

    def __post_init__(self) -> None:
        _coerce(self, "kind", SurveyKind, SurveyKind)
        _coerce(self, "photo_sha256", _as_tuple, tuple)
        validate_record(self)

    def _cross_check(self) -> FieldProblem | None:
        if (self.damage_ratio is None) == (self.flood_depth_m is None):
            return FieldProblem(
                "damage_ratio", "give exactly one of damage_ratio and flood_depth_m", "record.exclusive"
            )
        return None

    @property
    def damage_class(self) -> Any:
        """certs.damage.DamageClass derived from the ratio or the flood depth."""
        from certs.damage import DamageClass

        if self.damage_ratio is not None:
            return DamageClass.from_ratio(self.damage_ratio)
        return DamageClass.from_flood_depth(self.flood_depth_m)  # type: ignore[arg-type]


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
