"""CSV import of residents (住民基本台帳 extract), dwellings and survey results.

Formats are documented in docs/csv-formats.md. A file is all or nothing: either every row
is valid and all records come back, or none do and every error (capped) names the row, the
column and the reason. Reading streams: bytes are decoded chunk by chunk, and
:class:`RecordStream` yields records as it goes, so a writer can insert them inside one
transaction and let :class:`CsvImportError`, raised at the end, roll it back.

Pure apart from reading the given file; writing to the database is the caller's.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime as dt
import enum
import hashlib
import io
import os
import re
import sys
import time
import unicodedata
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Iterator

from .records import (
    STRUCTURE_LABELS, Dwelling, Household, RecordError, Resident, Sex, Structure, Survey,
    SurveyKind, field_problems, to_katakana,
)

CHUNK = 1 << 20
DEFAULT_MAX_ERRORS = 100
Progress = Callable[[int, "int | None"], None]
Source = bytes | os.PathLike | BinaryIO


@dataclasses.dataclass(frozen=True, slots=True)
class CsvError:
    """One error: spreadsheet row (header = 1; None for the whole file), column, reason."""

    row: int | None
    column: str | None
    reason: str
    code: str

    def __str__(self) -> str:
        where = "file" if self.row is None else f"row {self.row}"
        return f"{where}, column {self.column}: {self.reason}" if self.column else f"{where}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, for the ``fields`` member of an HTTP error."""
        return {"row": self.row, "column": self.column, "reason": self.reason, "code": self.code}


class CsvImportError(ValueError):
    """The file had errors; nothing from it may be kept. ``code`` is ``csv.invalid``."""

    code = "csv.invalid"

    def __init__(self, errors: list[CsvError], error_count: int) -> None:
        self.errors = tuple(errors)
        self.error_count = error_count
        shown = "; ".join(str(e) for e in self.errors[:3])
        super().__init__(f"{error_count} error(s) in CSV file: {shown}")


