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
import functools
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, ClassVar

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_KANA = re.compile(r"[\u30A1-\u30FA][\u30A1-\u30FE]*")
_CONTROL = {False: re.compile(r"[\x00-\x1f\x7f-\x9f]"), True: re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_REGION = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
EARLIEST_DATE = dt.date(1870, 1, 1)
MAX_FLOOD_DEPTH_M = Decimal(30)  # above this, a value in cm was almost surely typed as m


@dataclasses.dataclass(frozen=True, slots=True)
class FieldProblem:
    """One failing field: which field, why (for people), and a stable code (for programs)."""

    field: str
    reason: str
    code: str


class RecordError(ValueError):
    """Invalid record input (HTTP 422). ``field``/``reason``/``code`` are the first problem's."""

    def __init__(self, problems: list[FieldProblem] | tuple[FieldProblem, ...]) -> None:
        if not problems:
            raise ValueError("RecordError needs at least one problem")
        self.problems = tuple(problems)
        first = self.problems[0]
        self.field, self.reason, self.code = first.field, first.reason, first.code
        super().__init__("; ".join(f"{p.field}: {p.reason}" for p in self.problems))

    @classmethod
    def single(cls, field: str, reason: str, code: str) -> RecordError:
        """An error about one field."""
        return cls([FieldProblem(field, reason, code)])

    def fields(self) -> list[dict[str, str]]:
        """The problems as JSON-ready dicts, for the ``fields`` member of the error body."""
        return [{"field": p.field, "reason": p.reason, "code": p.code} for p in self.problems]


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


# --- field checks: each returns None or one FieldProblem --------------------------------

Check = Callable[[str, Any], "FieldProblem | None"]


def _type_problem(field: str, value: Any, expected: str) -> FieldProblem:
    return FieldProblem(field, f"must be {expected}, got {type(value).__name__}", "record.type")


def _id(field: str, value: Any) -> FieldProblem | None:
    if not isinstance(value, str):
        return _type_problem(field, value, "a string")
    if not ID_PATTERN.fullmatch(value):
        return FieldProblem(field, "must be 1-64 ASCII letters, digits, '.', '_' or '-'", "record.id")
    return None


def _text(max_len: int, *, required: bool = True, multiline: bool = False) -> Check:
    control = _CONTROL[multiline]  # Unicode category Cc; multiline text may hold "\n"

    def check(field: str, value: Any) -> FieldProblem | None:
        if not isinstance(value, str):
            return _type_problem(field, value, "a string")
        if required and not value:
            return FieldProblem(field, "is required", "record.required")
        if value != value.strip():
            return FieldProblem(field, "has leading or trailing spaces", "record.whitespace")
        if len(value) > max_len:
            return FieldProblem(field, f"is longer than {max_len} characters", "record.too_long")
        if control.search(value):
            return FieldProblem(field, "contains control characters", "record.control_char")
        return None

    return check


def _kana(field: str, value: Any) -> FieldProblem | None:
    if not isinstance(value, str):
        return _type_problem(field, value, "a string")
    if not _KANA.fullmatch(value) or len(value) > 50:
        return FieldProblem(field, "must be 1-50 full-width katakana (カタカナ)", "record.kana")
    return None


def _town(field: str, value: Any) -> FieldProblem | None:
    if not isinstance(value, str):
        return _type_problem(field, value, "a string")
    return _town_code_problem(field, value)


@functools.lru_cache(maxsize=4096)  # a group has a handful of towns; imports repeat them
def _town_code_problem(field: str, value: str) -> FieldProblem | None:
    from certs.errors import InvalidInput
    from certs.town_code import validate_town_code

    try:
        validate_town_code(value, field)
    except InvalidInput as exc:
        return FieldProblem(field, exc.message, exc.code)
    return None


def _region(field: str, value: Any) -> FieldProblem | None:
    if not isinstance(value, str):
        return _type_problem(field, value, "a string")
    if not _REGION.fullmatch(value):
        return FieldProblem(field, "must be 1-32 lower-case ASCII letters, digits, '_' or '-'", "record.id")
    return None


def _date(field: str, value: Any) -> FieldProblem | None:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        return _type_problem(field, value, "a date")
    if value < EARLIEST_DATE:
        return FieldProblem(field, f"is before {EARLIEST_DATE.isoformat()}", "record.date_range")
    return None


def _bool(field: str, value: Any) -> FieldProblem | None:
    return None if isinstance(value, bool) else _type_problem(field, value, "true or false")


def _enum(kind: type[enum.Enum]) -> Check:
    def check(field: str, value: Any) -> FieldProblem | None:
        if isinstance(value, kind):
            return None
        codes = ", ".join(str(m.value) for m in kind)
        return FieldProblem(field, f"must be one of {codes}", "record.choice")

    return check


def _storeys(field: str, value: Any) -> FieldProblem | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return _type_problem(field, value, "an integer")
    if not 1 <= value <= 99:
        return FieldProblem(field, "must be 1 to 99", "record.range")
    return None


def _decimal(low: Decimal, high: Decimal, unit: str) -> Check:
    def check(field: str, value: Any) -> FieldProblem | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            return _type_problem(field, value, "a Decimal")
        if not value.is_finite() or not low <= value <= high:
            return FieldProblem(field, f"must be {low} to {high} {unit}", "record.range")
        if value.as_tuple().exponent < -2:  # type: ignore[operator]
            return FieldProblem(field, "has more than 2 decimal places", "record.precision")
        return None

    return check


def _ids(field: str, value: Any) -> FieldProblem | None:
    if not isinstance(value, tuple):
        return _type_problem(field, value, "a list of ids")
    for item in value:
        if problem := _id(field, item):
            return problem
    if len(set(value)) != len(value):
        return FieldProblem(field, "lists the same id twice", "record.duplicate")
    return None


def _hashes(field: str, value: Any) -> FieldProblem | None:
    if not isinstance(value, tuple):
        return _type_problem(field, value, "a list of SHA-256 hex digests")
    if any(not isinstance(h, str) or not _SHA256.fullmatch(h) for h in value):
        return FieldProblem(field, "each entry must be 64 lower-case hex digits (SHA-256)", "record.sha256")
    if len(set(value)) != len(value):
        return FieldProblem(field, "lists the same photo twice", "record.duplicate")
    return None


def _validate(record: Any) -> None:
    """Run the class's field checks and cross-field rule; raise RecordError listing all."""
    problems = [
        p for name, check in record.CHECKS.items() if (p := check(name, getattr(record, name))) is not None
    ]
    if not problems and (cross := record._cross_check()) is not None:
        problems.append(cross)
    if problems:
        raise RecordError(problems)


def field_problems(cls: type, values: dict[str, Any]) -> list[FieldProblem]:
    """Check the given fields of ``cls`` one by one (used by the CSV import to report all)."""
    return [p for name, v in values.items() if (p := cls.CHECKS[name](name, v)) is not None]


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


class _Record:
    """Shared state conversion. Subclasses are frozen dataclasses with CHECKS."""

    entity_type: ClassVar[str]
    id_field: ClassVar[str]
    CHECKS: ClassVar[dict[str, Check]]

    def _cross_check(self) -> FieldProblem | None:
        return None

    @property
    def entity_id(self) -> str:
        """The entity id in the generic store."""
        return getattr(self, self.id_field)

    def to_state(self) -> dict[str, Any]:
        """JSON-safe dict of all fields (ISO dates, Decimal strings, enum codes, lists)."""
        return {f.name: _encode(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Any:
        """Rebuild a record from :meth:`to_state` output; raise RecordError if it is invalid."""
        if not isinstance(state, dict):
            raise RecordError.single("state", "must be an object", "record.type")
        names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        problems = [FieldProblem(n, "is missing", "record.required") for n in names if n not in state]
        problems += [FieldProblem(k, "is not a field", "record.unknown_field") for k in state if k not in names]
        values = {}
        for name in names:
            if name in state:
                try:
                    values[name] = _DECODERS.get(name, _identity)(state[name])
                except (ValueError, TypeError, InvalidOperation):
                    problems.append(FieldProblem(name, "has the wrong form", "record.type"))
        if problems:
            raise RecordError(problems)
        return cls(**values)


def _encode(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, tuple):
        return list(value)
    return value


def _identity(value: Any) -> Any:
    return value


def _decode_date(value: Any) -> dt.date:
    if not isinstance(value, str):
        raise TypeError("date must be an ISO string")
    return dt.date.fromisoformat(value)


def _decode_decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("decimal must be a string")
    return Decimal(value)


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "birth_date": _decode_date,
    "surveyed_on": _decode_date,
    "damage_ratio": _decode_decimal,
    "flood_depth_m": _decode_decimal,
}


@dataclasses.dataclass(frozen=True, slots=True)
class Town(_Record):
    """市町村: 全国地方公共団体コード, name, region id and mayor's name."""

    entity_type: ClassVar[str] = "town"
    id_field: ClassVar[str] = "code"
    code: str
    name: str
    region: str
    mayor: str

    CHECKS: ClassVar[dict[str, Check]] = {
        "code": _town, "name": _text(50), "region": _region, "mayor": _text(50),
    }

    def __post_init__(self) -> None:
        _validate(self)


@dataclasses.dataclass(frozen=True, slots=True)
class Resident(_Record):
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
        "resident_id": _id, "town_code": _town, "family_name": _text(50),
        "given_name": _text(50), "family_kana": _kana, "given_kana": _kana,
        "birth_date": _date, "sex": _enum(Sex), "address": _text(200),
        "household_id": _id, "is_householder": _bool,
    }

    def __post_init__(self) -> None:
        _coerce(self, "sex", _as_sex, Sex)
        _validate(self)

    @property
    def name_key(self) -> str:
        """Search key of the full name in kanji (see :func:`search_key`)."""
        return search_key(self.family_name + self.given_name)

    @property
    def kana_key(self) -> str:
        """Search key of the full reading (see :func:`search_key`)."""
        return search_key(self.family_kana + self.given_kana)


@dataclasses.dataclass(frozen=True, slots=True)
class Household(_Record):
    """世帯: its householder (世帯主) and the address they are registered at."""

    entity_type: ClassVar[str] = "household"
    id_field: ClassVar[str] = "household_id"
    household_id: str
    town_code: str
    householder_id: str
    address: str

    CHECKS: ClassVar[dict[str, Check]] = {
        "household_id": _id, "town_code": _town, "householder_id": _id, "address": _text(200),
    }

    def __post_init__(self) -> None:
        _validate(self)


@dataclasses.dataclass(frozen=True, slots=True)
class Dwelling(_Record):
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
        "dwelling_id": _id, "town_code": _town, "location": _text(200),
        "structure": _enum(Structure), "storeys": _storeys, "household_ids": _ids,
    }

    def __post_init__(self) -> None:
        _coerce(self, "structure", Structure, Structure)
        _coerce(self, "household_ids", _as_tuple, tuple)
        _validate(self)


