"""CSV import over HTTP: POST the file (raw body or multipart), then poll the job's progress.

A job runs in the background (a long file takes minutes); ``?wait=true`` answers when it
is done, which small files and tests use. The job itself is service.imports.runner's: it
checks the whole file, then applies it in short chunks recorded in import_jobs, so a node
restarted mid-import resumes it at start-up (or on ``POST /imports/{job_id}/resume``).
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from service.api.common import reply
from service.api.context import acting_staff
from service.errors import InvalidRequest, NotFound
from service.imports.runner import ImportJobs
from service.imports.source import canonical_encoding
from service.web.appkeys import POOL, REPLICATION, SETTINGS
from service.web.auth import require_role

KINDS = ("residents", "dwellings", "surveys")
IMPORT_JOBS: web.AppKey[ImportJobs] = web.AppKey("import_jobs", ImportJobs)  # set by start_jobs


async def _read_upload(request: web.Request) -> tuple[str | None, bytes]:
    if request.content_type.startswith("multipart/"):
        kind, data = None, None
        async for part in await request.multipart():
            if part.name == "kind":
                kind = (await part.text()).strip()
            elif part.name == "file":
                data = bytes(await part.read())
        if data is None:
            raise InvalidRequest.about("file", "multipart field 'file' is required", "invalid.required")
        return kind, data
    return None, await request.read()


@require_role("admin", "supervisor")
async def start_import(request: web.Request) -> web.Response:
    """POST /api/v1/imports?kind=residents[&wait=true][&encoding=cp932]: import a CSV file."""
    staff = acting_staff(request)
    form_kind, data = await _read_upload(request)
    kind = request.query.get("kind") or form_kind
    if kind not in KINDS:
        raise InvalidRequest.about("kind", f"must be one of {', '.join(KINDS)}", "invalid.choice")
    encoding = request.query.get("encoding") or None
    if encoding is not None:
        try:
            encoding = canonical_encoding(encoding)
        except ValueError:
            raise InvalidRequest.about("encoding", "must be UTF-8 or CP932 (also: Shift_JIS, SJIS, MS932,"
                                       " Windows-31J)", "invalid.choice") from None
    job = request.app[IMPORT_JOBS].start(kind, data, staff_id=staff.staff_id, encoding=encoding)
    if request.query.get("wait") in ("1", "true"):
        await asyncio.shield(job.task)
        if job.state == "failed":
            raise InvalidRequest(job.error["message"], code=job.error["code"], fields=job.error["fields"])
        return reply({"job": job.to_dict()}, status=201)
    return reply({"job": job.to_dict(), "status_url": f"/api/v1/imports/{job.job_id}"}, status=202)


@require_role("admin", "supervisor")
async def import_status(request: web.Request) -> web.Response:
    """GET /api/v1/imports/{job_id}: progress (rows read, records applied), then the result or errors."""
    job = await request.app[IMPORT_JOBS].status(request.match_info["job_id"])
    if job is None:
        raise NotFound("no such import job on this node", code="import.not_found")
    return reply({"job": job})


@require_role("admin", "supervisor")
async def resume_import(request: web.Request) -> web.Response:
    """POST /api/v1/imports/{job_id}/resume: continue a job left applying (after a crash)."""
    job = await request.app[IMPORT_JOBS].resume(request.match_info["job_id"])
    if job is None:
        raise NotFound("no such import job on this node", code="import.not_found")
    return reply({"job": job.to_dict(), "status_url": f"/api/v1/imports/{job.job_id}"}, status=202)


async def start_jobs(app: web.Application) -> None:
    """on_startup (after the pool): the node's import jobs; resume those left applying."""
    settings = app[SETTINGS]
    app[IMPORT_JOBS] = ImportJobs(app[POOL], node_id=settings.node.id, town=settings.node.town_code,
                                  dsn=settings.database.dsn, relay=REPLICATION in app)
    await app[IMPORT_JOBS].resume_unfinished()


async def cancel_jobs(app: web.Application) -> None:
    """on_shutdown: stop running imports (the chunk in flight rolls back; they resume on restart)."""
    if IMPORT_JOBS in app:
        await app[IMPORT_JOBS].stop()
