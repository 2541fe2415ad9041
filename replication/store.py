"""The entity store in PostgreSQL: apply one event, and the persisted HLC.

Every function takes an asyncpg connection that is already inside a transaction: the
caller decides the transaction (a local write with its outbox row, or a consumer batch with
its offsets), which is what makes both exactly-once in effect.

The decisions (who wins, what conflicts) are the pure functions of convergence.py; this
module only reads and writes the rows those functions need.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from replication import hlc
from replication.convergence import ConflictPair, Outcome, Version, find_conflicts, wins
from replication.events import Event, canonical_json


def state_json(state: dict[str, Any]) -> str:
    """State as canonical JSON text, for a ``$n::jsonb`` parameter."""
    return canonical_json(state).decode()


def _require_transaction(conn: asyncpg.Connection) -> None:
    if not conn.is_in_transaction():
        raise RuntimeError("must be called inside the caller's transaction")


async def apply_event(conn: asyncpg.Connection, event: Event) -> tuple[Outcome, list[ConflictPair]]:
    """Apply one event to entities/entity_versions/conflicts; idempotent and commutative."""
    _require_transaction(conn)
    # A per-entity transaction lock: the consumer and a local writer may touch the same
    # entity at once, and under READ COMMITTED neither would see the other's new version,
    # so both could miss the fork. The lock makes "record version, look for siblings,
    # update held" atomic per entity. Released at commit/rollback.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                       f"{event.entity_type}/{event.entity_id}")
    inserted = await conn.fetchval(
        "INSERT INTO entity_versions (entity_type, entity_id, version, base_version, state,"
        " event_id, origin_node, origin_town) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8)"
        " ON CONFLICT DO NOTHING RETURNING true",
        event.entity_type, event.entity_id, event.hlc, event.base_version,
        state_json(event.state), event.event_id, event.origin_node, event.origin_town,
    )
    if not inserted:
        return Outcome.DUPLICATE, []
    pairs = find_conflicts(event, await _candidates(conn, event))
    for pair in pairs:
        await _record_conflict(conn, pair)
    held = await conn.fetchval(
        "SELECT version FROM entities WHERE entity_type = $1 AND entity_id = $2 FOR UPDATE",
        event.entity_type, event.entity_id)
    if not wins(event.hlc, held, event.insert_only):
        return Outcome.SUPERSEDED, pairs
    await conn.execute(
        "INSERT INTO entities (entity_type, entity_id, state, hlc, origin_node, version,"
        " insert_only, updated_at) VALUES ($1, $2, $3::jsonb, $4, $5, $4, $6, now())"
        " ON CONFLICT (entity_type, entity_id) DO UPDATE SET state = excluded.state,"
        " hlc = excluded.hlc, origin_node = excluded.origin_node, version = excluded.version,"
        " insert_only = excluded.insert_only, updated_at = now()",
        event.entity_type, event.entity_id, state_json(event.state), event.hlc,
        event.origin_node, event.insert_only,
    )
    return Outcome.APPLIED, pairs


async def _candidates(conn: asyncpg.Connection, event: Event) -> list[Version]:
    # Only rows that can form a conflict: siblings (same base) for mutable entities, every
    # other insert for insert-only ones.
    rows = await conn.fetch(
        "SELECT version, base_version, state FROM entity_versions"
        " WHERE entity_type = $1 AND entity_id = $2 AND version <> $3"
        " AND ($4 OR base_version IS NOT DISTINCT FROM $5)",
        event.entity_type, event.entity_id, event.hlc, event.insert_only, event.base_version,
    )
    return [Version(r["version"], r["base_version"], json.loads(r["state"])) for r in rows]


async def _record_conflict(conn: asyncpg.Connection, pair: ConflictPair) -> None:
    await conn.execute(
        "INSERT INTO conflicts (conflict_key, kind, entity_type, entity_id, base_version,"
        " local_version, local_state, remote_version, remote_state, winner)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9::jsonb, $10)"
        " ON CONFLICT (conflict_key) DO NOTHING",
        pair.key, pair.kind, pair.entity_type, pair.entity_id, pair.remote.base_version,
        pair.local.version, state_json(pair.local.state), pair.remote.version,
        state_json(pair.remote.state), pair.winner,
    )


async def lock_clock(conn: asyncpg.Connection, node_id: str) -> hlc.Timestamp:
    """Lock this node's hlc_state row and return the last timestamp.

    The row lock is held until the caller's transaction ends, so local writes on one node
    are serialized: HLC order = outbox id order = commit order, and the relay publishes
    them in that order. Writes are a few per second at a counter, so this costs nothing.
    """
    _require_transaction(conn)
    await conn.execute(
        "INSERT INTO hlc_state (node_id, last_hlc) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        node_id, hlc.zero(node_id).encode())
    text = await conn.fetchval(
        "SELECT last_hlc FROM hlc_state WHERE node_id = $1 FOR UPDATE", node_id)
    return hlc.decode(text)


async def save_clock(conn: asyncpg.Connection, ts: hlc.Timestamp) -> None:
    """Store the node's new last timestamp (after lock_clock, same transaction)."""
    await conn.execute("UPDATE hlc_state SET last_hlc = $2 WHERE node_id = $1",
                       ts.node_id, ts.encode())


async def observe_remote(conn: asyncpg.Connection, node_id: str, remote: hlc.Timestamp,
                         physical_ms: int, max_drift_ms: int) -> None:
    """Merge a remote timestamp into the node's clock (HLC receive), same transaction."""
    last = await lock_clock(conn, node_id)
    await save_clock(conn, hlc.receive(last, remote, physical_ms, max_drift_ms))
