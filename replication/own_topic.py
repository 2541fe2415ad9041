"""At node start: take back this node's own events that its database does not hold (issue 17).

A node whose database was restored from an older backup (a disk replaced, a bad upgrade
rolled back) lacks the writes it made after the backup, yet those events are on its own
Kafka topic, and peers hold them. Left alone, the node would hand out 整理番号 again that
certificates already carry, and its clock would run behind its own published events.

So before the node serves, this reads its own topic from the first event its database does
not hold to the end, and applies those events exactly as the consumer applies a peer's (the
same verification, idempotent apply and clock merge). The node then recovers its
sequence from what it holds, as at every start.

Finding where to start costs a handful of reads: the events a database holds are a prefix
of the topic (each was written to the database before it was published), so the first one
missing is found by bisection over offsets, one record fetched per step; on a node that
lost nothing, the last record is held and that is the only probe. Records that cannot be
verified count as held (the consumer quarantines them; they never block the start).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from replication import apply, topics
from replication.errors import ReplicationError

log = logging.getLogger(__name__)
HELD_SQL = "SELECT EXISTS (SELECT 1 FROM entity_versions WHERE entity_type = $1 AND entity_id = $2 AND version = $3)"


@dataclasses.dataclass(frozen=True)
class CatchUp:
    """What the start-up catch-up found: per partition the first offset not held and the end,
    and how many records it applied (0 on a node that lost nothing)."""

    ranges: dict[int, tuple[int, int]]
    applied: int
    seconds: float
    error: str | None = None  # Kafka could not be read: the node starts with what it holds


async def catch_up(pool: asyncpg.Pool, ctx: apply.ApplyContext, *, bootstrap_servers: str,
                   kafka_options: dict[str, Any] | None = None, timeout_s: float = 30.0,
                   max_records: int = 500) -> CatchUp:
    """Apply this node's own events from its topic that its database lacks (bounded in time).

    Never raises for Kafka trouble: a node must start while Kafka is unreachable (it then
    issues from what it holds, and says so in the log and in the result)."""
    started = time.monotonic()
    topic = topics.topic_for(ctx.topic_prefix, ctx.node_id)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False,
                                request_timeout_ms=int(min(timeout_s, 10) * 1000), **(kafka_options or {}))
    try:
        await asyncio.wait_for(consumer.start(), timeout_s)
        result = await asyncio.wait_for(_catch_up(pool, ctx, consumer, topic, max_records), timeout_s)
    except (KafkaError, OSError, asyncio.TimeoutError) as exc:
        error = f"{type(exc).__name__}: {exc}".strip(": ")
        log.error("own topic not read at start: the node issues from what its database holds",
                  extra={"topic": topic, "error": error})
        return CatchUp({}, 0, time.monotonic() - started, error)
    finally:
        await consumer.stop()
    ranges, applied = result
    if applied:
        log.warning("took back own events missing from the database (restored from an older backup?)",
                    extra={"topic": topic, "applied": applied, "ranges": ranges})
    return CatchUp(ranges, applied, time.monotonic() - started)


async def _catch_up(pool: asyncpg.Pool, ctx: apply.ApplyContext, consumer: AIOKafkaConsumer, topic: str,
                    max_records: int) -> tuple[dict[int, tuple[int, int]], int]:
    cluster = await consumer._client.fetch_all_metadata()  # public API knows only tracked topics
    tps = [TopicPartition(topic, p) for p in sorted(cluster.partitions_for_topic(topic) or ())]
    if not tps:
        return {}, 0
    consumer.assign(tps)
    begins, ends = await consumer.beginning_offsets(tps), await consumer.end_offsets(tps)
    ranges, applied = {}, 0
    async with pool.acquire() as conn:
        for tp in tps:
            first = await _first_missing(conn, consumer, tp, ctx, begins[tp], ends[tp])
            ranges[tp.partition] = (first, ends[tp])
            if first < ends[tp]:
                applied += await _apply_range(conn, consumer, tp, ctx, first, ends[tp], max_records)
    return ranges, applied


async def _first_missing(conn: asyncpg.Connection, consumer: AIOKafkaConsumer, tp: TopicPartition,
                         ctx: apply.ApplyContext, low: int, end: int) -> int:
    """The smallest offset in [low, end) whose event the database does not hold (end if none)."""
    if end <= low or await _held(conn, consumer, tp, ctx, end - 1):
        return end
    high = end - 1  # not held
    while low < high:
        middle = (low + high) // 2
        if await _held(conn, consumer, tp, ctx, middle):
            low = middle + 1
        else:
            high = middle
    return low


async def _held(conn: asyncpg.Connection, consumer: AIOKafkaConsumer, tp: TopicPartition,
                ctx: apply.ApplyContext, offset: int) -> bool:
    consumer.seek(tp, offset)
    batch = await consumer.getmany(tp, timeout_ms=5000, max_records=1)
    records = batch.get(tp, [])
    if not records:
        raise asyncio.TimeoutError(f"no record at {tp.topic}[{tp.partition}]@{offset}")
    checked = apply.check(records[0], ctx, ctx.clock())
    if isinstance(checked, ReplicationError):
        return True  # cannot be verified: the consumer's business, never a reason to stop
    return await conn.fetchval(HELD_SQL, checked.entity_type, checked.entity_id, checked.hlc)


async def _apply_range(conn: asyncpg.Connection, consumer: AIOKafkaConsumer, tp: TopicPartition,
                       ctx: apply.ApplyContext, first: int, end: int, max_records: int) -> int:
    """Apply [first, end) in batches, each in its own transaction, then merge the clock."""
    consumer.seek(tp, first)
    position, applied = first, 0
    while position < end:
        batch = await consumer.getmany(tp, timeout_ms=5000, max_records=max_records)
        records = [r for r in batch.get(tp, []) if r.offset < end]
        if not records:
            raise asyncio.TimeoutError(f"{tp.topic}[{tp.partition}] stopped at {position} before {end}")
        async with conn.transaction():
            result = await apply.apply_batch(conn, {tp: records}, ctx, {tp: end})
        await apply.merge_clock(conn, ctx, result)
        applied += sum(result.applied.values())
        position = records[-1].offset + 1
    return applied
