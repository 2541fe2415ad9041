"""Column definitions of the CSV import: accepted header names, cell readers and writers.

Pure. Each kind (residents, dwellings, surveys) is a :class:`Spec` of columns (:class:`Column`);
a column lists the header names it accepts (canonical first, then aliases), reads a cell
into a record field (NFKC, 和暦 dates, 男/女, 木造…) and formats it back for
:func:`service.imports.stream.write_csv`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
import unicodedata
from decimal import Decimal
from typing import Any, Callable

from service.counter.records import (
    STRUCTURE_LABELS,
    Dwelling,
    Resident,
    Sex,
    Structure,
    Survey,
    SurveyKind,
    to_katakana,
)


class CellError(ValueError):
    """A cell that cannot be read as its column's type."""

    def __init__(self, reason: str, code: str = "csv.format") -> None:
        super().__init__(reason)
        self.reason, self.code = reason, code


def _nfkc(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


def _read_text(value: str) -> str:
    # Names and addresses are kept as registered (no NFKC): only the cell's edges are trimmed.
    return value.replace("\r\n", "\n").strip()


def _read_kana(value: str) -> str:
    # Half-width ｶﾅ becomes full-width, and ひらがな becomes カタカナ; both are lossless.
    return to_katakana(_nfkc(value))


def _choice(table: dict[str, Any], what: str) -> Callable[[str], Any]:
    def read(value: str) -> Any:
        try:
            return table[_nfkc(value).casefold()]
        except KeyError:
            raise CellError(f"{value.strip()!r} is not a valid {what}", "csv.choice") from None

    return read


def _read_int(value: str) -> int:
    text = _nfkc(value).removesuffix("階")
    if not text.isdigit():
        raise CellError(f"{value.strip()!r} is not a whole number", "csv.number")
    return int(text)


def _decimal_reader(suffix: str) -> Callable[[str], Decimal | None]:
    def read(value: str) -> Decimal | None:
        text = _nfkc(value).removesuffix(suffix).strip()
        if not text:
            return None
        try:
            number = Decimal(text)
        except ArithmeticError:
            raise CellError(f"{value.strip()!r} is not a number", "csv.number") from None
        return number

    return read


def _read_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in _nfkc(value).split(";") if item.strip())


def _read_hashes(value: str) -> tuple[str, ...]:
    return tuple(h.lower() for h in _read_list(value))


# 和暦: (kanji, initial, first day). A date must fall on or after its era's first day and
# before the next era's first day (so 昭和64年1月8日 is refused).
_ERAS = (
    ("明治", "m", dt.date(1868, 1, 25)), ("大正", "t", dt.date(1912, 7, 30)),
    ("昭和", "s", dt.date(1926, 12, 25)), ("平成", "h", dt.date(1989, 1, 8)),
    ("令和", "r", dt.date(2019, 5, 1)),
)
_WAREKI = re.compile(r"(明治|大正|昭和|平成|令和|[mtshr])\s*(元|\d{1,2})[年./-](\d{1,2})[月./-](\d{1,2})日?")
_SEIREKI = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?|(\d{4})(\d{2})(\d{2})")


def _read_date(value: str) -> dt.date:
    text = _nfkc(value).casefold()
    try:
        if match := _SEIREKI.fullmatch(text):
            year, month, day = (int(g) for g in match.groups() if g is not None)
            return dt.date(year, month, day)
        if match := _WAREKI.fullmatch(text):
            return _wareki(*match.groups())
    except CellError:
        raise
    except ValueError:
        raise CellError(f"{value.strip()!r} is not a real calendar date", "csv.date") from None
    raise CellError(f"{value.strip()!r} is not a date (YYYY-MM-DD, YYYYMMDD or 昭和45年3月1日)", "csv.date")


def _wareki(era: str, year: str, month: str, day: str) -> dt.date:
    index = next(i for i, (kanji, initial, _) in enumerate(_ERAS) if era in (kanji, initial))
    start = _ERAS[index][2]
    result = dt.date(start.year + (1 if year == "元" else int(year)) - 1, int(month), int(day))
    end = _ERAS[index + 1][2] if index + 1 < len(_ERAS) else dt.date.max
    if not start <= result < end:
        raise CellError(f"{result.isoformat()} is outside the {_ERAS[index][0]} era", "csv.date")
    return result


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple):
        return ";".join(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, enum.Enum):
        return str(value.value)
    return value.isoformat() if isinstance(value, dt.date) else str(value)


_SEX = {"1": Sex.MALE, "男": Sex.MALE, "男性": Sex.MALE, "m": Sex.MALE, "male": Sex.MALE,
        "2": Sex.FEMALE, "女": Sex.FEMALE, "女性": Sex.FEMALE, "f": Sex.FEMALE, "female": Sex.FEMALE,
        "9": Sex.UNKNOWN, "不明": Sex.UNKNOWN, "unknown": Sex.UNKNOWN}
