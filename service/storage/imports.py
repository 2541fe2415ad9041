"""SQL of applying a staged CSV import (service.imports.writer): the job row, its staged
records, the states they replace, and the log of imported files."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg


async def lock_applying_job(conn: asyncpg.Connection, job_id: str) -> dict[str, Any] | None:
    """The job row, locked until the caller's transaction ends, or None unless it is applying."""
    row = await conn.fetchrow(
        "SELECT kind, sha256, staff_id, rows, total, applied_through, chunks, changed FROM import_jobs"
        " WHERE job_id = $1 AND state = 'applying' FOR UPDATE", uuid.UUID(job_id))
    return dict(row) if row is not None else None


async def staged_records(conn: asyncpg.Connection, job_id: str, from_seq: int, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` staged records from ``from_seq`` on, in file order (``state`` as JSON text)."""
    rows = await conn.fetch(
        "SELECT entity_type, entity_id, state FROM import_staged WHERE job_id = $1 AND seq >= $2"
        " ORDER BY seq LIMIT $3", uuid.UUID(job_id), from_seq, limit)
    return [dict(r) for r in rows]


async def held_states(conn: asyncpg.Connection, entity_type: str, ids: list[str]) -> dict[str, Any]:
    """The held state of each of these entities of one type, by id (absent ones left out)."""
    rows = await conn.fetch("SELECT entity_id, state::text FROM entities WHERE entity_type = $1"
                            " AND entity_id = ANY($2::text[])", entity_type, ids)
    return {r[0]: json.loads(r[1]) for r in rows}


async def record_chunk(conn: asyncpg.Connection, job_id: str, *, applied_through: int, changed: int,
                       unchanged: int, finished: bool) -> None:
    """Advance the job past one applied chunk (and mark it done when ``finished``)."""
    await conn.execute(
        "UPDATE import_jobs SET applied_through = $2, chunks = chunks + 1, changed = changed + $3,"
        " unchanged = unchanged + $4, updated_at = now(),"
        " state = CASE WHEN $5 THEN 'done' ELSE 'applying' END,"
        " finished_at = CASE WHEN $5 THEN now() END WHERE job_id = $1",
        uuid.UUID(job_id), applied_through, changed, unchanged, finished)


async def log_import(conn: asyncpg.Connection, *, kind: str, sha256: str, rows: int, changed: int,
                     staff_id: str | None) -> None:
    """Log an imported file's SHA-256, so the same bytes are not imported again."""
    await conn.execute(
        "INSERT INTO import_log (kind, sha256, rows, changed, staff_id) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (kind, sha256) DO NOTHING", kind, sha256, rows, changed, staff_id)


async def drop_staged(conn: asyncpg.Connection, job_id: str) -> None:
    """Delete a job's staged records (once it is done)."""
    await conn.execute("DELETE FROM import_staged WHERE job_id = $1", uuid.UUID(job_id))


# ---- staging a checked file (service.imports.staging) -------------------------------------

async def lock_file(conn: asyncpg.Connection, kind: str, sha256: str) -> None:
    """Serialise stagings of the same file until the caller's transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 5))", f"import/{kind}/{sha256}")


async def logged_import(conn: asyncpg.Connection, kind: str, sha256: str) -> dict[str, Any] | None:
    """The log row (rows, changed) of these bytes imported before, or None."""
    row = await conn.fetchrow("SELECT rows, changed FROM import_log WHERE kind = $1 AND sha256 = $2", kind, sha256)
    return dict(row) if row is not None else None


async def applying_job_of(conn: asyncpg.Connection, kind: str, sha256: str) -> tuple[str, int] | None:
    """(job id, rows) of the job applying these bytes right now, or None."""
    row = await conn.fetchrow("SELECT job_id, rows FROM import_jobs WHERE kind = $1 AND sha256 = $2"
                              " AND state = 'applying'", kind, sha256)
    return (str(row["job_id"]), row["rows"]) if row is not None else None


async def add_job(conn: asyncpg.Connection, job_id: str, kind: str, sha256: str, staff_id: str | None) -> None:
    """A new job, with no rows staged yet."""
    await conn.execute("INSERT INTO import_jobs (job_id, kind, sha256, staff_id, rows, total)"
                       " VALUES ($1, $2, $3, $4, 0, 0)", uuid.UUID(job_id), kind, sha256, staff_id)


async def set_job_size(conn: asyncpg.Connection, job_id: str, rows: int, total: int) -> None:
    """The job's file rows and staged record count, once the whole file is staged."""
    await conn.execute("UPDATE import_jobs SET rows = $2, total = $3 WHERE job_id = $1", uuid.UUID(job_id), rows, total)


async def stage_records(conn: asyncpg.Connection, job_id: str, first_seq: int,
                        records: list[tuple[str, str, str]]) -> None:
    """COPY (entity type, entity id, state JSON) records into import_staged from ``first_seq`` on."""
    key = uuid.UUID(job_id)
    await conn.copy_records_to_table(
        "import_staged", records=[(key, first_seq + n, *r) for n, r in enumerate(records)],
        columns=("job_id", "seq", "entity_type", "entity_id", "state"))


async def held_ids(conn: asyncpg.Connection, entity_type: str, ids: list[str]) -> set[str]:
    """Which of these ids the entity store holds as ``entity_type``."""
    return set(await conn.fetchval(
        "SELECT coalesce(array_agg(entity_id), '{}') FROM entities WHERE entity_type = $1"
        " AND entity_id = ANY($2::text[])", entity_type, ids))


# ---- jobs (service.imports.jobs) ----------------------------------------------------------

async def job_row(conn: asyncpg.Connection, job_id: str) -> dict[str, Any] | None:
    """One import_jobs row (the JobRecord fields), or None for an unknown id."""
    row = await conn.fetchrow(
        "SELECT job_id::text, kind, sha256, state, rows, total, applied_through, chunks, changed, unchanged"
        " FROM import_jobs WHERE job_id = $1", uuid.UUID(job_id))
    return dict(row) if row is not None else None


async def applying_job_ids(conn: asyncpg.Connection) -> list[str]:
    """Ids of jobs still applying, oldest first."""
    rows = await conn.fetch("SELECT job_id::text FROM import_jobs WHERE state = 'applying' ORDER BY created_at")
    return [r[0] for r in rows]


# ---- the relay's backlog (service.imports.backpressure) ----------------------------------

async def outbox_backlog(conn: asyncpg.Connection) -> tuple[int | None, int]:
    """(oldest unpublished id, rows from it to the newest): two index lookups, no count.

    The relay publishes in id order, so the rows in that range are the backlog (an upper
    bound); the oldest id moving is the relay's progress.
    """
    row = await conn.fetchrow(
        "SELECT (SELECT min(id) FROM outbox WHERE published_at IS NULL) AS head,"
        " (SELECT max(id) FROM outbox) AS tail")
    if row["head"] is None:
        return None, 0
    return row["head"], row["tail"] - row["head"] + 1
