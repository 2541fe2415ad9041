"""Quarantined replication events for review, and their replay after a fix (issue 15).

    GET  /api/v1/replication/quarantine?replayed=&limit=&offset=
    POST /api/v1/replication/quarantine/{quarantine_id}/replay
"""

from __future__ import annotations

from aiohttp import web

from replication import quarantine
from replication.apply import ApplyContext
from replication.outbox import wall_clock_ms
from service.api.common import check_query, now, path_int, query_int, reply, repository
from service.api.context import acting_staff, keyring
from service.errors import InvalidRequest, NotFound
from service.web.appkeys import REPLICATION, SETTINGS
from service.web.auth import require_role


def _apply_context(request: web.Request) -> ApplyContext:
    """The running consumer's context, or the same built from the node's keys (local-only)."""
    replication = request.app.get(REPLICATION)
    if replication is not None:
        return replication.consumer.ctx
    ring, settings = keyring(request), request.app[SETTINGS]
    return ApplyContext(settings.node.id, settings.kafka.topic_prefix, ring.key_lookup, wall_clock_ms,
                        key_owner=ring.key_owner)


@require_role("supervisor", "auditor", "admin")
async def list_quarantine(request: web.Request) -> web.Response:
    """GET /api/v1/replication/quarantine: open records (or replayed ones), oldest first."""
    check_query(request)
    replayed = request.query.get("replayed", "false")
    if replayed not in ("true", "false"):
        raise InvalidRequest.about("replayed", "must be true or false", "invalid.type")
    limit = query_int(request, "limit", 100, 1, 500)
    offset = query_int(request, "offset", 0, 0, 1_000_000)
    prefix = request.app[SETTINGS].kafka.topic_prefix
    async with repository(request) as repo:
        rows, open_count = await quarantine.list_quarantined(repo.conn, prefix, replayed=replayed == "true",
                                                             limit=limit, offset=offset)
    return reply({"quarantine": [r.as_dict() for r in rows], "open": open_count})


@require_role("supervisor", "admin")
async def replay_quarantined(request: web.Request) -> web.Response:
    """POST /api/v1/replication/quarantine/{quarantine_id}/replay: verify and apply it again."""
    staff = acting_staff(request)
    quarantine_id = path_int(request, "quarantine_id")
    ctx = _apply_context(request)
    async with repository(request) as repo:
        row = await quarantine.replay(repo.conn, quarantine_id, ctx, staff=staff.staff_id, now=now())
    if row is None:
        raise NotFound(f"no quarantined record {quarantine_id}", code="quarantine.not_found")
    return reply({"quarantined": row.as_dict(), "applied": row.replayed_at is not None})