_FLAG = {"1": True, "true": True, "yes": True, "y": True, "はい": True, "○": True, "世帯主": True,
         "0": False, "false": False, "no": False, "n": False, "いいえ": False, "": False}
_STRUCTURE = {s.value: s for s in Structure} | {label: s for s, label in STRUCTURE_LABELS.items()} | {
    "木": Structure.WOOD, "w": Structure.WOOD, "w造": Structure.WOOD, "s": Structure.STEEL,
    "s造": Structure.STEEL, "鉄骨": Structure.STEEL, "rc造": Structure.RC, "src造": Structure.SRC,
    "鉄筋コンクリート": Structure.RC, "鉄骨鉄筋コンクリート": Structure.SRC}
_KIND = {"first": SurveyKind.FIRST, "1": SurveyKind.FIRST, "第1次": SurveyKind.FIRST,
         "第一次": SurveyKind.FIRST, "1次": SurveyKind.FIRST, "第1次調査": SurveyKind.FIRST,
         "second": SurveyKind.SECOND, "2": SurveyKind.SECOND, "第2次": SurveyKind.SECOND,
         "第二次": SurveyKind.SECOND, "2次": SurveyKind.SECOND, "第2次調査": SurveyKind.SECOND}


@dataclasses.dataclass(frozen=True)
class Column:
    """One CSV column: record field, accepted header names (canonical first), reader, writer."""

    field: str
    names: tuple[str, ...]
    read: Callable[[str], Any]
    format: Callable[[Any], str] = _fmt
    required: bool = True


@dataclasses.dataclass(frozen=True)
class Spec:
    """One CSV kind: its record class, columns, id column and date columns."""

    kind: str
    record: type
    columns: tuple[Column, ...]
    id_field: str
    date_fields: tuple[str, ...]
    one_of: tuple[str, ...] = ()  # at least one of these optional columns must be present


def _c(field: str, names: str, read: Callable[[str], Any], **kw: Any) -> Column:
    return Column(field, tuple(names.split()) + (field,), read, **kw)


_TOWN = "市区町村コード 団体コード 全国地方公共団体コード"
SPECS = {s.kind: s for s in (
    Spec("residents", Resident, (
        _c("resident_id", "住民ID 住民番号", _nfkc), _c("town_code", _TOWN, _nfkc),
        _c("family_name", "氏 姓 surname", _read_text), _c("given_name", "名", _read_text),
        _c("family_kana", "氏カナ 氏フリガナ 姓カナ", _read_kana),
        _c("given_kana", "名カナ 名フリガナ", _read_kana),
        _c("birth_date", "生年月日 date_of_birth", _read_date),
        _c("sex", "性別", _choice(_SEX, "性別 (1, 2, 9, 男, 女, 不明)")),
        _c("address", "住所", _read_text), _c("household_id", "世帯番号 世帯ID", _nfkc),
        _c("is_householder", "世帯主 世帯主フラグ householder", _choice(_FLAG, "世帯主 flag (1 or 0)")),
    ), "resident_id", ("birth_date",)),
    Spec("dwellings", Dwelling, (
        _c("dwelling_id", "住家ID 家屋ID", _nfkc), _c("town_code", _TOWN, _nfkc),
        _c("location", "所在地", _read_text),
        _c("structure", "構造", _choice(_STRUCTURE, "構造"), format=lambda s: s.label_ja),
        _c("storeys", "階数 floors", _read_int),
        _c("household_ids", "世帯番号 世帯ID 居住世帯", _read_list),
    ), "dwelling_id", ()),
    Spec("surveys", Survey, (
        _c("survey_id", "調査ID", _nfkc), _c("dwelling_id", "住家ID 家屋ID", _nfkc),
        _c("kind", "調査区分 調査種別", _choice(_KIND, "調査区分 (第1次, 第2次)"),
           format=lambda k: "第1次" if k is SurveyKind.FIRST else "第2次"),
        _c("surveyor", "調査員", _read_text), _c("surveyed_on", "調査日 survey_date", _read_date),
        _c("damage_ratio", "損害割合 損害割合% damage_ratio_percent", _decimal_reader("%"), required=False),
        _c("flood_depth_m", "浸水深 浸水深m flood_depth", _decimal_reader("m"), required=False),
        _c("photo_sha256", "写真SHA256 写真ハッシュ photo_hashes", _read_hashes, required=False),
        _c("notes", "備考", _read_text, required=False),
    ), "survey_id", ("surveyed_on",), one_of=("damage_ratio", "flood_depth_m")),
)}


def header_key(name: str) -> str:
    """Header names match after NFKC, case folding and dropping spaces, _ - ( ) and BOM."""
    folded = unicodedata.normalize("NFKC", name).casefold().lstrip("\ufeff")
    return "".join(c for c in folded if c not in " \t_-()（）・")
