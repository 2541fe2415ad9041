"""一括印刷 over HTTP: start a batch (202 with its job), poll its progress, fetch the PDF.

Handlers only: the selection and the job are service.counter.batch_print's.
"""

from __future__ import annotations

import asyncio
import functools

from aiohttp import web

from service.api.common import Fields, json_object, now, reply, repository
from service.api.context import acting_staff, actor
from service.counter.access import Actor
from service.counter.batch_print import BatchPrints, Selection, select
from service.errors import InvalidRequest
from service.storage.counter import open_repository
from service.web.appkeys import POOL, SEALS, SETTINGS
from service.web.auth import require_role

BATCH_PRINTS: web.AppKey[BatchPrints] = web.AppKey("batch_prints", BatchPrints)  # set by start_batches


def _selection(body: dict) -> Selection:
    f = Fields(body, {"issued_on", "delivery", "numbers", "reason"})
    issued_on = f.date("issued_on", required=False)
    delivery = f.choice("delivery", ("counter", "mail")) if body.get("delivery") is not None else None
    numbers = body.get("numbers", [])
    if not isinstance(numbers, list) or not all(isinstance(n, str) and 0 < len(n) <= 80 for n in numbers):
        f.add("numbers", "must be a list of 整理番号", "invalid.type")
        numbers = []
    f.check()
    return Selection(issued_on, delivery, tuple(numbers))


def _fixed_reason(who: Actor) -> Actor:
    """The actor with the reason read now: the job audits its pages after the request ended."""
    try:
        reason = who.reason()
    except InvalidRequest:
        return who  # not needed (select() asked for it if it was)
    return Actor(who.staff, lambda: reason)


@require_role("clerk", "supervisor")
async def start_batch(request: web.Request) -> web.Response:
    """POST /api/v1/batch-prints {issued_on, delivery} or {numbers}: 202 with the job."""
    body = await json_object(request)
    selection = _selection(body)
    who = actor(request, body)
    async with repository(request) as repo:
        numbers = await select(repo, who, selection)
    job = request.app[BATCH_PRINTS].start(_fixed_reason(who), numbers)
    return reply({"job": job.view()}, status=202)


@require_role("clerk", "supervisor")
async def batch_status(request: web.Request) -> web.Response:
    """GET /api/v1/batch-prints/{job_id}: status, pages done of total, what was left out."""
    job = request.app[BATCH_PRINTS].get(request.match_info["job_id"], acting_staff(request))
    return reply({"job": job.view()})


@require_role("clerk", "supervisor")
async def batch_pdf(request: web.Request) -> web.StreamResponse:
    """GET /api/v1/batch-prints/{job_id}/pdf: the finished PDF (409 batch.not_ready before)."""
    job_id = request.match_info["job_id"]
    path = request.app[BATCH_PRINTS].pdf_path(job_id, acting_staff(request))
    return web.FileResponse(path, headers={"Content-Type": "application/pdf",
                                           "Content-Disposition": f'inline; filename="{job_id}.pdf"'})


async def start_batches(app: web.Application) -> None:
    """on_startup: the node's batch jobs, each chunk on its own pooled connection."""
    settings = app[SETTINGS]
    open_store = functools.partial(open_repository, app[POOL], node_id=settings.node.id,
                                   town=settings.node.town_code, timeout=settings.database.acquire_timeout_s)

    async def render(work):
        # ReportLab is CPU-bound: off the event loop so the counter's requests keep flowing.
        return await asyncio.get_running_loop().run_in_executor(None, work)

    app[BATCH_PRINTS] = BatchPrints(open_store, render, now, seal_for=app[SEALS].for_town)


async def stop_batches(app: web.Application) -> None:
    """on_shutdown: cancel running batches and delete their files."""
    if BATCH_PRINTS in app:
        await app[BATCH_PRINTS].stop()
