"""The transactional outbox: what the service layer calls for every change.

``record_change`` does the whole local write in the caller's transaction: tick the
persisted HLC, read the held version (the new event's base), apply the event to the entity
store, and append it to the outbox. If the caller's transaction rolls back, none of it
happened; if it commits, the relay will publish it, even after a crash (DESIGN 4).
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

import asyncpg

from replication import events, hlc, store
from replication.errors import InsertOnlyViolation
from replication.events import Event

NOTIFY_CHANNEL = "replication_outbox"


def wall_clock_ms() -> int:
    """The default physical clock (milliseconds since the epoch)."""
    return time.time_ns() // 1_000_000


async def append(conn: asyncpg.Connection, event: Event) -> int:
    """Write ``event`` to the outbox in the caller's transaction; returns the outbox id."""
    if not conn.is_in_transaction():
        raise RuntimeError("outbox.append must run inside the caller's transaction")
    outbox_id = await conn.fetchval(
        "INSERT INTO outbox (event_id, entity_type, entity_id, payload)"
        " VALUES ($1, $2, $3, $4) RETURNING id",
        event.event_id, event.entity_type, event.entity_id, events.encode(event))
    # NOTIFY is transactional: the relay is woken only when this transaction commits,
    # never for a row it cannot see yet.
    await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)
    return outbox_id


async def record_change(
    conn: asyncpg.Connection, *, node_id: str, town: str, entity_type: str, entity_id: str,
    state: dict[str, Any], insert_only: bool = False,
    clock: Callable[[], int] = wall_clock_ms,
) -> Event:
    """Record a local change of one entity and its outbox event, in the caller's transaction.

    Returns the event. For an insert-only entity that already exists, an identical
    ``state`` is a no-op that returns the original event; a different one raises
    InsertOnlyViolation (and the caller's transaction should roll back).
    """
    # 1. Lock the clock first: it serializes this node's writes (see store.lock_clock).
    last = await store.lock_clock(conn, node_id)
    # 2. The held version becomes the base; read after the clock lock so no local writer
    #    can change it between this read and our apply.
    held = await conn.fetchrow(
        "SELECT version, state FROM entities WHERE entity_type = $1 AND entity_id = $2",
        entity_type, entity_id)
    if insert_only and held is not None:
        return await _existing_insert(conn, entity_type, entity_id, held, state)
    base = held["version"] if held else None
    # 3. A timestamp after both our last one and the base, so this write beats its base
    #    even when the base came from a node whose clock runs ahead.
    ts = hlc.after(last, hlc.decode(base) if base else None, clock())
    await store.save_clock(conn, ts)
    event = Event(
        event_id=events.new_event_id(), origin_node=node_id, origin_town=town,
        entity_type=entity_type, entity_id=entity_id, state=state, base_version=base,
        hlc=ts.encode(), insert_only=insert_only,
    )
    # 4. Same apply path as remote events, then 5. the outbox row, same transaction.
    await store.apply_event(conn, event)
    await append(conn, event)
    return event


async def _existing_insert(conn: asyncpg.Connection, entity_type: str, entity_id: str,
                           held: asyncpg.Record, state: dict[str, Any]) -> Event:
    if json.loads(held["state"]) != state:
        raise InsertOnlyViolation(
            f"{entity_type} {entity_id} already exists with a different state")
    row = await conn.fetchrow(
        "SELECT * FROM entity_versions WHERE entity_type = $1 AND entity_id = $2"
        " AND version = $3", entity_type, entity_id, held["version"])
    return Event(
        event_id=str(row["event_id"]), origin_node=row["origin_node"],
        origin_town=row["origin_town"], entity_type=entity_type, entity_id=entity_id,
        state=json.loads(row["state"]), base_version=row["base_version"],
        hlc=row["version"], insert_only=True)


async def mark_pending(conn: asyncpg.Connection, event_id: str) -> None:
    """Flag an event whose reply went out before Kafka acknowledged it (pending replication)."""
    await conn.execute(
        "UPDATE outbox SET pending = true WHERE event_id = $1 AND published_at IS NULL",
        event_id)


async def depth(conn: asyncpg.Connection) -> tuple[int, int]:
    """(unpublished rows, of which pending) — the outbox depth metrics."""
    row = await conn.fetchrow(
        "SELECT count(*) AS n, count(*) FILTER (WHERE pending) AS p"
        " FROM outbox WHERE published_at IS NULL")
    return row["n"], row["p"]
