"""CSV import of residents (住民基本台帳 extract), dwellings and survey results.

Formats are documented in docs/csv-formats.md. A file is all or nothing: either every row
is valid and all records come back, or none do and every error (capped) names the row, the
column and the reason. Reading streams: bytes are decoded chunk by chunk, and
:class:`RecordStream` yields records as it goes, so a writer can insert them inside one
transaction and let :class:`CsvImportError`, raised at the end, roll it back.

Pure apart from reading the given file; writing to the database is the caller's.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from risai_errors import FieldProblem
from service.counter.records import Household
from service.errors import InvalidRequest

# Columns, byte reading, row checks and the progress bar live in their own modules; the
# names other code imports from here are re-exported.
from .columns import SPECS, CellError, Column, Spec, header_key
from .progress import ProgressBar
from .rows import Layout, RowChecker
from .source import CHUNK, Source, choose_encoding, decoded_lines, estimate_rows, iter_chunks, prepend

__all__ = [
    "CHUNK", "DEFAULT_MAX_ERRORS", "SPECS", "CellError", "Column", "CsvError", "CsvImportError",
    "Layout", "ParseResult", "Progress", "ProgressBar", "RecordStream", "RowChecker", "Source",
    "Spec", "file_sha256", "header_key", "main", "parse", "parse_dwellings", "parse_residents",
    "parse_surveys", "write_csv",
]

DEFAULT_MAX_ERRORS = 100
Progress = Callable[[int, "int | None"], None]


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


class CsvImportError(InvalidRequest):
    """The file had errors; nothing from it may be kept (the one error type, kind INVALID,
    code ``csv.invalid``): one field problem per error, with its row and column."""

    code = "csv.invalid"

    def __init__(self, errors: list[CsvError], error_count: int) -> None:
        self.errors = tuple(errors)
        self.error_count = error_count
        shown = "; ".join(str(e) for e in self.errors[:3])
        super().__init__(f"{error_count} error(s) in CSV file: {shown}", fields=[
            FieldProblem(e.column or "file", e.reason, e.code, {"row": e.row, "column": e.column})
            for e in self.errors])


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
        chunks = iter_chunks(self.source)
        first = next(chunks, b"")
        self.encoding = choose_encoding(first, self.requested_encoding)
        lines = decoded_lines(prepend(first, chunks), self.encoding, hasher)
        total = estimate_rows(self.source, first)
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
    for chunk in iter_chunks(source):
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


def main(argv: list[str] | None = None) -> int:
    """CLI: ``python -m service.imports.stream KIND FILE [--encoding ENC]``; validates only."""
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
