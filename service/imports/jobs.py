"""The import_jobs table (migration 0310): a checked file's job record, read back."""

from __future__ import annotations

import dataclasses
from typing import Any

from service.storage.imports import applying_job_ids, job_row


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


async def load_job(conn: Any, job_id: str) -> JobRecord | None:
    """The job's record, or None for an unknown id."""
    row = await job_row(conn, job_id)
    return JobRecord(**row) if row is not None else None


async def unfinished_jobs(conn: Any) -> list[str]:
    """Ids of jobs still applying (a node restarted mid-import resumes them), oldest first."""
    return await applying_job_ids(conn)