@dataclasses.dataclass(frozen=True)
class ParseResult:
    """Outcome of :func:`parse`. ``records`` is empty whenever ``errors`` is not."""

    kind: str
    records: tuple[Any, ...]
    households: tuple[Household, ...]
    errors: tuple[CsvError, ...]
    error_count: int
    rows: int
    sha256: str
    encoding: str
    ignored_columns: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when the file is valid and ``records`` holds every row."""
        return self.error_count == 0


class RecordStream:
    """Iterate to read one CSV file: yields records, then raises CsvImportError if bad.

    Records are yielded only while no error has been seen; the rest of the file is still
    read so that all errors are reported. For residents, the derived Household records are
    yielded after the last Resident. After iteration, ``rows``, ``sha256``, ``encoding``
    and ``ignored_columns`` describe the file.
    """

    def __init__(
        self,
        kind: str,
        source: Source,
        *,
        encoding: str | None = None,
        progress: Progress | None = None,
        today: dt.date | None = None,
        max_errors: int = DEFAULT_MAX_ERRORS,
    ) -> None:
        if kind not in SPECS:
            raise ValueError(f"unknown CSV kind {kind!r}; expected one of {', '.join(SPECS)}")
        self.spec = SPECS[kind]
        self.source, self.requested_encoding = source, encoding
        self.progress, self.today, self.max_errors = progress, today, max_errors
        self.errors: list[CsvError] = []
        self.error_count = 0
        self.rows = 0
        self.sha256 = ""
        self.encoding = ""
        self.ignored_columns: tuple[str, ...] = ()

    def error(self, row: int | None, column: str | None, reason: str, code: str) -> None:
        """Record one error (kept up to ``max_errors``; all are counted)."""
        self.error_count += 1
        if len(self.errors) < self.max_errors:
            self.errors.append(CsvError(row, column, reason, code))

    def __iter__(self) -> Iterator[Any]:
        self.errors, self.error_count, self.rows = [], 0, 0
        hasher = hashlib.sha256()
        chunks = _chunks(self.source)
        first = next(chunks, b"")
        self.encoding = _choose_encoding(first, self.requested_encoding)
        lines = _decoded_lines(_prepend(first, chunks), self.encoding, hasher)
        total = _estimate_rows(self.source, first)
        try:
            yield from self._rows(csv.reader(lines), total)
        except UnicodeDecodeError as exc:
            self.error(self.rows + 2, None, f"bytes are not valid {self.encoding} ({exc.reason}); "
                       "pass the file's encoding (utf-8 or cp932)", "csv.encoding")
            for chunk in chunks:  # finish the hash so the file is still identified
                hasher.update(chunk)
        self.sha256 = hasher.hexdigest()
        if self.progress:
            self.progress(self.rows, self.rows)
        if self.error_count:
            raise CsvImportError(self.errors, self.error_count)

    def _rows(self, reader: Iterator[list[str]], total: int | None) -> Iterator[Any]:
        header = next(reader, None)
        if header is None:
            self.error(1, None, "file is empty; a header row is required", "csv.header")
            return
        layout = Layout.from_header(self.spec, header, self.error)
        self.ignored_columns = layout.ignored if layout else ()
        if layout is None:
            return
        checker = RowChecker(self.spec, layout, self.error, self.today)
        for row_no, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue  # blank lines and ",,,," rows left by spreadsheets
            self.rows += 1
            record = checker.check(row_no, cells)
            if record is not None and not self.error_count:
                yield record
            if self.progress and self.rows % 1000 == 0:
                self.progress(self.rows, max(total, self.rows) if total is not None else None)
        for extra in checker.finish():
            if not self.error_count:
                yield extra


def parse(kind: str, source: Source, **options: Any) -> ParseResult:
    """Read a whole file of ``kind`` (residents, dwellings, surveys), all or nothing.

    Options are those of :class:`RecordStream`. Records are held in memory (parsing
    100,000 residents peaks near 120 MB RSS, streaming them near 55 MB); use RecordStream
    directly to insert while reading.
    """
    stream = RecordStream(kind, source, **options)
    records: list[Any] = []
    try:
        records.extend(stream)
    except CsvImportError:
        records = []
    households = tuple(r for r in records if isinstance(r, Household))
    main = tuple(r for r in records if not isinstance(r, Household))
    return ParseResult(kind, main, households, tuple(stream.errors), stream.error_count,
                       stream.rows, stream.sha256, stream.encoding, stream.ignored_columns)


def parse_residents(source: Source, **options: Any) -> ParseResult:
    """Parse a 住民基本台帳 extract; ``households`` holds the derived 世帯."""
    return parse("residents", source, **options)


def parse_dwellings(source: Source, **options: Any) -> ParseResult:
    """Parse a dwellings (住家) file."""
    return parse("dwellings", source, **options)


def parse_surveys(source: Source, **options: Any) -> ParseResult:
    """Parse a survey results (被害認定調査) file."""
    return parse("surveys", source, **options)


def file_sha256(source: Source) -> str:
    """SHA-256 of the raw bytes, to detect a re-import before parsing."""
    hasher = hashlib.sha256()
    for chunk in _chunks(source):
        hasher.update(chunk)
    return hasher.hexdigest()


def write_csv(kind: str, records: Iterable[Any], out: io.TextIOBase) -> int:
    """Write records of ``kind`` with the canonical Japanese header; return the row count.

    ``out`` must be opened with ``newline=""``.
    """
    spec = SPECS[kind]
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.names[0] for c in spec.columns])
    count = 0
    for record in records:
        writer.writerow([c.format(getattr(record, c.field)) for c in spec.columns])
        count += 1
    return count


# --- reading bytes ----------------------------------------------------------------------

def _chunks(source: Source) -> Iterator[bytes]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        for start in range(0, len(data), CHUNK):
            yield data[start:start + CHUNK]
    elif isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as handle:
            yield from iter(lambda: handle.read(CHUNK), b"")
    else:
        yield from iter(lambda: source.read(CHUNK), b"")


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def _choose_encoding(first: bytes, requested: str | None) -> str:
    """Return the codec: BOM means UTF-8; else the requested one, else UTF-8 if it decodes."""
    if first.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if requested:
        name = codecs.lookup(requested).name
        # Registry exports said to be Shift_JIS are CP932 in practice (①, 髙, NEC/IBM extensions).
        return "cp932" if name in {"shift_jis", "cp932", "ms932"} else name
    try:
        codecs.getincrementaldecoder("utf-8")().decode(first, final=False)
    except UnicodeDecodeError:
        return "cp932"
    return "utf-8"


def _decoded_lines(chunks: Iterable[bytes], encoding: str, hasher: Any) -> Iterator[str]:
    # Split on "\n" only (keeping it) so csv sees quoted newlines; str.splitlines would
    # also split on U+2028 and friends and cut records apart.
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    tail = ""
    for chunk in chunks:
        hasher.update(chunk)
        parts = (tail + decoder.decode(chunk)).split("\n")
        tail = parts.pop()
        for part in parts:
            yield part + "\n"
    tail += decoder.decode(b"", final=True)
    if tail:
        yield tail


def _estimate_rows(source: Source, first: bytes) -> int | None:
    """Data rows, from the line count: exact unless cells hold newlines (then an upper bound)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)) and os.path.getsize(source) <= len(first):
        data = first
    elif isinstance(source, (str, os.PathLike)):
        return sum(chunk.count(b"\n") for chunk in _chunks(source)) - 1
    else:
        return None
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1) - 1


