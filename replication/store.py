"""The entity store in PostgreSQL: apply a batch of events, and the persisted HLC.

Every function takes an asyncpg connection that is already inside a transaction: the
caller decides the transaction (a local write with its outbox row, or a consumer batch with
its offsets), which is what makes both exactly-once in effect.

The decisions (who wins, what conflicts) are the pure functions of convergence.py; this
module only reads and writes the rows those functions need.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any, Iterable, Sequence

import asyncpg

from replication import hlc
from replication.convergence import ConflictPair, EntityRef, Outcome, Version, plan_batch
from replication.events import Event, canonical_json


def state_json(state: dict[str, Any]) -> str:
    """State as canonical JSON text, for a ``$n::jsonb`` parameter."""
    return canonical_json(state).decode()


def _require_transaction(conn: asyncpg.Connection) -> None:
    if not conn.is_in_transaction():
        raise RuntimeError("must be called inside the caller's transaction")


# The entity-store lock: one transaction-level advisory lock (two-int key space, apart
# from the single-bigint keys of service/ and the importer) that every writer of entities,
# entity_versions and conflicts holds from its first apply until commit. It replaces the
# former lock per entity, which needed one lock-table slot per entity and exhausted
# PostgreSQL's shared lock table ("out of shared memory") on a 100k-row import.
# What it buys: writers of the store are serialized, so when a writer looks for a fork
# every earlier writer has committed, and no two transactions can both miss one (under
# READ COMMITTED neither would see the other's uncommitted version).
# Lock order (deadlock freedom, see also apply.apply_batch and outbox.record_changes):
#   local writer: [rows its handler locked FOR UPDATE] -> hlc_state row -> this lock -> rows
#   consumer batch: this lock (holding nothing else) -> its rows FOR UPDATE NOWAIT
#   merge_clock: hlc_state row only, in its own transaction after the batch
# The consumer never *waits* while it holds this lock (NOWAIT; every other row it writes
# is written only by holders of this lock or by the consumer itself), so it cannot close
# a cycle with a local writer that waits for the lock while holding a row.
ENTITY_STORE_LOCK = (0x52495341, 1)  # "RISA", 1


class EntityStoreBusy(asyncpg.LockNotAvailableError):
    """A batch's entity rows stayed locked by a local handler (transient: retry later)."""


async def lock_entity_store(conn: asyncpg.Connection) -> None:
    """Take the entity-store lock until the end of the caller's transaction (re-entrant)."""
    _require_transaction(conn)
    await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", *ENTITY_STORE_LOCK)


async def lock_for_batch(conn: asyncpg.Connection, refs: Iterable[EntityRef], *,
                         attempts: int = 8, first_delay: float = 0.01) -> None:
    """The consumer's lock: the store lock, then the batch's held rows, never waiting on a row.

    A handler may hold one of these rows FOR UPDATE while it waits for the store lock
    (service/repository.get(for_update=True) runs before record_change): waiting for that
    row while holding the store lock would deadlock. So the rows are locked NOWAIT inside a
    savepoint; if one is taken, the savepoint rolls back (releasing the store lock too),
    and the batch tries again a little later, holding nothing.
    """
    types, ids = _columns(sorted(set(refs)), 2)
    for attempt in range(attempts):
        try:
            async with conn.transaction():
                await lock_entity_store(conn)
                await conn.execute(
                    "SELECT 1 FROM entities e JOIN unnest($1::text[], $2::text[]) AS k(t, i)"
                    " ON e.entity_type = k.t AND e.entity_id = k.i"
                    " ORDER BY e.entity_type, e.entity_id FOR UPDATE OF e NOWAIT", types, ids)
            return
        except asyncpg.LockNotAvailableError:
            await asyncio.sleep(first_delay * 2**attempt * (0.5 + random.random()))
    raise EntityStoreBusy(f"entity rows stayed locked after {attempts} attempts")


async def apply_event(conn: asyncpg.Connection, event: Event) -> tuple[Outcome, list[ConflictPair]]:
    """Apply one event (apply_events with a batch of one)."""
    return (await apply_events(conn, [event]))[0]


async def apply_events(conn: asyncpg.Connection, events: Sequence[Event], *, store_locked: bool = False,
                       held: dict[EntityRef, str] | None = None) -> list[tuple[Outcome, list[ConflictPair]]]:
    """Apply events in order to entities/entity_versions/conflicts; idempotent, commutative.

    Set-based: two reads (held versions, relevant history) and at most three writes for the
    whole batch, whatever its size. The decisions are convergence.plan_batch's, the same
    as applying the events one by one. Returns each event's outcome and conflicts.
    """
    _require_transaction(conn)
    if not events:
        return []
    if not store_locked:  # the caller (record_changes) may hold it already: one round trip less
        await lock_entity_store(conn)
    # ``held``: the version each entity holds now, when the caller read it under the store
    # lock (record_changes): one read less. Every entity of ``events`` must be a key or absent.
    held, known = await _load(conn, events, held)
    plan = plan_batch(events, held, known)
    states = {id(e): state_json(e.state) for e in plan.new_versions}
    await _insert_versions(conn, plan.new_versions, states)
    if plan.conflicts:
        await _insert_conflicts(conn, plan.conflicts)
    if plan.winners:
        await _upsert_entities(conn, list(plan.winners.values()), states)
    return plan.outcomes


