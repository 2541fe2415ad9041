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
