"""Write a CSV file (residents, dwellings, surveys) into the node: checked whole, applied in chunks.

1. ``staging.stage_file`` reads and checks every row and stages the records, in one
   transaction that takes no entity lock; a refused file (CsvImportError) writes nothing.
2. ``apply_job`` applies the staged records in chunks, each its own short transaction:
   the job row FOR UPDATE, the chunk's held states, ``record_changes`` (HLC row lock →
   entity-store lock → entities + outbox, DESIGN 4), the job's new ``applied_through``,
   commit. Between chunks the locks are free, so issuance and the replication consumer
   wait for one chunk at most, never for the file. A crash (or a cancelled task) rolls
   back the chunk in flight only; ``apply_job`` on the same job id continues from the
   last commit, so every record is applied exactly once.
3. The chunk that applies the last record also marks the job done and logs the file's
   SHA-256 in ``import_log``: importing the same bytes again changes nothing. A record
   whose held state is already identical is skipped (a file imported on another node and
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
from typing import Any, Awaitable, Callable

from replication import store
from replication.events import Change
from replication.outbox import record_changes
from service.imports.backpressure import RelayGate
from service.imports.jobs import load_job
from service.imports.staging import stage_file
from service.imports.stream import CsvImportError, Progress, ProgressBar, Source
from service.storage import imports as import_rows
from service.storage.db import connect, node_identity

ApplyProgress = Callable[[int, int], None]  # (records applied, records in the job)
ChunkHook = Callable[[int], Awaitable[None]]  # test seam: awaited before chunk N commits


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
    job_id: str | None = None
    chunks: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the API."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class ChunkPolicy:
    """How many records a chunk applies, and how long the writer pauses after one.

    The size adapts so that a chunk holds the HLC row and entity-store locks for about
    ``target_ms`` (record_changes to commit); the pause (``pause_ratio`` × that time) leaves
    the locks, and a core, to the node's other writers. When a chunk had to wait more than
    ``contended_ms`` (and half its own lock time) for the locks, other writers are busy: the
    writer backs off, doubling an extra pause up to ``max_backoff_s``, and halves it again
    after each uncontended chunk. So an import takes what the counter leaves, not a fixed
    share. Measured in bench_import_issuance.
    """

    target_ms: float = 20.0
    first_rows: int = 200
    min_rows: int = 50
    max_rows: int = 5000
    pause_ratio: float = 1.0
    contended_ms: float = 10.0
    max_backoff_s: float = 1.0

    def next_backoff(self, backoff: float, waited_ms: float, held_ms: float = 0.0) -> float:
        """The extra pause (s) after a chunk that waited ``waited_ms`` for the locks.

        A wait counts as contention only when it is also long next to the chunk's own lock
        time: on a CPU-starved machine the two locking statements alone take more than
        ``contended_ms``, and backing off for that would stall the import for nothing.
        """
        if waited_ms > max(self.contended_ms, held_ms / 2):
            return min(self.max_backoff_s, max(2 * backoff, 0.025))
        return backoff / 2 if backoff > 0.002 else 0.0

    def next_rows(self, rows: int, held_ms: float) -> int:
        """The next chunk's size, from this one's size and lock time."""
        wanted = rows * self.target_ms / held_ms if held_ms > 0 else 2 * rows
        # Halfway towards the wanted size: one slow chunk (a checkpoint, a busy core) must
        # not halve the next one.
        return int(max(self.min_rows, min(self.max_rows, (rows + wanted) / 2)))


# The former behaviour (the whole file in one transaction), kept for the benchmark only.
WHOLE_FILE = ChunkPolicy(first_rows=2**31 - 1, min_rows=2**31 - 1, max_rows=2**31 - 1, pause_ratio=0,
                         max_backoff_s=0)


@dataclasses.dataclass
class ApplyStats:
    """What one apply_job call measured: chunks it applied and each one's lock time."""

    chunks: int = 0
    lock_ms: list[float] = dataclasses.field(default_factory=list)
    wait_ms: list[float] = dataclasses.field(default_factory=list)
    paused_s: float = 0.0
    relay_wait_s: float = 0.0


async def import_csv(conn: Any, kind: str, source: Source, *, node_id: str, town: str,
                     staff_id: str | None = None, progress: Progress | None = None,
                     encoding: str | None = None, job_id: str | None = None,
                     policy: ChunkPolicy = ChunkPolicy(), on_apply: ApplyProgress | None = None,
                     before_commit: ChunkHook | None = None, stats: ApplyStats | None = None,
                     gate: RelayGate | None = None) -> ImportResult:
    """Check the whole file, then apply it in chunks; CsvImportError (nothing kept) if bad."""
    started = time.perf_counter()
    staged = await stage_file(conn, kind, source, staff_id=staff_id, job_id=job_id,
                              progress=progress, encoding=encoding)
    if staged.job_id is None:
        return ImportResult(kind, staged.sha256, staged.rows, 0, 0, True, time.perf_counter() - started)
    result = await apply_job(conn, staged.job_id, node_id=node_id, town=town, policy=policy,
                             on_apply=on_apply, before_commit=before_commit, stats=stats, gate=gate)
    return dataclasses.replace(result, seconds=time.perf_counter() - started)


