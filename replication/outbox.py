"""The transactional outbox: what the service layer calls for every change.

``record_changes`` (and ``record_change``, its batch of one) does the whole local write in
the caller's transaction: tick the persisted HLC, read the held versions (the new events'
bases), apply the events to the entity store, and append them to the outbox. If the caller's transaction rolls back, none of it
happened; if it commits, the relay will publish it, even after a crash (DESIGN 4).
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Sequence

import asyncpg

from replication import events, hlc, store
from replication.errors import InsertOnlyViolation
from replication.events import Change, Event

NOTIFY_CHANNEL = "replication_outbox"
# How long a reply waits for Kafka's ack before it says "pending" (service KafkaSettings).
DEFAULT_ACK_TIMEOUT_S = 2.0


def wall_clock_ms() -> int:
    """The default physical clock (milliseconds since the epoch)."""
    return time.time_ns() // 1_000_000


async def append(conn: asyncpg.Connection, event: Event) -> int:
    """Write ``event`` to the outbox in the caller's transaction; returns the outbox id."""
    return (await append_many(conn, [event]))[0]


async def append_many(conn: asyncpg.Connection, batch: Sequence[Event]) -> list[int]:
    """Write events to the outbox in the caller's transaction, in order; returns their ids."""
    if not conn.is_in_transaction():
        raise RuntimeError("outbox.append must run inside the caller's transaction")
    # ORDER BY n: ids follow the given (HLC) order, which is the order the relay publishes.
    # NOTIFY is transactional: the relay is woken only when this transaction commits,
    # never for a row it cannot see yet. It rides on the insert (one round trip): the
    # notifications of one transaction with the same channel and payload are folded into one.
    ids = await conn.fetch(
        "WITH added AS (INSERT INTO outbox (event_id, entity_type, entity_id, payload)"
        " SELECT e::uuid, t, i, p FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[])"
        " WITH ORDINALITY AS k(e, t, i, p, n) ORDER BY n RETURNING id)"
        " SELECT id, pg_notify($5, '') FROM added",
        [e.event_id for e in batch], [e.entity_type for e in batch],
        [e.entity_id for e in batch], [events.encode(e) for e in batch], NOTIFY_CHANNEL)
    return sorted(r[0] for r in ids)


async def record_change(
    conn: asyncpg.Connection, *, node_id: str, town: str, entity_type: str, entity_id: str,
    state: dict[str, Any], insert_only: bool = False,
    clock: Callable[[], int] = wall_clock_ms,
) -> Event:
    """Record a local change of one entity and its outbox event, in the caller's transaction.

    record_changes with a batch of one. Returns the event. For an insert-only entity that
    already exists, an identical ``state`` is a no-op that returns the original event; a
    different one raises InsertOnlyViolation (and the caller's transaction should roll back).
    """
    [event] = await record_changes(conn, node_id=node_id, town=town, clock=clock,
                                   changes=[Change(entity_type, entity_id, state, insert_only)])
    return event


async def record_changes(
    conn: asyncpg.Connection, *, node_id: str, town: str, changes: Sequence[Change],
    clock: Callable[[], int] = wall_clock_ms,
) -> list[Event]:
    """Record local changes and their outbox events, in order, in the caller's transaction.

    Each change behaves as record_change would one after the other (a later change of the
    same entity is based on the earlier one); the statements are set-based, a few for the
    whole batch. Returns one event per change (for an identical insert-only repeat, the
    original event). Raises InsertOnlyViolation as record_change does.
    """
    if not changes:
        return []
    # 1. Lock the clock first: it serializes this node's writes (see store.lock_clock).
    #    2. Then the entity-store lock (order: see store.ENTITY_STORE_LOCK).
    last = await store.lock_clock(conn, node_id)
    await store.lock_entity_store(conn)
    # 3. The held versions become the bases; read under both locks, so nobody can change
    #    them between this read and our apply.
    held = await _held(conn, changes)
    stored = {ref: event.hlc for ref, event in held.items()}  # the versions apply starts from
    now = clock()
    out: list[Event] = []
    new: list[Event] = []
    for change in changes:
        ref = (change.entity_type, change.entity_id)
        if change.insert_only and ref in held:
            out.append(_existing_insert(change, held[ref]))
            continue
        base = held[ref].hlc if ref in held else None
        # 4. A timestamp after our last one and the base, so this write beats its base even
        #    when the base came from a node whose clock runs ahead. One clock reading for the
        #    batch: consecutive counters, strictly increasing in change order.
        last = hlc.after(last, hlc.decode(base) if base else None, now)
        event = Event(
            event_id=events.new_event_id(), origin_node=node_id, origin_town=town,
            entity_type=change.entity_type, entity_id=change.entity_id, state=change.state,
            base_version=base, hlc=last.encode(), insert_only=change.insert_only)
        held[ref] = event
        out.append(event)
        new.append(event)
    if new:
        await store.save_clock(conn, last)
        # 5. Same apply path as remote events, then 6. the outbox rows, same transaction.
        await store.apply_events(conn, new, store_locked=True, held=stored)
        await append_many(conn, new)
    return out


async def _held(conn: asyncpg.Connection, changes: Sequence[Change]) -> dict[tuple[str, str], Event]:
    """The held version of each changed entity, as the event that wrote it.

    Only insert-only entities need the whole event (an identical repeat returns it); for
    the others only ``hlc`` (the version) is used, so state and ids are left empty.
    """
    io: dict[tuple[str, str], bool] = {}
    for c in changes:
        io[(c.entity_type, c.entity_id)] = io.get((c.entity_type, c.entity_id), False) or c.insert_only
    keys = sorted(io)
    rows = await conn.fetch(
        "SELECT e.entity_type, e.entity_id, e.version, v.state::text AS state, v.event_id,"
        " v.origin_node, v.origin_town, v.base_version"
        " FROM unnest($1::text[], $2::text[], $3::bool[]) AS k(t, i, io)"
        " JOIN entities e ON e.entity_type = k.t AND e.entity_id = k.i"
        " LEFT JOIN entity_versions v ON k.io AND v.entity_type = e.entity_type"
        " AND v.entity_id = e.entity_id AND v.version = e.version",
        [k[0] for k in keys], [k[1] for k in keys], [io[k] for k in keys])
    return {(r["entity_type"], r["entity_id"]): Event(
        event_id=str(r["event_id"] or ""), origin_node=r["origin_node"] or "",
        origin_town=r["origin_town"] or "", entity_type=r["entity_type"],
        entity_id=r["entity_id"], state=json.loads(r["state"]) if r["state"] else {},
        base_version=r["base_version"], hlc=r["version"], insert_only=True) for r in rows}


def _existing_insert(change: Change, held: Event) -> Event:
    if held.state != change.state:
        raise InsertOnlyViolation(f"{change.entity_type} {change.entity_id} already exists "
                                  "with a different state")
    return held


async def depth(conn: asyncpg.Connection, ack_timeout_s: float = DEFAULT_ACK_TIMEOUT_S) -> tuple[int, int]:
    """(unpublished rows, of which pending) — the outbox depth metrics.

    Pending is derived from the outbox alone: an unpublished row older than the service's
    acknowledgement timeout is one whose reply went out without Kafka's ack (DESIGN 4).
    created_at is the writing transaction's start, at most a moment before its commit.
    """
    row = await conn.fetchrow(
        "SELECT count(*) AS n,"
        " count(*) FILTER (WHERE created_at < now() - make_interval(secs => $1)) AS p"
        " FROM outbox WHERE published_at IS NULL", float(ack_timeout_s))
    return row["n"], row["p"]
