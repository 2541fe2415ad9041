"""Quarantined events: list them, and replay one after a fix (issue 15).

An event is quarantined when it cannot be verified or stored (unknown signing key, a
forged origin, a value PostgreSQL refuses). The consumer has moved past it, so after the
cause is fixed (a newer trust list, an upgraded node) a supervisor replays it: the record
is verified again with the node's current keys and applied exactly as the consumer would
(apply_events is idempotent, so a replay of an event that arrived again meanwhile is a
duplicate, not a second write). The row stays, stamped with who replayed it and the result;
a replay that is still refused keeps the row open with the new reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import asyncpg

from replication import apply, store, topics
from replication.convergence import Outcome
from replication.errors import ReplicationError


@dataclasses.dataclass(frozen=True)
class Quarantined:
    """One quarantined record, as a supervisor reviews it."""

    id: int
    topic: str
    partition: int
    offset: int
    origin: str
    reason: str
    received_at: dt.datetime
    size: int
    replayed_at: dt.datetime | None
    replayed_by: str | None
    last_tried_at: dt.datetime | None
    replay_result: str | None

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for key in ("received_at", "replayed_at", "last_tried_at"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


@dataclasses.dataclass(frozen=True)
class _Record:
    """What apply.check reads of a Kafka record."""

    topic: str
    partition: int
    offset: int
    value: bytes | None


_COLUMNS = ('id, topic, partition, "offset", reason, received_at, coalesce(length(raw), 0) AS size,'
            " replayed_at, replayed_by, last_tried_at, replay_result")


def _row(row: asyncpg.Record, prefix: str) -> Quarantined:
    origin = topics.node_of(prefix, row["topic"]) if row["topic"].startswith(prefix) else row["topic"]
    return Quarantined(row["id"], row["topic"], row["partition"], row["offset"], origin, row["reason"],
                       row["received_at"], row["size"], row["replayed_at"], row["replayed_by"],
                       row["last_tried_at"], row["replay_result"])


async def list_quarantined(conn: asyncpg.Connection, prefix: str, *, replayed: bool = False,
                           limit: int = 100, offset: int = 0) -> tuple[list[Quarantined], int]:
    """Open (or, with ``replayed``, already replayed) records, oldest first, and how many are open."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM quarantine WHERE (replayed_at IS NOT NULL) = $1"
        " ORDER BY id LIMIT $2 OFFSET $3", replayed, limit, offset)
    open_count = await conn.fetchval("SELECT count(*) FROM quarantine WHERE replayed_at IS NULL")
    return [_row(r, prefix) for r in rows], open_count


async def replay(conn: asyncpg.Connection, quarantine_id: int, ctx: apply.ApplyContext, *,
                 staff: str, now: dt.datetime) -> Quarantined | None:
    """Verify and apply one quarantined record with the node's current keys; None if unknown.

    Idempotent: a record already replayed is returned as it is.
    """
    async with conn.transaction():
        raw = await conn.fetchrow('SELECT topic, partition, "offset", raw, replayed_at FROM quarantine'
                                  " WHERE id = $1 FOR UPDATE", quarantine_id)
        if raw is None:
            return None
        if raw["replayed_at"] is None:
            record = _Record(raw["topic"], raw["partition"], raw["offset"], raw["raw"])
            result = await _apply_one(conn, record, ctx)
            applied = not result.startswith("refused")
            await conn.execute(
                "UPDATE quarantine SET last_tried_at = $2::timestamptz, replay_result = $3,"
                " replayed_at = CASE WHEN $4 THEN $2::timestamptz END,"
                " replayed_by = CASE WHEN $4 THEN $5::text END"
                " WHERE id = $1", quarantine_id, now, result[:2000], applied, staff)
        row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM quarantine WHERE id = $1", quarantine_id)
    return _row(row, ctx.topic_prefix)


async def _apply_one(conn: asyncpg.Connection, record: _Record, ctx: apply.ApplyContext) -> str:
    checked = apply.check(record, ctx, ctx.clock())
    if isinstance(checked, ReplicationError):
        return f"refused: {checked.reason()}"
    await store.lock_for_batch(conn, [(checked.entity_type, checked.entity_id)])
    try:
        async with conn.transaction():
            outcome, _conflicts = await store.apply_event(conn, checked)
    except asyncpg.DataError as exc:
        return f"refused: apply_failed: {exc}"
    return "duplicate" if outcome is Outcome.DUPLICATE else "applied"
