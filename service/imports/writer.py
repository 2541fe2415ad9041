"""Write a CSV file (residents, dwellings, surveys) into the node, all or nothing.

One transaction per file: records stream out of ``csv_import.RecordStream`` and go through
``record_changes`` (entities + outbox, DESIGN 4) in batches of ``BATCH``; a bad row anywhere, or a
reference to a household or dwelling that does not exist, raises ``CsvImportError`` and
the transaction rolls back, so nothing of the file is kept. The file's SHA-256 is logged in
the same transaction: importing the same bytes again changes nothing, and a record whose
held state is already identical is skipped (so a file imported on another node and
replicated here is not re-published either).

    python -m service.imports.writer residents residents.csv --dsn postgresql://...
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import time
from typing import Any, Callable

import asyncpg

from replication.outbox import Change, record_changes
from service.imports.stream import CsvError, CsvImportError, Progress, ProgressBar, RecordStream, Source, file_sha256

BATCH = 500
# kind → (entity type referenced, record attribute holding the reference(s), column name)
REFERENCES = {"dwellings": ("household", "household_ids", "世帯番号"),
              "surveys": ("dwelling", "dwelling_id", "住家ID")}


@dataclasses.dataclass(frozen=True)
class ImportResult:
    """What an import did. ``already_imported``: the same bytes were imported before."""

    kind: str
    sha256: str
    rows: int
    changed: int
    unchanged: int
    already_imported: bool
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the API."""
        return dataclasses.asdict(self)


async def import_csv(conn: asyncpg.Connection, kind: str, source: Source, *, node_id: str, town: str,
                     staff_id: str | None = None, progress: Progress | None = None,
                     encoding: str | None = None, batch: int = BATCH) -> ImportResult:
    """Import one file in one transaction; CsvImportError (nothing kept) if anything is wrong."""
    started = time.perf_counter()
    sha = file_sha256(source)  # one read, no parsing: a re-import is recognised cheaply
    if hasattr(source, "seek"):
        source.seek(0)
    async with conn.transaction():
        # Two imports of the same file at once: the second waits, then sees it logged.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 5))", f"import/{kind}/{sha}")
        done = await conn.fetchrow("SELECT rows FROM import_log WHERE kind = $1 AND sha256 = $2", kind, sha)
        if done is not None:
            return ImportResult(kind, sha, done["rows"], 0, 0, True, time.perf_counter() - started)
        writer = _Writer(conn, kind, node_id, town, batch)
        stream = RecordStream(kind, source, encoding=encoding, progress=progress)
        for record in stream:
            writer.add(record, stream.rows + 1)
            if writer.full():
                await writer.flush()
        await writer.flush()
        if writer.errors:
            raise CsvImportError(writer.errors[:100], len(writer.errors))
        await conn.execute(
            "INSERT INTO import_log (kind, sha256, rows, changed, staff_id) VALUES ($1, $2, $3, $4, $5)",
            kind, sha, stream.rows, writer.changed, staff_id)
    return ImportResult(kind, sha, stream.rows, writer.changed, writer.unchanged, False,
                        time.perf_counter() - started)


class _Writer:
    """Buffers records, checks references in bulk, writes the changed ones via the outbox.

    Within a buffer the order of changes is by entity type, then file order; a file holds
    one kind, so in practice it is file order.
    """

    def __init__(self, conn: asyncpg.Connection, kind: str, node_id: str, town: str, size: int) -> None:
        self.conn, self.kind, self.node_id, self.town, self.size = conn, kind, node_id, town, size
        self.pending: list[tuple[Any, int]] = []
        self.errors: list[CsvError] = []
        self.changed = self.unchanged = 0

    def add(self, record: Any, row: int) -> None:
        self.pending.append((record, row))

    def full(self) -> bool:
        return len(self.pending) >= self.size

    async def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        await self._check_references(batch)
        if self.errors:
            return  # the file will be refused; keep reading only to report every error
        by_type: dict[str, list[tuple[Any, int]]] = {}
        for record, row in batch:
            by_type.setdefault(record.entity_type, []).append((record, row))
        changes: list[Change] = []
        for entity_type, items in by_type.items():
            held = await self._held(entity_type, [r.entity_id for r, _ in items])
            for record, _ in items:
                state = record.to_state()
                if held.get(record.entity_id) == state:
                    self.unchanged += 1
                    continue
                changes.append(Change(entity_type, record.entity_id, state))
        # One batch through the outbox: a few statements for the whole buffer, one clock
        # tick, no lock per entity (a 100k-row file is one transaction).
        await record_changes(self.conn, node_id=self.node_id, town=self.town, changes=changes)
        self.changed += len(changes)

    async def _held(self, entity_type: str, ids: list[str]) -> dict[str, Any]:
        rows = await self.conn.fetch(
            "SELECT entity_id, state FROM entities WHERE entity_type = $1 AND entity_id = ANY($2::text[])",
            entity_type, ids)
        return {r["entity_id"]: json.loads(r["state"]) for r in rows}

    async def _check_references(self, batch: list[tuple[Any, int]]) -> None:
        if self.kind not in REFERENCES:
            return
        target, attr, column = REFERENCES[self.kind]
        wanted = {ref for record, _ in batch for ref in _refs(record, attr)}
        found = set(await self.conn.fetchval(
            "SELECT coalesce(array_agg(entity_id), '{}') FROM entities WHERE entity_type = $1"
            " AND entity_id = ANY($2::text[])", target, sorted(wanted)))
        for record, row in batch:
            for ref in _refs(record, attr):
                if ref not in found:
                    self.errors.append(CsvError(row, column, f"{target} {ref} does not exist on this node "
                                                f"(import its file first)", "csv.reference"))


def _refs(record: Any, attr: str) -> tuple[str, ...]:
    value = getattr(record, attr, None)
    if value is None:
        return ()
    return tuple(value) if isinstance(value, tuple) else (value,)


async def _cli(args: argparse.Namespace, progress: Callable[[int, int | None], None]) -> ImportResult:
    conn = await asyncpg.connect(args.dsn)
    try:
        identity = await conn.fetchrow("SELECT node_id, town_code FROM node_identity")
        if identity is None:
            raise SystemExit("this database belongs to no node yet: start the node once first")
        return await import_csv(conn, args.kind, args.file, node_id=identity["node_id"],
                                town=identity["town_code"], progress=progress, encoding=args.encoding)
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    """CLI: import a file into a node's database, with a progress bar on stderr."""
    parser = argparse.ArgumentParser(description="Import a residents, dwellings or surveys CSV file.")
    parser.add_argument("kind", choices=("residents", "dwellings", "surveys"))
    parser.add_argument("file")
    parser.add_argument("--dsn", required=True, help="the node's PostgreSQL DSN")
    parser.add_argument("--encoding", help="utf-8 or cp932 (default: detect)")
    args = parser.parse_args(argv)
    try:
        result = asyncio.run(_cli(args, ProgressBar(args.kind)))
    except CsvImportError as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"refused: {exc.error_count} error(s); nothing was imported", file=sys.stderr)
        return 1
    note = " (already imported: nothing changed)" if result.already_imported else ""
    print(f"{result.kind}: {result.rows} rows, {result.changed} changed, {result.unchanged} unchanged, "
          f"{result.seconds:.1f} s{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
