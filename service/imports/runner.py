"""Import jobs running in this node's process: start, follow, resume after a restart, stop.

A job's durable truth is its row in import_jobs (state, applied_through of total); the
:class:`ImportJob` here adds what only this process knows: rows read while the file is
still being checked, the errors of a refused file (which leaves no row), and the task.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import sys
import time
import uuid
from typing import Any

import asyncpg

from service.imports.backpressure import RelayGate
from service.imports.jobs import load_job, unfinished_jobs
from service.imports.stage_worker import DSN_VARIABLE
from service.imports.stage_worker import outcome as stage_outcome
from service.imports.staging import Staged
from service.imports.stream import CsvImportError
from service.imports.writer import ApplyStats, ChunkPolicy, ImportResult, apply_job, import_csv

log = logging.getLogger(__name__)
# Files smaller than this are staged in this process: a child process costs about a second
# to start, and parsing a few thousand rows holds the event loop only briefly.
CHILD_STAGING_BYTES = 256 * 1024


@dataclasses.dataclass
class ImportJob:
    """One import's progress: rows read (``done`` of ``total``), then records applied.

    ``state``: checking → applying → done; or failed (refused, nothing written) or
    interrupted (stopped between chunks; the job record stays applying and resumes).
    """

    job_id: str
    kind: str
    state: str = "checking"
    done: int = 0
    total: int | None = None
    applied: int = 0
    to_apply: int | None = None
    result: dict | None = None
    error: dict | None = None
    task: asyncio.Task | None = dataclasses.field(default=None, repr=False)
    stats: ApplyStats = dataclasses.field(default_factory=ApplyStats, repr=False)
    applying_since: float | None = dataclasses.field(default=None, repr=False)  # monotonic

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"job_id": self.job_id, "kind": self.kind, "state": self.state, "done": self.done,
                "total": self.total, "applied": self.applied, "to_apply": self.to_apply,
                "result": self.result, "error": self.error}

    def read(self, done: int, total: int | None) -> None:
        """Progress callback of the checking pass."""
        self.done, self.total = done, total

    def applying(self, applied: int, to_apply: int) -> None:
        """Progress callback of the applying pass."""
        if self.applying_since is None:
            self.applying_since = time.monotonic()
        self.state, self.applied, self.to_apply = "applying", applied, to_apply

    def running(self) -> bool:
        """True while its task has not finished."""
        return self.task is not None and not self.task.done()


class ImportJobs:
    """The node's import jobs: one background task each, over the node's pool."""

    def __init__(self, pool: asyncpg.Pool, *, node_id: str, town: str, dsn: str | None = None,
                 policy: ChunkPolicy = ChunkPolicy(), relay: bool = True) -> None:
        """With ``dsn``, large files are checked and staged in a child process (stage_worker).
        Without ``relay`` (the node runs none), chunks never wait for the outbox to drain."""
        self.pool, self.node_id, self.town, self.dsn, self.policy = pool, node_id, town, dsn, policy
        self.relay = relay
        self.jobs: dict[str, ImportJob] = {}

    def start(self, kind: str, data: bytes, *, staff_id: str | None, encoding: str | None) -> ImportJob:
        """Check and apply a new file in the background."""
        job = ImportJob(str(uuid.uuid4()), kind)
        self.jobs[job.job_id] = job

        async def work(conn: asyncpg.Connection) -> Any:
            if self.dsn is None or len(data) < CHILD_STAGING_BYTES:
                return await import_csv(conn, kind, data, node_id=self.node_id, town=self.town,
                                        staff_id=staff_id, progress=job.read, encoding=encoding,
                                        job_id=job.job_id, policy=self.policy, on_apply=job.applying,
                                        stats=job.stats, gate=self._gate())
            started = time.perf_counter()
            staged = await self._stage_in_child(job, data, staff_id, encoding)
            if staged.job_id is None:
                return ImportResult(kind, staged.sha256, staged.rows, 0, 0, True, time.perf_counter() - started)
            result = await apply_job(conn, staged.job_id, node_id=self.node_id, town=self.town,
                                     policy=self.policy, on_apply=job.applying, stats=job.stats,
                                     gate=self._gate())
            return dataclasses.replace(result, seconds=time.perf_counter() - started)

        job.task = asyncio.create_task(self._run(job, work), name=f"import-{job.job_id}")
        return job

    def _gate(self) -> RelayGate:
        return RelayGate() if self.relay else RelayGate.never()

    async def _stage_in_child(self, job: ImportJob, data: bytes, staff_id: str | None,
                              encoding: str | None) -> Staged:
        args = [job.kind, "--job-id", job.job_id]
        args += ["--staff-id", staff_id] if staff_id else []
        args += ["--encoding", encoding] if encoding else []
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "service.imports.stage_worker", *args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env={**os.environ, DSN_VARIABLE: self.dsn})
        try:
            proc.stdin.write(data)  # the child reads all of stdin before it writes a line
            await proc.stdin.drain()
            proc.stdin.close()
            last: dict[str, Any] = {}
            async for line in proc.stdout:
                last = json.loads(line)
                if "read" in last:
                    job.read(last["read"], last["total"])
            await proc.wait()
        finally:
            if proc.returncode is None:  # cancelled: its transaction dies with its connection
                proc.kill()
                await proc.wait()
        return stage_outcome(last)

    async def resume(self, job_id: str) -> ImportJob | None:
        """Continue a job left applying (None: no such job); a running one is returned as is."""
        try:
            job_id = str(uuid.UUID(job_id))
        except ValueError:
            return None
        job = self.jobs.get(job_id)
        if job is not None and job.running():
            return job
        async with self.pool.acquire() as conn:
            record = await load_job(conn, job_id)
        if record is None:
            return None
        job = ImportJob(job_id, record.kind, "applying", record.rows, record.rows,
                        record.applied_through, record.total)
        self.jobs[job_id] = job
        if record.state == "done":
            job.state = "done"
            return job

        async def work(conn: asyncpg.Connection) -> Any:
            return await apply_job(conn, job_id, node_id=self.node_id, town=self.town,
                                   policy=self.policy, on_apply=job.applying, stats=job.stats,
                                   gate=self._gate())

        job.task = asyncio.create_task(self._run(job, work), name=f"import-{job_id}")
        return job

    async def resume_unfinished(self) -> list[ImportJob]:
        """Resume every job a previous run of the node left applying."""
        async with self.pool.acquire() as conn:
            ids = await unfinished_jobs(conn)
        if ids:
            log.info("resuming %d unfinished import job(s)", len(ids), extra={"jobs": ids})
        return [job for job_id in ids if (job := await self.resume(job_id)) is not None]

    async def status(self, job_id: str) -> dict[str, Any] | None:
        """A job's progress: this process's view, else its record (a job of an earlier run)."""
        if job_id in self.jobs:
            return self.jobs[job_id].to_dict()
        try:
            key = str(uuid.UUID(job_id))
        except ValueError:
            return None
        async with self.pool.acquire() as conn:
            record = await load_job(conn, key)
        if record is None:
            return None
        return ImportJob(key, record.kind, record.state, record.rows, record.rows,
                         record.applied_through, record.total).to_dict()

    async def stop(self) -> None:
        """Cancel running jobs: the chunk in flight rolls back; the rest resumes on restart."""
        tasks = [j.task for j in self.jobs.values() if j.running()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, job: ImportJob, work: Any) -> None:
        try:
            async with self.pool.acquire() as conn:
                result = await work(conn)
            job.result, job.state = result.to_dict(), "done"
        except CsvImportError as exc:
            job.state = "failed"
            job.error = {"code": exc.code, "message": exc.message, "fields": [p.as_json() for p in exc.problems]}
        except (LookupError, ValueError) as exc:  # unknown encoding name
            job.state, job.error = "failed", {"code": "csv.encoding", "message": str(exc), "fields": []}
        except asyncio.CancelledError:
            job.state = "interrupted" if job.state == "applying" else "failed"
            raise
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # The database went away mid-job: chunks committed so far stay; resume later.
            log.warning("import job %s interrupted: %s", job.job_id, exc)
            job.state = "interrupted" if job.state == "applying" else "failed"
            job.error = {"code": "import.interrupted", "message": str(exc), "fields": []}
