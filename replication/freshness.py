"""How far behind this node is, per origin node (for the counter UI and the API).

Read from consumer_offsets, which the consumer writes with every applied batch, so the
answer is the database's truth, not a guess from the Kafka client.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from replication import hlc


@dataclass(frozen=True)
class Freshness:
    """Lag of one origin node as seen by this node."""

    origin_node: str
    offset_lag: int | None  # records known on the broker but not applied yet (last seen)
    last_hlc: str | None  # HLC of the newest event applied from that origin
    hlc_age_seconds: float | None  # now minus that HLC's wall clock
    updated_at: datetime | None  # when this node last applied a batch from that origin

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        out = dict(self.__dict__)
        out["updated_at"] = self.updated_at.isoformat() if self.updated_at else None
        return out


async def per_origin(conn: asyncpg.Connection, *, now_ms: int,
                     peer_node_ids: list[str] | None = None) -> list[Freshness]:
    """Freshness for each origin seen (plus ``peer_node_ids`` never heard from, as unknown)."""
    rows = await conn.fetch(
        "SELECT origin_node, sum(GREATEST(coalesce(high_watermark, next_offset) - next_offset, 0))"
        " AS lag, max(last_hlc) AS last_hlc, max(updated_at) AS updated_at"
        " FROM consumer_offsets GROUP BY origin_node ORDER BY origin_node")
    out = {r["origin_node"]: _row(r, now_ms) for r in rows}
    for peer in peer_node_ids or ():
        out.setdefault(peer, Freshness(peer, None, None, None, None))
    return [out[k] for k in sorted(out)]


def _row(row: asyncpg.Record, now_ms: int) -> Freshness:
    age = None
    if row["last_hlc"]:
        age = max(0.0, (now_ms - hlc.decode(row["last_hlc"]).wall_ms) / 1000)
    return Freshness(row["origin_node"], int(row["lag"]), row["last_hlc"], age,
                     row["updated_at"])
