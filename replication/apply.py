"""Apply a batch of Kafka records to the entity store, with its offsets, in one transaction.

Shared by the live consumer and by rebuild. The caller opens the transaction; this module
verifies, decodes, applies or quarantines each record, then writes the next offsets, so
effects and tracking commit together (exactly-once in effect, DESIGN 4). After the commit
the caller merges the remote clocks into the node's HLC (merge_clock).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import Counter
from typing import Any, Awaitable, Callable, Iterable, Sequence

import asyncpg

from replication import envelope, events, hlc, store, topics
from replication.convergence import ConflictPair, Outcome
from replication.errors import BadSignature, OriginMismatch, ReplicationError
from replication.events import Event

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ApplyContext:
    """What verifying and applying needs: who we are and whom we trust."""

    node_id: str
    topic_prefix: str
    key_lookup: envelope.KeyLookup
    clock: Callable[[], int]
    max_drift_ms: int = hlc.DEFAULT_MAX_DRIFT_MS
    # Optional kid -> node id (from the trust list): when given, a key may only sign its own
    # node's events, so a trusted node cannot speak for another even on a writable topic.
    key_owner: Callable[[bytes], str | None] | None = None
    # Optional post-apply step, run in the batch's transaction after the events are stored
    # (the service's duplicate review, service.storage.duplicates.review_applied). It must
    # be idempotent (a batch may be replayed) and must not wait on row locks: it runs
    # holding the entity-store lock.
    after_apply: Callable[[asyncpg.Connection, Sequence[Event]], Awaitable[Any]] | None = None


@dataclasses.dataclass
class BatchResult:
    """Counts per origin node, for metrics and progress."""

    applied: Counter = dataclasses.field(default_factory=Counter)
    duplicates: Counter = dataclasses.field(default_factory=Counter)
    quarantined: Counter = dataclasses.field(default_factory=Counter)  # (origin, code)
    conflicts: int = 0
    records: int = 0
    newest: dict[str, hlc.Timestamp] = dataclasses.field(default_factory=dict)  # per origin
    newest_overall: hlc.Timestamp | None = None
    # Valid events whose HLC is more than max_drift_ms ahead of the local clock, per origin
    # (applied all the same; merge_clock clamps them), and the furthest ahead, in ms.
    clock_ahead: Counter = dataclasses.field(default_factory=Counter)
    clock_ahead_ms: dict[str, int] = dataclasses.field(default_factory=dict)
    verify_seconds: float = 0.0  # CPU seconds spent verifying signatures and decoding


def verify(record: Any, ctx: ApplyContext, now_ms: int) -> Event:
    """Verify the envelope, decode and upcast the event, check its origin and signer.

    A timestamp far ahead of our clock is *not* a refusal: the event is valid and signed,
    and dropping it would make this node diverge for good (see merge_clock).
    """
    origin = topics.node_of(ctx.topic_prefix, record.topic)
    opened = envelope.open_envelope(record.value or b"", ctx.key_lookup)
    event = events.decode(opened.payload)
    if event.origin_node != origin:
        # Each node writes only its own topic: an event claiming another origin is forged
        # or misrouted, and letting it in would let one node speak for another.
        raise OriginMismatch(f"event from {event.origin_node!r} on {origin!r}'s topic")
    if ctx.key_owner is not None and ctx.key_owner(opened.kid) != origin:
        raise BadSignature(f"key {opened.kid.hex()} does not belong to node {origin!r}")
    return event


async def quarantine(conn: asyncpg.Connection, record: Any, reason: str) -> None:
    """Keep a bad record with the reason (same transaction as the offsets)."""
    await quarantine_many(conn, [(record, reason)])


async def quarantine_many(conn: asyncpg.Connection, bad: Sequence[tuple[Any, str]]) -> None:
    """Keep bad records with their reasons, one statement (same transaction as the offsets)."""
    if bad:
        await conn.executemany(
            'INSERT INTO quarantine (topic, partition, "offset", raw, reason)'
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            [(r.topic, r.partition, r.offset, r.value, reason[:2000]) for r, reason in bad])


def check(record: Any, ctx: ApplyContext, now_ms: int) -> Event | ReplicationError:
    """verify(), with a refusal returned rather than raised (pure CPU: no database)."""
    try:
        return verify(record, ctx, now_ms)
    except ReplicationError as exc:
        return exc


Checked = list  # per record: its Event, or the ReplicationError that refuses it
VERIFY_CHUNK = 250


async def verify_batch(records: Sequence[Any], ctx: ApplyContext) -> tuple[Checked, float]:
    """check() every record; returns the results in order and the CPU seconds they took.

    Signature checks are most of a rebuild's CPU. The cryptography library releases the
    GIL while verifying, so large batches are checked in chunks on worker threads (two
    CPUs: about twice as fast), and the event loop stays free meanwhile (rebuild applies
    the previous batch in PostgreSQL while this one is being checked).
    """
    now_ms = ctx.clock()
    if len(records) <= VERIFY_CHUNK:
        return _check_chunk(records, ctx, now_ms)
    loop = asyncio.get_running_loop()
    chunks = [records[i:i + VERIFY_CHUNK] for i in range(0, len(records), VERIFY_CHUNK)]
    parts = await asyncio.gather(*(loop.run_in_executor(None, _check_chunk, c, ctx, now_ms)
                                   for c in chunks))
    return [item for part, _ in parts for item in part], sum(cpu for _, cpu in parts)


def _check_chunk(records: Sequence[Any], ctx: ApplyContext, now_ms: int) -> tuple[Checked, float]:
    started = time.thread_time()
    out = [check(r, ctx, now_ms) for r in records]
    return out, time.thread_time() - started


async def _apply_verified(conn: asyncpg.Connection, batch: Sequence[Event],
                       ) -> list[tuple[Outcome, list[ConflictPair]] | asyncpg.DataError]:
    """Apply verified events set-based; an event PostgreSQL cannot store gets its error.

    The whole batch runs in one savepoint. If a value is refused (e.g. \\u0000 in jsonb),
    the savepoint rolls back and the batch is applied again one event per savepoint, so
    only that event is quarantined and the others still apply, in the same order.
    """
    try:
        async with conn.transaction():
            return list(await store.apply_events(conn, batch))
    except asyncpg.DataError:
        pass
    out: list[tuple[Outcome, list[ConflictPair]] | asyncpg.DataError] = []
    for event in batch:
        try:
            async with conn.transaction():
                out.append(await store.apply_event(conn, event))
        except asyncpg.DataError as exc:
            out.append(exc)
    return out


async def apply_batch(conn: asyncpg.Connection, batch: dict[Any, list[Any]],
                      ctx: ApplyContext, high_watermarks: dict[Any, int | None],
                      verified: tuple[Checked, float] | None = None) -> BatchResult:
    """Apply every record of ``batch`` ({TopicPartition: records}) and store next offsets.

    Must run inside the caller's transaction, which must commit before the consumer reads
    further: the stored offsets are then always exactly the applied position. Records are
    verified one by one (CPU), then applied with a few set-based statements in their
    order, then quarantined rows and offsets are written: all in the caller's transaction.
    ``verified``: verify_batch's result for exactly these records, if already checked.
    """
    if not conn.is_in_transaction():
        raise RuntimeError("apply_batch must run inside a transaction")
    result = BatchResult()
    records = [r for recs in batch.values() for r in recs]
    checked, result.verify_seconds = verified or await verify_batch(records, ctx)
    valid = [(r, e) for r, e in zip(records, checked) if isinstance(e, Event)]
    if valid:
        # First statement of the transaction, holding nothing: see store.lock_for_batch.
        await store.lock_for_batch(conn, [(e.entity_type, e.entity_id) for _, e in valid])
    outcomes = dict(zip((id(r) for r, _ in valid),
                        await _apply_verified(conn, [e for _, e in valid])))
    bad: list[tuple[Any, str]] = []
    applied: dict[int, Event] = {}  # id(record) -> event, for clocks and freshness
    for record, item in zip(records, checked):
        origin = topics.node_of(ctx.topic_prefix, record.topic)
        result.records += 1
        outcome = outcomes.get(id(record))
        if isinstance(item, ReplicationError):
            reason, code = item.reason(), item.code
        elif isinstance(outcome, asyncpg.DataError):
            reason, code = f"apply_failed: {outcome}", "apply_failed"
        else:
            applied[id(record)] = item
            result.conflicts += len(outcome[1])
            counter = result.duplicates if outcome[0] is Outcome.DUPLICATE else result.applied
            counter[origin] += 1
            continue
        bad.append((record, reason))
        result.quarantined[(origin, code)] += 1
    await quarantine_many(conn, bad)
    await _after_apply(conn, ctx, [e for r, e in valid if id(r) in applied])
    await _save_offsets(conn, batch, applied, ctx, result, high_watermarks)
    _note_clocks_ahead([e for _, e in valid], ctx, result)
    return result


async def _after_apply(conn: asyncpg.Connection, ctx: ApplyContext, events: Sequence[Event]) -> None:
    """ctx.after_apply in a savepoint: a failure there is logged and rolled back alone, so a
    bug in a post-apply step never stops replication (the events and offsets still commit)."""
    if ctx.after_apply is None or not events:
        return
    try:
        async with conn.transaction():
            await ctx.after_apply(conn, events)
    except Exception:
        log.exception("replication %s: the post-apply step failed for %d event(s)", ctx.node_id, len(events))


def _note_clocks_ahead(valid: Sequence[Event], ctx: ApplyContext, result: BatchResult) -> None:
    """Count and log valid events stamped beyond the drift bound (applied all the same)."""
    now_ms = ctx.clock()
    for event in valid:
        ahead = hlc.ahead_ms(event.timestamp, now_ms)
        if ahead > ctx.max_drift_ms:
            origin = event.origin_node
            result.clock_ahead[origin] += 1
            result.clock_ahead_ms[origin] = max(ahead, result.clock_ahead_ms.get(origin, 0))
    for origin, n in result.clock_ahead.items():
        log.warning("replication %s: %d event(s) from %s up to %d ms ahead of the local clock"
                    " (allowed drift %d ms): applied; the local HLC is clamped to the bound",
                    ctx.node_id, n, origin, result.clock_ahead_ms[origin], ctx.max_drift_ms)


async def _save_offsets(conn: asyncpg.Connection, batch: dict[Any, list[Any]],
                        applied: dict[int, Event], ctx: ApplyContext, result: BatchResult,
                        high_watermarks: dict[Any, int | None]) -> None:
    newest = None
    for tp, records in batch.items():
        if not records:
            continue
        stamps = [applied[id(r)].timestamp for r in records if id(r) in applied]
        last = max(stamps) if stamps else None
        origin = topics.node_of(ctx.topic_prefix, tp.topic)
        if last is not None and (newest is None or last > newest):
            newest = last
        if last is not None and (origin not in result.newest or last > result.newest[origin]):
            result.newest[origin] = last
        await save_offset(conn, tp.topic, tp.partition, records[-1].offset + 1, origin, last,
                          high_watermarks.get(tp))
    result.newest_overall = newest


async def merge_clock(conn: asyncpg.Connection, ctx: ApplyContext, result: BatchResult) -> None:
    """Lamport's rule: later local writes sort after everything this node has applied.

    Bounded: a timestamp more than max_drift_ms ahead of our clock is merged as
    physical + max_drift_ms (hlc.receive), so a node whose clock runs ahead cannot drag
    every other node's clock with it. A later local write of an entity whose held
    version is further ahead still sorts after it: record_changes takes hlc.after(base).

    Call it *after* the batch committed, in its own short transaction. Lock order: a local
    writer takes the hlc_state row lock and then per-entity locks; a batch takes entity
    locks, so taking the clock inside the batch would deadlock with a writer. Losing this
    step in a crash is harmless: record_change already orders a write after its base.
    """
    if result.newest_overall is None:
        return
    async with conn.transaction():
        await store.observe_remote(conn, ctx.node_id, result.newest_overall, ctx.clock(),
                                   ctx.max_drift_ms)


async def save_offset(conn: asyncpg.Connection, topic: str, partition: int, next_offset: int,
                      origin: str, last: hlc.Timestamp | None, high_watermark: int | None) -> None:
    """Upsert one partition's tracking row (never moves last_hlc backwards)."""
    await conn.execute(
        "INSERT INTO consumer_offsets (topic, partition, next_offset, origin_node, last_hlc,"
        " high_watermark, high_watermark_checked_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $6::bigint IS NULL THEN NULL ELSE now() END,"
        " now())"
        " ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset,"
        " last_hlc = GREATEST(consumer_offsets.last_hlc, excluded.last_hlc),"
        " high_watermark = COALESCE(excluded.high_watermark, consumer_offsets.high_watermark),"
        " high_watermark_checked_at = COALESCE(excluded.high_watermark_checked_at,"
        " consumer_offsets.high_watermark_checked_at),"
        " updated_at = now()",
        topic, partition, next_offset, origin, last.encode() if last else None, high_watermark)


async def save_end_offsets(conn: asyncpg.Connection,
                           checked: Iterable[tuple[str, int, int, int]]) -> None:
    """Record end offsets learned from the brokers: (topic, partition, end, at epoch ms).

    Only rows that exist (a batch was applied there) and only newer checks: freshness
    reports how old the newest check is, so a node cut off from the brokers shows it.
    """
    rows = list(checked)
    if rows:
        await conn.execute(
            "UPDATE consumer_offsets AS o SET high_watermark = k.h,"
            " high_watermark_checked_at = to_timestamp(k.ms / 1000.0)"
            " FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[]) AS k(t, p, h, ms)"
            " WHERE o.topic = k.t AND o.partition = k.p AND (o.high_watermark_checked_at IS NULL"
            " OR o.high_watermark_checked_at < to_timestamp(k.ms / 1000.0))",
            *[list(col) for col in zip(*rows)])


async def stored_offsets(conn: asyncpg.Connection, topic_names: Iterable[str]) -> dict[tuple[str, int], int]:
    """{(topic, partition): next_offset} for the given topics."""
    rows = await conn.fetch(
        "SELECT topic, partition, next_offset FROM consumer_offsets WHERE topic = ANY($1::text[])",
        list(topic_names))
    return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}
