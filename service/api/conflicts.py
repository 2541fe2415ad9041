"""Replication conflicts for human review, and freshness per origin node (DESIGN 4)."""

from __future__ import annotations

from aiohttp import web

from replication import conflicts, freshness
from replication.outbox import wall_clock_ms
from service.api.common import Fields, check_query, json_object, path_int, query_int, reply, repository
from service.api.context import acting_staff
from service.web.appkeys import PEER_NODE_IDS, SETTINGS
from service.web.auth import require_role


@require_role("supervisor", "auditor", "admin")
async def list_conflicts(request: web.Request) -> web.Response:
    """GET /api/v1/conflicts?entity_type=&limit=&offset=: open conflicts, oldest first."""
    check_query(request)
    limit = query_int(request, "limit", 100, 1, 500)
    offset = query_int(request, "offset", 0, 0, 1_000_000)
    async with repository(request) as repo:
        rows = await conflicts.list_open(repo.conn, entity_type=request.query.get("entity_type"),
                                         limit=limit, offset=offset)
        total = await conflicts.count_open(repo.conn)
    return reply({"conflicts": [c.as_dict() for c in rows], "open": total})


@require_role("supervisor")
async def resolve_conflict(request: web.Request) -> web.Response:
    """POST /api/v1/conflicts/{conflict_id}/resolve {resolution}: close the review item."""
    staff = acting_staff(request)
    conflict_id = path_int(request, "conflict_id")
    body = await json_object(request)
    f = Fields(body, {"resolution"})
    resolution = f.text("resolution", max_len=2000)
    f.check()
    async with repository(request) as repo:
        resolved = await conflicts.resolve(repo.conn, conflict_id, staff=staff.staff_id, resolution=resolution)
    return reply({"conflict": resolved.as_dict()})


@require_role()
async def replication_freshness(request: web.Request) -> web.Response:
    """GET /api/v1/replication/freshness: lag per origin node (offsets and HLC age)."""
    peers = list(request.app[PEER_NODE_IDS])
    async with repository(request) as repo:
        rows = await freshness.per_origin(repo.conn, now_ms=wall_clock_ms(), peer_node_ids=peers)
    return reply({"node": request.app[SETTINGS].node.id, "origins": [r.as_dict() for r in rows]})