def _columns(rows: Sequence[tuple], width: int) -> list[list]:
    """Rows to ``width`` columns (array parameters for unnest)."""
    return [list(c) for c in zip(*rows)] if rows else [[] for _ in range(width)]


async def _load(conn: asyncpg.Connection, events: Sequence[Event], held: dict[EntityRef, str] | None = None,
                ) -> tuple[dict[EntityRef, str], dict[EntityRef, list[Version]]]:
    if held is None:
        types, ids = _columns(sorted({(e.entity_type, e.entity_id) for e in events}), 2)
        held = {(r[0], r[1]): r[2] for r in await conn.fetch(
            "SELECT e.entity_type, e.entity_id, e.version FROM entities e"
            " JOIN unnest($1::text[], $2::text[]) AS k(t, i)"
            " ON e.entity_type = k.t AND e.entity_id = k.i", types, ids)}
    # Only history that can matter (see plan_batch): the event's own version (duplicate),
    # siblings with the same base (mutable), or every version (insert-only).
    keys = sorted({(e.entity_type, e.entity_id, e.hlc, e.base_version, e.insert_only)
                   for e in events}, key=lambda k: (k[0], k[1], k[2]))
    rows = await conn.fetch(
        "SELECT DISTINCT v.entity_type, v.entity_id, v.version, v.base_version, v.state::text"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bool[])"
        " AS k(t, i, ver, b, io) JOIN entity_versions v"
        " ON v.entity_type = k.t AND v.entity_id = k.i"
        " AND (k.io OR v.version = k.ver OR v.base_version IS NOT DISTINCT FROM k.b)",
        *_columns(keys, 5))
    known: dict[EntityRef, list[Version]] = {}
    for r in rows:
        known.setdefault((r[0], r[1]), []).append(Version(r[2], r[3], json.loads(r[4])))
    return held, known


async def _insert_versions(conn: asyncpg.Connection, new: Sequence[Event],
                           states: dict[int, str]) -> None:
    if not new:
        return
    # Under the store lock every version in ``new`` was checked absent by _load; ON
    # CONFLICT only makes a mistake there harmless.
    await conn.execute(
        "INSERT INTO entity_versions (entity_type, entity_id, version, base_version, state,"
        " event_id, origin_node, origin_town) SELECT t, i, v, b, s::jsonb, e::uuid, o, ot"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
        " $7::text[], $8::text[]) AS k(t, i, v, b, s, e, o, ot) ON CONFLICT DO NOTHING",
        *_columns([(e.entity_type, e.entity_id, e.hlc, e.base_version, states[id(e)],
                    e.event_id, e.origin_node, e.origin_town) for e in new], 8))


async def _insert_conflicts(conn: asyncpg.Connection, pairs: Sequence[ConflictPair]) -> None:
    await conn.execute(
        "INSERT INTO conflicts (conflict_key, kind, entity_type, entity_id, base_version,"
        " local_version, local_state, remote_version, remote_state, winner)"
        " SELECT k, kind, t, i, b, lv, ls::jsonb, rv, rs::jsonb, w FROM unnest($1::text[],"
        " $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],"
        " $9::text[], $10::text[]) AS x(k, kind, t, i, b, lv, ls, rv, rs, w)"
        " ON CONFLICT (conflict_key) DO NOTHING",
        *_columns([(p.key, p.kind, p.entity_type, p.entity_id, p.remote.base_version,
                    p.local.version, state_json(p.local.state), p.remote.version,
                    state_json(p.remote.state), p.winner) for p in pairs], 10))


async def _upsert_entities(conn: asyncpg.Connection, winners: Sequence[Event],
                           states: dict[int, str]) -> None:
    # Sorted by key: rows are locked in one order (the consumer locked them already).
    await conn.execute(
        "INSERT INTO entities (entity_type, entity_id, state, hlc, origin_node, version,"
        " insert_only, updated_at) SELECT t, i, s::jsonb, v, o, v, io, now()"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bool[])"
        " AS k(t, i, s, v, o, io) ORDER BY t, i"
        " ON CONFLICT (entity_type, entity_id) DO UPDATE SET state = excluded.state,"
        " hlc = excluded.hlc, origin_node = excluded.origin_node, version = excluded.version,"
        " insert_only = excluded.insert_only, updated_at = now()",
        *_columns([(e.entity_type, e.entity_id, states[id(e)], e.hlc, e.origin_node,
                    e.insert_only) for e in winners], 6))


async def lock_clock(conn: asyncpg.Connection, node_id: str) -> hlc.Timestamp:
    """Lock this node's hlc_state row and return the last timestamp.

    The row lock is held until the caller's transaction ends, so local writes on one node
    are serialized: HLC order = outbox id order = commit order, and the relay publishes
    them in that order. Writes are a few per second at a counter, so this costs nothing.
    """
    _require_transaction(conn)
    # One statement: creates the row on first use, and DO UPDATE (a no-op write) row-locks
    # it to the end of the transaction as FOR UPDATE would, returning the held value.
    text = await conn.fetchval(
        "INSERT INTO hlc_state AS h (node_id, last_hlc) VALUES ($1, $2)"
        " ON CONFLICT (node_id) DO UPDATE SET last_hlc = h.last_hlc RETURNING last_hlc",
        node_id, hlc.zero(node_id).encode())
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
