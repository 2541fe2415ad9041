"""The first pass of an import: read and check the whole file, and stage its records.

Staging runs in one transaction that writes only ``import_jobs`` and ``import_staged``
(migration 0310): it takes neither the HLC row lock nor the entity-store lock, so however
long a file takes to read, issuance and the replication consumer never wait for it. A bad
row anywhere (or a reference to a household or dwelling that does not exist) raises
CsvImportError and the transaction rolls back: a refused file leaves no job, no staged
record, no entity and no outbox row. Only a file that passed every check commits, as a job
in state ``applying`` that writer.apply_job then applies chunk by chunk.

Why a table rather than a copy of the file under the node's data directory: the staged
records live in the same database, and the same backups, as the job record that points at
them, so a resumed job can never find its file missing or changed; resuming needs no
second parse; and a node has no data directory of its own in its settings (its state is its
PostgreSQL).
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any, Iterator

from replication.store import state_json
from service.imports.stream import CsvError, CsvImportError, Progress, RecordStream, Source, file_sha256
from service.storage import imports as import_rows

STAGE_BATCH = 500  # records parsed per worker-thread call and staged per COPY
# kind → (entity type referenced, record attribute holding the reference(s), column name)
REFERENCES = {"dwellings": ("household", "household_ids", "世帯番号"),
              "surveys": ("dwelling", "dwelling_id", "住家ID")}


@dataclasses.dataclass(frozen=True)
class Staged:
    """Outcome of staging: a job to apply, or ``job_id`` None when the file was imported before."""

    kind: str
    sha256: str
    job_id: str | None
    rows: int
    changed: int = 0  # for an earlier import: what it changed


async def stage_file(conn: Any, kind: str, source: Source, *, staff_id: str | None = None,
                     job_id: str | None = None, progress: Progress | None = None,
                     encoding: str | None = None) -> Staged:
    """Check ``source`` whole and stage it as a job; CsvImportError (nothing kept) if bad.

    The same bytes already imported: ``Staged(job_id=None)``. The same bytes being applied
    by a job right now: that job's id (the caller may apply it too; chunks are exclusive).
    """
    sha = file_sha256(source)  # one read, no parsing: a re-import is recognised cheaply
    if hasattr(source, "seek"):
        source.seek(0)
    async with conn.transaction():
        # Two uploads of the same file at once: the second waits, then sees the first's job.
        await import_rows.lock_file(conn, kind, sha)
        done = await import_rows.logged_import(conn, kind, sha)
        if done is not None:
            return Staged(kind, sha, None, done["rows"], done["changed"])
        active = await import_rows.applying_job_of(conn, kind, sha)
        if active is not None:
            return Staged(kind, sha, *active)
        job_id = job_id or str(uuid.uuid4())
        await import_rows.add_job(conn, job_id, kind, sha, staff_id)
        stager = _Stager(conn, kind, job_id)
        stream = RecordStream(kind, source, encoding=encoding, progress=progress)
        records = iter(stream)
        # Parsing is CPU work: done in a worker thread, batch by batch, so the node's event
        # loop keeps serving requests meanwhile. Raises CsvImportError at the end of a bad file.
        while batch := await asyncio.to_thread(_take, stream, records):
            stager.pending.extend(batch)
            await stager.flush()
        if stager.errors:
            raise CsvImportError(stager.errors[:100], len(stager.errors))
        await import_rows.set_job_size(conn, job_id, stream.rows, stager.seq)
    return Staged(kind, sha, job_id, stream.rows)


def _take(stream: RecordStream, records: Iterator[Any]) -> list[tuple[Any, int, str]]:
    """The next STAGE_BATCH records as (record, spreadsheet row, state JSON); [] at the end."""
    batch = []
    for record in records:
        batch.append((record, stream.rows + 1, state_json(record.to_state())))
        if len(batch) >= STAGE_BATCH:
            break
    return batch


class _Stager:
    """Buffers checked records, checks their references in bulk, COPYs them to import_staged."""

    def __init__(self, conn: Any, kind: str, job_id: str) -> None:
        self.conn, self.kind, self.job_id = conn, kind, job_id
        self.pending: list[tuple[Any, int, str]] = []
        self.errors: list[CsvError] = []
        self.seq = 0

    async def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        await self._check_references(batch)
        if self.errors:
            return  # the file will be refused; keep reading only to report every error
        records = [(r.entity_type, r.entity_id, state) for r, _, state in batch]
        await import_rows.stage_records(self.conn, self.job_id, self.seq, records)
        self.seq += len(records)

    async def _check_references(self, batch: list[tuple[Any, int, str]]) -> None:
        if self.kind not in REFERENCES:
            return
        target, attr, column = REFERENCES[self.kind]
        wanted = {ref for record, _, _ in batch for ref in _refs(record, attr)}
        found = await import_rows.held_ids(self.conn, target, sorted(wanted))
        for record, row, _ in batch:
            for ref in _refs(record, attr):
                if ref not in found:
                    self.errors.append(CsvError(row, column, f"{target} {ref} does not exist on this node "
                                                f"(import its file first)", "csv.reference"))


def _refs(record: Any, attr: str) -> tuple[str, ...]:
    value = getattr(record, attr, None)
    if value is None:
        return ()
    return tuple(value) if isinstance(value, tuple) else (value,)
