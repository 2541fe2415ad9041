"""The 代行 report and the statistics (集計) over HTTP. Handlers only: the use cases are
service.counter.casework_report and service.counter.statistics."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web

from service.api.casework import json_value
from service.api.common import reply, repository
from service.api.context import acting_staff, actor, keyring, town_info
from service.counter import casework_report, statistics
from service.counter.casework_filters import QueryParser, town_param
from service.storage.counter import open_repository
from service.web.appkeys import KEYRING, POOL, SETTINGS
from service.web.auth import require_role

log = logging.getLogger("service.casework")
TOWN_NAMES: web.AppKey[asyncio.Task] = web.AppKey("casework_town_names", asyncio.Task)


def _rows(rows: list[dict] | None) -> list[dict] | None:
    return None if rows is None else [{k: json_value(v) for k, v in r.items()} for r in rows]


@require_role("clerk", "supervisor", "auditor")
async def daikou_report(request: web.Request) -> web.Response:
    """GET /api/v1/reports/daikou?town=: what other towns' nodes did in the town's name;
    with the cross-town audit records when the staff member is an auditor."""
    staff = acting_staff(request)
    p = QueryParser(request.query, {"town"})
    town = p.checked("town", town_param, "must be a 6-digit town code") or staff.town_code
    p.done()
    async with repository(request) as repo:
        report = await casework_report.daikou_report(repo, actor(request), town,
                                                     with_audits=staff.has_any(("auditor",)))
    for key in ("certificates", "applications"):
        report[key] = _rows(report[key])
    return reply(report)


@require_role()
async def statistics_figures(request: web.Request) -> web.Response:
    """GET /api/v1/statistics?scope=town|node&town=: 集計 by class, 大字, day and node."""
    scope, town = statistics.statistics_query(dict(request.query), acting_staff(request).town_code)
    known = [t.code for t in keyring(request).trust_list.towns]
    async with repository(request) as repo:
        body = await statistics.figures(repo, scope, town, town_info(request), known)
    return reply(body)


async def _sync_town_names(app: web.Application) -> None:
    settings = app[SETTINGS]
    names = {t.code: t.name for t in app[KEYRING].trust_list.towns}
    try:
        async with open_repository(app[POOL], node_id=settings.node.id, town=settings.node.town_code,
                                   timeout=settings.database.acquire_timeout_s) as repo:
            changed = await repo.sync_town_names(names)
        log.info("town names for 集計", extra={"changed": changed})
    except Exception:  # the statistics request syncs again; a failure here must not stop the node
        log.exception("could not record the town names for 集計")


async def start_town_names(app: web.Application) -> None:
    """on_startup: work out the 大字 of every dwelling with the trust list's town names, in
    the background (a changed name re-reads every dwelling of that town: seconds at 200,000)."""
    if KEYRING in app:
        app[TOWN_NAMES] = asyncio.create_task(_sync_town_names(app))


async def stop_town_names(app: web.Application) -> None:
    """on_shutdown: stop that work if it still runs (it is redone at the next start)."""
    task = app.get(TOWN_NAMES)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