# --- columns ----------------------------------------------------------------------------

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


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where each known column sits in this file's header, and what was ignored."""

    positions: tuple[tuple[int, Column, str], ...]  # (index, column, header text as given)
    width: int
    ignored: tuple[str, ...]

    @classmethod
    def from_header(cls, spec: Spec, header: list[str], error: Callable[..., None]) -> Layout | None:
        """Match header cells to columns; report missing or repeated ones and return None."""
        by_key = {header_key(n): col for col in spec.columns for n in col.names}
        found: dict[str, tuple[int, Column, str]] = {}
        ignored: list[str] = []
        ok = True
        for index, text in enumerate(header):
            col = by_key.get(header_key(text))
            if col is None:
                ignored.append(text)
            elif col.field in found:
                error(1, text, f"same column as {found[col.field][2]!r}", "csv.duplicate_column")
                ok = False
            else:
                found[col.field] = (index, col, text.lstrip("\ufeff"))
        for col in spec.columns:
            if col.required and col.field not in found:
                error(1, col.names[0], f"missing column (accepted names: {', '.join(col.names)})",
                      "csv.missing_column")
                ok = False
        if spec.one_of and not any(f in found for f in spec.one_of):
            names = " or ".join(c.names[0] for c in spec.columns if c.field in spec.one_of)
            error(1, names, "missing column: one of them is required", "csv.missing_column")
            ok = False
        return cls(tuple(found.values()), len(header), tuple(ignored)) if ok else None

    def column_name(self, field: str, spec: Spec) -> str:
        """The header text of ``field`` in this file (its canonical name if absent)."""
        for _, col, text in self.positions:
            if col.field == field:
                return text
        return next(c.names[0] for c in spec.columns if c.field == field)


