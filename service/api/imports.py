"""CSV import over HTTP: POST the file (raw body or multipart), then poll the job's progress.

A job runs in the background (a long file takes minutes); ``?wait=true`` answers when it
is done, which small files and tests use. Jobs live in this process only: they are a view
of progress, while the result itself is in the database (import_log) once committed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any

from aiohttp import web

from service.api.common import reply
from service.api.context import acting_staff
from service.web.appkeys import POOL, SETTINGS
from service.staff.sessions import require_role
from service.imports.source import canonical_encoding
from service.imports.stream import CsvImportError
from service.errors import InvalidRequest, NotFound
from service.imports.writer import import_csv

KINDS = ("residents", "dwellings", "surveys")


@dataclasses.dataclass
class ImportJob:
    """One import's progress: rows read so far of an estimated total."""

    job_id: str
    kind: str
    state: str = "running"  # running | done | failed
    done: int = 0
    total: int | None = None
    result: dict | None = None
    error: dict | None = None
    task: asyncio.Task | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"job_id": self.job_id, "kind": self.kind, "state": self.state, "done": self.done,
                "total": self.total, "result": self.result, "error": self.error}


IMPORT_JOBS: web.AppKey[dict[str, ImportJob]] = web.AppKey("import_jobs", dict)  # set by setup_api


async def _read_upload(request: web.Request) -> tuple[str | None, bytes]:
    if request.content_type.startswith("multipart/"):
        kind, data = None, None
        async for part in await request.multipart():
            if part.name == "kind":
                kind = (await part.text()).strip()
            elif part.name == "file":
                data = bytes(await part.read())
        if data is None:
            raise InvalidRequest.field("file", "multipart field 'file' is required", "invalid.required")
        return kind, data
    return None, await request.read()


async def _run(app: web.Application, job: ImportJob, data: bytes, staff_id: str, encoding: str | None) -> None:
    settings = app[SETTINGS]

    def progress(done: int, total: int | None) -> None:
        job.done, job.total = done, total

    try:
        async with app[POOL].acquire() as conn:
            result = await import_csv(conn, job.kind, data, node_id=settings.node.id,
                                      town=settings.node.town_code, staff_id=staff_id,
                                      progress=progress, encoding=encoding)
        job.result, job.state = result.to_dict(), "done"
    except CsvImportError as exc:
        job.state = "failed"
        job.error = {"code": exc.code, "message": str(exc),
                     "fields": [{"field": e.column or "file", **e.to_dict()} for e in exc.errors]}
    except (LookupError, ValueError) as exc:  # unknown encoding name
        job.state, job.error = "failed", {"code": "csv.encoding", "message": str(exc), "fields": []}


@require_role("admin", "supervisor")
async def start_import(request: web.Request) -> web.Response:
    """POST /api/v1/imports?kind=residents[&wait=true][&encoding=cp932]: import a CSV file."""
    staff = acting_staff(request)
    form_kind, data = await _read_upload(request)
    kind = request.query.get("kind") or form_kind
    if kind not in KINDS:
        raise InvalidRequest.field("kind", f"must be one of {', '.join(KINDS)}", "invalid.choice")
    encoding = request.query.get("encoding") or None
    if encoding is not None:
        try:
            encoding = canonical_encoding(encoding)
        except ValueError:
            raise InvalidRequest.field("encoding", "must be UTF-8 or CP932 (also: Shift_JIS, SJIS, MS932,"
                                       " Windows-31J)", "invalid.choice") from None
    job = ImportJob(uuid.uuid4().hex, kind)
    request.app[IMPORT_JOBS][job.job_id] = job
    job.task = asyncio.create_task(_run(request.app, job, data, staff.staff_id, encoding))
    if request.query.get("wait") in ("1", "true"):
        await asyncio.shield(job.task)
        if job.state == "failed":
            raise InvalidRequest(job.error["message"], code=job.error["code"], fields=job.error["fields"])
        return reply({"job": job.to_dict()}, status=201)
    return reply({"job": job.to_dict(), "status_url": f"/api/v1/imports/{job.job_id}"}, status=202)


@require_role("admin", "supervisor")
async def import_status(request: web.Request) -> web.Response:
    """GET /api/v1/imports/{job_id}: progress (done/total rows), then the result or errors."""
    job = request.app[IMPORT_JOBS].get(request.match_info["job_id"])
    if job is None:
        raise NotFound("no such import job on this node", code="import.not_found")
    return reply({"job": job.to_dict()})


async def cancel_jobs(app: web.Application) -> None:
    """on_shutdown: stop running imports (their transaction rolls back)."""
    for job in app[IMPORT_JOBS].values():
        if job.task is not None and not job.task.done():
            job.task.cancel()
    await asyncio.gather(*(j.task for j in app[IMPORT_JOBS].values() if j.task), return_exceptions=True)