@dataclasses.dataclass(frozen=True, slots=True)
class Survey(_Record):
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
        "survey_id": _id, "dwelling_id": _id, "kind": _enum(SurveyKind),
        "surveyor": _text(100), "surveyed_on": _date,
        "damage_ratio": _decimal(Decimal(0), Decimal(100), "%"),
        "flood_depth_m": _decimal(Decimal(0), MAX_FLOOD_DEPTH_M, "m"),
        "photo_sha256": _hashes, "notes": _text(2000, required=False, multiline=True),
    }

    def __post_init__(self) -> None:
        _coerce(self, "kind", SurveyKind, SurveyKind)
        _coerce(self, "photo_sha256", _as_tuple, tuple)
        _validate(self)

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


# --- search ----------------------------------------------------------------------------

# Variant kanji common in names, folded for search only (records keep the registered form).
_VARIANTS = str.maketrans({
    "髙": "高", "﨑": "崎", "嵜": "崎", "碕": "崎", "齋": "斎", "齊": "斎", "斉": "斎",
    "邊": "辺", "邉": "辺", "嶋": "島", "嶌": "島", "澤": "沢", "濱": "浜", "櫻": "桜",
    "廣": "広", "國": "国", "德": "徳", "眞": "真", "實": "実", "榮": "栄", "惠": "恵",
    "藏": "蔵", "冨": "富", "槇": "槙", "曽": "曾", "萬": "万", "龍": "竜", "瀧": "滝",
})
_HIRA_TO_KATA = str.maketrans({chr(c): chr(c + 0x60) for c in range(0x3041, 0x3097)} | {"ゝ": "ヽ", "ゞ": "ヾ"})
_DROP = str.maketrans("", "", "・")


def to_katakana(text: str) -> str:
    """Fold ひらがな to カタカナ (lossless); other characters are unchanged."""
    return text.translate(_HIRA_TO_KATA)


def search_key(text: str) -> str:
    """Normalise a name or reading for search.

    NFKC (full/half width), case folding, hiragana folded to katakana, spaces, middle
    dots dropped, and common variant kanji (髙→高, 﨑→崎, 齋→斎…)
    folded, so that "ﾀｶﾊｼ", "たかはし" and "タカハシ" match, and so do "髙橋" and "高橋".
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = folded.translate(_HIRA_TO_KATA).translate(_VARIANTS).translate(_DROP)
    return "".join(folded.split())
