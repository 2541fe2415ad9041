"""How fresh this node's copy of a resident's data is (DESIGN 4 "Freshness is visible"):
the kiosk shows it when the resident is another town's, as the counter UI does for staff."""

from __future__ import annotations

from typing import Any

from replication import freshness
from replication.outbox import wall_clock_ms
from service.storage.entities import origin_of


async def freshness_of(pool: Any, node_id: str, entity_type: str, entity_id: str) -> dict[str, Any] | None:
    """The replication freshness of the node that last wrote this entity, or None when this
    node (``node_id``) wrote it itself (imported here) or holds no such entity."""
    async with pool.acquire() as conn:
        origin = await origin_of(conn, entity_type, entity_id)
        if origin is None or origin == node_id:
            return None
        rows = await freshness.per_origin(conn, now_ms=wall_clock_ms(), peer_node_ids=[origin])
    row = next((r for r in rows if r.origin_node == origin), None)
    return row.as_dict() if row else None
