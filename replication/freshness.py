"""How far behind this node is, per origin node (for the counter UI and the API).

Read from consumer_offsets, which the consumer writes with every applied batch, so the
answer is the database's truth, not a guess from the Kafka client. The offset lag is only
as fresh as the last time the consumer heard the brokers' end offsets: ``checked_age_s``
says how long ago that was, and ``stale`` says the lag cannot be trusted (a node cut off
from the brokers would otherwise read lag 0 while its peers' events pile up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from replication import hlc

# The consumer refreshes end offsets with every fetch (well under a second) and writes them
# every few seconds; a check older than this means it cannot reach the brokers.
STALE_AFTER_S = 30.0


@dataclass(frozen=True)
class Freshness:
    """Lag of one origin node as seen by this node."""

    origin_node: str
    offset_lag: int | None  # records known on the broker but not applied yet (last seen)
    last_hlc: str | None  # HLC of the newest event applied from that origin
    hlc_age_seconds: float | None  # now minus that HLC's wall clock
    updated_at: datetime | None  # when this node last applied a batch from that origin
    checked_age_s: float | None = None  # since the brokers' end offsets were last read
    stale: bool = True  # offset_lag is not known to be current (None: never checked)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        out = dict(self.__dict__)
        out["updated_at"] = self.updated_at.isoformat() if self.updated_at else None
        return out


async def per_origin(conn: asyncpg.Connection, *, now_ms: int,
                     peer_node_ids: list[str] | None = None,
                     stale_after_s: float = STALE_AFTER_S) -> list[Freshness]:
    """Freshness for each origin seen (plus ``peer_node_ids`` never heard from, as unknown).

    An origin's check time is its *oldest* partition's: one partition not heard of makes
    the origin's lag stale.
    """
    rows = await conn.fetch(
        "SELECT origin_node, sum(GREATEST(coalesce(high_watermark, next_offset) - next_offset, 0))"
        " AS lag, max(last_hlc) AS last_hlc, max(updated_at) AS updated_at,"
        " CASE WHEN bool_and(high_watermark_checked_at IS NOT NULL)"
        " THEN min(high_watermark_checked_at) END AS checked_at"
        " FROM consumer_offsets GROUP BY origin_node ORDER BY origin_node")
    out = {r["origin_node"]: _row(r, now_ms, stale_after_s) for r in rows}
    for peer in peer_node_ids or ():
        out.setdefault(peer, Freshness(peer, None, None, None, None))
    return [out[k] for k in sorted(out)]


def _row(row: asyncpg.Record, now_ms: int, stale_after_s: float) -> Freshness:
    age = checked_age = None
    if row["last_hlc"]:
        age = max(0.0, (now_ms - hlc.decode(row["last_hlc"]).wall_ms) / 1000)
    if row["checked_at"] is not None:
        checked_age = max(0.0, now_ms / 1000 - row["checked_at"].timestamp())
    stale = checked_age is None or checked_age > stale_after_s
    return Freshness(row["origin_node"], int(row["lag"]), row["last_hlc"], age,
                     row["updated_at"], checked_age, stale)