async def apply_job(conn: Any, job_id: str, *, node_id: str, town: str,
                    policy: ChunkPolicy = ChunkPolicy(), on_apply: ApplyProgress | None = None,
                    before_commit: ChunkHook | None = None, stats: ApplyStats | None = None,
                    gate: RelayGate | None = None) -> ImportResult:
    """Apply a staged job's remaining records chunk by chunk (also: resume after a crash).

    Before each chunk ``gate`` (default: a new RelayGate) waits while the relay's backlog
    is long, so the counter's events are not queued behind the whole file.
    """
    started = time.perf_counter()
    stats = stats if stats is not None else ApplyStats()
    gate = gate if gate is not None else RelayGate()
    job = await load_job(conn, job_id)
    if job is None:
        raise LookupError(f"no import job {job_id}")
    if on_apply:
        on_apply(job.applied_through, job.total)
    rows, backoff = policy.first_rows, 0.0
    while job.state == "applying":
        await gate.wait(conn)
        step = await _apply_chunk(conn, job_id, rows, node_id, town, before_commit)
        if step is None:
            break  # another runner of the same job applied the last chunk
        applied, total, waited_ms, held_ms = step
        stats.chunks += 1
        stats.lock_ms.append(held_ms)
        stats.wait_ms.append(waited_ms)
        if on_apply:
            on_apply(applied, total)
        if applied >= total:
            break
        rows = policy.next_rows(rows, held_ms)
        backoff = policy.next_backoff(backoff, waited_ms, held_ms)
        pause = policy.pause_ratio * held_ms / 1000 + backoff
        stats.paused_s += pause
        await asyncio.sleep(pause)
    stats.relay_wait_s += gate.waited_s
    # Outside any chunk: the staged copy is no longer needed once the job is done.
    await import_rows.drop_staged(conn, job_id)
    job = await load_job(conn, job_id)
    return ImportResult(job.kind, job.sha256, job.rows, job.changed, job.unchanged, False,
                        time.perf_counter() - started, job.job_id, job.chunks)


async def _apply_chunk(conn: Any, job_id: str, rows: int, node_id: str, town: str,
                       before_commit: ChunkHook | None) -> tuple[int, int, float, float] | None:
    """One chunk in one transaction: (applied through, total, ms waited for the locks, ms held
    them), or None if the job is done."""
    async with conn.transaction():
        # The job row first (lock order: rows a writer locks → hlc_state → entity store,
        # store.ENTITY_STORE_LOCK): two runners of one job apply disjoint chunks in turn.
        job = await import_rows.lock_applying_job(conn, job_id)
        if job is None:
            return None
        staged = await import_rows.staged_records(conn, job_id, job["applied_through"], rows)
        applied = job["applied_through"] + len(staged)
        if not staged and applied < job["total"]:
            raise RuntimeError(f"import job {job_id}: staged records from {applied} are missing")
        changes = await _changes(conn, staged)
        asked = time.perf_counter()
        if changes:
            # The locks record_changes takes (re-entrant), taken first so that the time
            # measured below is the time they are held, not the wait for them.
            await store.lock_clock(conn, node_id)
            await store.lock_entity_store(conn)
        locked = time.perf_counter()
        # The only statements under the HLC row and entity-store locks are from here to commit.
        await record_changes(conn, node_id=node_id, town=town, changes=changes)
        finished = applied >= job["total"]
        await import_rows.record_chunk(conn, job_id, applied_through=applied, changed=len(changes),
                                   unchanged=len(staged) - len(changes), finished=finished)
        if finished:
            await import_rows.log_import(conn, kind=job["kind"], sha256=job["sha256"], rows=job["rows"],
                                     changed=job["changed"] + len(changes), staff_id=job["staff_id"])
        if before_commit is not None:
            await before_commit(job["chunks"] + 1)
    return applied, job["total"], (locked - asked) * 1000, (time.perf_counter() - locked) * 1000


async def _changes(conn: Any, staged: list[dict[str, Any]]) -> list[Change]:
    """The staged records whose state differs from the one held, in file order."""
    wanted: dict[str, list[str]] = {}
    for r in staged:
        wanted.setdefault(r["entity_type"], []).append(r["entity_id"])
    held: dict[tuple[str, str], Any] = {}
    for entity_type, ids in wanted.items():
        for entity_id, state in (await import_rows.held_states(conn, entity_type, ids)).items():
            held[(entity_type, entity_id)] = state
    changes = []
    for r in staged:
        state = json.loads(r["state"])
        if held.get((r["entity_type"], r["entity_id"])) != state:
            changes.append(Change(r["entity_type"], r["entity_id"], state))
    return changes


async def _cli(args: argparse.Namespace, progress: Callable[[int, int | None], None]) -> ImportResult:
    conn = await connect(args.dsn)
    try:
        identity = await node_identity(conn)
        if identity is None:
            raise SystemExit("this database belongs to no node yet: start the node once first")
        node_id, town = identity
        return await import_csv(conn, args.kind, args.file, node_id=node_id,
                                town=town, progress=progress, encoding=args.encoding)
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
