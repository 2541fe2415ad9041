"""The import_jobs table (migration 0310): a checked file's job record, read back."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import asyncpg


@dataclasses.dataclass(frozen=True)
class JobRecord:
    """One row of import_jobs: a file checked and staged, applied up to ``applied_through``."""

    job_id: str
    kind: str
    sha256: str
    state: str  # applying | done
    rows: int
    total: int
    applied_through: int
    chunks: int
    changed: int
    unchanged: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return dataclasses.asdict(self)


async def load_job(conn: asyncpg.Connection, job_id: str) -> JobRecord | None:
    """The job's record, or None for an unknown id."""
    row = await conn.fetchrow(
        "SELECT job_id::text, kind, sha256, state, rows, total, applied_through, chunks, changed, unchanged"
        " FROM import_jobs WHERE job_id = $1", uuid.UUID(job_id))
    return JobRecord(**dict(row)) if row is not None else None


async def unfinished_jobs(conn: asyncpg.Connection) -> list[str]:
    """Ids of jobs still applying (a node restarted mid-import resumes them), oldest first."""
    rows = await conn.fetch("SELECT job_id::text FROM import_jobs WHERE state = 'applying' ORDER BY created_at")
    return [r[0] for r in rows]