class RowChecker:
    """Turns rows into records, reporting every problem; tracks ids and households."""

    def __init__(self, spec: Spec, layout: Layout, error: Callable[..., None], today: dt.date | None) -> None:
        self.spec, self.layout, self.error, self.today = spec, layout, error, today
        self.seen: dict[str, int] = {}
        # household id -> [first row, town code, householder's row, resident id, address]
        self.households: dict[str, list[Any]] | None = {} if spec.record is Resident else None

    def check(self, row: int, cells: list[str]) -> Any:
        """Return the row's record, or None after reporting its errors."""
        if len(cells) != self.layout.width:
            self.error(row, None, f"has {len(cells)} cells but the header has {self.layout.width}",
                       "csv.field_count")
            return None
        values: dict[str, Any] = {}
        for index, col, text in self.layout.positions:
            try:
                values[col.field] = col.read(cells[index])
            except CellError as exc:
                self.error(row, text, exc.reason, exc.code)
        self._check_duplicate(row, values.get(self.spec.id_field))
        if len(values) < len(self.layout.positions):
            self._report(row, field_problems(self.spec.record, values))
            return None
        try:
            record = self.spec.record(**values)
        except RecordError as exc:
            self._report(row, exc.problems)
            return None
        return self._accept(row, record)

    def _accept(self, row: int, record: Any) -> Any:
        for name in self.spec.date_fields:
            if self.today is not None and getattr(record, name) > self.today:
                self.error(row, self._name(name), f"is after today ({self.today.isoformat()})", "csv.future_date")
                return None
        if self.households is not None:
            self._track_household(row, record)
        return record

    def _name(self, field: str) -> str:
        return self.layout.column_name(field, self.spec)

    def _report(self, row: int, problems: Iterable[Any]) -> None:
        for p in problems:
            self.error(row, self._name(p.field), p.reason, p.code)

    def _check_duplicate(self, row: int, entity_id: Any) -> None:
        if not isinstance(entity_id, str) or not entity_id:
            return
        first = self.seen.setdefault(entity_id, row)
        if first != row:
            self.error(row, self._name(self.spec.id_field), f"duplicate id {entity_id!r}, first on row {first}",
                       "csv.duplicate_id")

    def _track_household(self, row: int, r: Resident) -> None:
        assert self.households is not None
        entry = self.households.setdefault(r.household_id, [row, r.town_code, None, None, None])
        if entry[1] != r.town_code:
            self.error(row, self._name("town_code"),
                       f"household {r.household_id} is in town {entry[1]} on row {entry[0]}", "csv.household")
        if r.is_householder and entry[2] is not None:
            self.error(row, self._name("is_householder"),
                       f"household {r.household_id} already has a householder on row {entry[2]}", "csv.household")
        elif r.is_householder:
            entry[2:] = [row, r.resident_id, r.address]

    def finish(self) -> Iterator[Household]:
        """After the last row: check every household has a householder, then yield them."""
        if self.households is None:
            return
        for household_id, (first, _, householder_row, _, _) in self.households.items():
            if householder_row is None:
                self.error(first, self._name("is_householder"), f"household {household_id} has no householder",
                           "csv.household")
        for household_id, (_, town, _, resident_id, address) in self.households.items():
            if resident_id is not None:
                yield Household(household_id, town, resident_id, address)


# --- progress bar -----------------------------------------------------------------------

class ProgressBar:
    """A text progress bar for the CLI, written to stderr; call it as a progress callback."""

    def __init__(self, label: str = "", out: Any = None, width: int = 30, interval: float = 0.1) -> None:
        self.label, self.out, self.width, self.interval = label, out or sys.stderr, width, interval
        self._last = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        final = total is not None and done >= total
        if not final and now - self._last < self.interval:
            return
        self._last = now
        if total:
            filled = self.width * done // total
            bar = "#" * filled + "." * (self.width - filled)
            text = f"\r{self.label} [{bar}] {100 * done // total:3d}% {done:,}/{total:,} rows"
        else:
            text = f"\r{self.label} {done:,} rows"
        self.out.write(text + ("\n" if final else ""))
        self.out.flush()


def main(argv: list[str] | None = None) -> int:
    """CLI: ``python -m service.csv_import KIND FILE [--encoding ENC]``; validates only."""
    import argparse

    parser = argparse.ArgumentParser(description="Validate a residents, dwellings or surveys CSV file.")
    parser.add_argument("kind", choices=sorted(SPECS))
    parser.add_argument("file", type=Path)
    parser.add_argument("--encoding", help="utf-8 or cp932 (default: detect)")
    parser.add_argument("--max-errors", type=int, default=DEFAULT_MAX_ERRORS)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = parse(args.kind, args.file, encoding=args.encoding, max_errors=args.max_errors,
                   progress=ProgressBar(args.kind))
    elapsed = time.perf_counter() - started
    for error in result.errors:
        print(error)
    if result.error_count > len(result.errors):
        print(f"... and {result.error_count - len(result.errors)} more errors")
    print(f"{args.kind}: {result.rows} rows, {len(result.records)} records, "
          f"{len(result.households)} households, {result.error_count} errors, "
          f"{result.encoding}, sha256 {result.sha256}, {elapsed:.2f} s")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
