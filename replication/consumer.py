"""ReplicationConsumer: applies every other node's topic to this node's database.

* Partitions are *assigned* (no consumer group): each node reads every peer topic in full
  and nobody else's progress matters. Kafka's committed offsets are never used.
* On (re)start it seeks to the offsets stored in consumer_offsets, which apply.apply_batch
  writes in the same transaction as the effects: after a crash it resumes exactly after
  the last applied record (no loss, no double apply).
* Any error rolls the batch back, drops the Kafka consumer and retries (replication.loop:
  bounded exponential backoff with jitter, each retry logged, at most a second for
  database errors); the new consumer seeks to the stored offsets again, so the in-memory
  position can never run ahead of the database. Stored offsets only move forward
  (migration 0300 refuses an update that would move one back).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Iterable

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry, Counter, Gauge

from replication import apply, conflicts, envelope, hlc, topics
from replication.loop import KAFKA_MAX_BACKOFF, RetryLoop
from replication.outbox import wall_clock_ms

log = logging.getLogger(__name__)


class ConsumerStalled(KafkaError):
    """Records exist on the broker but the consumer is not receiving them (transient)."""


class ReplicationConsumer:
    """Background consumer of all peer topics (start/stop it in a cleanup_ctx)."""

    def __init__(self, *, pool: asyncpg.Pool, bootstrap_servers: str, node_id: str,
                 peer_node_ids: Iterable[str], key_lookup: envelope.KeyLookup,
                 topic_prefix: str = topics.DEFAULT_PREFIX,
                 registry: CollectorRegistry | None = None, max_records: int = 500,
                 max_drift_ms: int = hlc.DEFAULT_MAX_DRIFT_MS, max_backoff: float = KAFKA_MAX_BACKOFF,
                 refresh_interval: float = 5.0, stall_check_interval: float = 10.0,
                 position_timeout: float = 2.0, clock=wall_clock_ms,
                 key_owner: Callable[[bytes], str | None] | None = None,
                 after_apply: Callable[[asyncpg.Connection, Any], Awaitable[Any]] | None = None,
                 kafka_options: dict[str, Any] | None = None) -> None:
        self.pool, self.bootstrap, self.node_id = pool, bootstrap_servers, node_id
        self.topics = [topics.topic_for(topic_prefix, p) for p in peer_node_ids if p != node_id]
        self.ctx = apply.ApplyContext(node_id, topic_prefix, key_lookup, clock, max_drift_ms,
                                      key_owner, after_apply=after_apply)
        self.max_records, self.max_backoff = max_records, max_backoff
        self.refresh_interval = refresh_interval
        self.stall_check_interval = stall_check_interval
        self.position_timeout = position_timeout
        self.kafka_options = kafka_options or {}
        registry = registry if registry is not None else CollectorRegistry()
        self.applied = Counter("risai_replication_applied", "Events applied, per origin node",
                               ["origin"], registry=registry)
        self.duplicates = Counter("risai_replication_duplicates",
                                  "Events already known (redelivery), per origin node",
                                  ["origin"], registry=registry)
        self.quarantined = Counter("risai_replication_quarantined",
                                   "Events quarantined, per origin node and reason code",
                                   ["origin", "reason"], registry=registry)
        self.clock_ahead = Counter("risai_replication_clock_ahead",
                                   "Events applied although stamped more than the allowed drift"
                                   " ahead of the local clock, per origin node", ["origin"],
                                   registry=registry)
        self.conflicts_open = Gauge("risai_replication_conflicts_open",
                                    "Conflicts waiting for review", registry=registry)
        self.lag_offsets = Gauge("risai_replication_lag_offsets",
                                 "Records not yet applied, per origin node", ["origin"],
                                 registry=registry)
        self.hlc_age = Gauge("risai_replication_hlc_age_seconds",
                             "Age of the last applied event's HLC, per origin node", ["origin"],
                             registry=registry)
        self.lag_checked_age = Gauge(
            "risai_replication_lag_checked_age_seconds",
            "Time since the brokers' end offsets were last read, per origin node (the lag"
            " gauge is only as fresh as this)", ["origin"], registry=registry)
        self.retries = Counter("risai_replication_consumer_retries",
                               "Consumer retries after an error", registry=registry)
        self._consumer: AIOKafkaConsumer | None = None
        self._assigned: set[TopicPartition] = set()
        self._last_refresh = 0.0
        self._last_hlc: dict[str, hlc.Timestamp] = {}
        # Per partition: (epoch ms of the newest end offset heard from the brokers, that end).
        self._ends: dict[TopicPartition, tuple[int, int]] = {}
        self._checked_ms: dict[str, int] = {}  # per origin: its oldest partition's check
        self._started_ms = 0
        self._ends_saved = 0.0  # loop time end offsets were last written to PostgreSQL
        self._loop = RetryLoop(f"replication-consumer-{node_id}", retries=self.retries, log=log,
                               max_backoff=max_backoff)
        self.batches = 0  # committed batches (tests wait on progress)
        self._idle_since = 0.0

    async def start(self) -> None:
        """Start the background task (returns at once; Kafka may still be down)."""
        self._started_ms = self.ctx.clock()
        self._loop.start(self._run)

    async def stop(self) -> None:
        """Stop the task and close the Kafka consumer."""
        await self._loop.stop()
        await self._drop_consumer()

    async def __aenter__(self) -> "ReplicationConsumer":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _run(self) -> None:
        while True:
            await self._loop.retry(self._step)

    async def _step(self) -> None:
        try:
            if self._consumer is None:
                self._consumer = await self._start_consumer()
            loop = asyncio.get_running_loop()
            if loop.time() - self._last_refresh > self.refresh_interval:
                await self._assign(self._consumer)
                self._last_refresh = loop.time()
            await self._consume_once(self._consumer)
        except BaseException:
            # The Kafka position may be ahead of the rolled-back database: start over
            # from the stored offsets with a new consumer.
            await self._drop_consumer()
            raise

    async def _start_consumer(self) -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False,
            auto_offset_reset="earliest", fetch_max_wait_ms=200, **self.kafka_options)
        try:
            await consumer.start()
        except BaseException:
            await consumer.stop()
            raise
        self._assigned, self._last_refresh = set(), 0.0
        self._idle_since = asyncio.get_running_loop().time()
        return consumer

    async def _drop_consumer(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()

    async def _assign(self, consumer: AIOKafkaConsumer) -> None:
        # Peer topics may not exist yet (a node that never wrote): assign what exists and
        # look again every refresh_interval.
        # The consumer's public partitions_for_topic only knows topics it already tracks
        # (none, before assign), so read a fresh cluster metadata snapshot instead.
        cluster = await consumer._client.fetch_all_metadata()
        wanted = {TopicPartition(t, p) for t in self.topics
                  for p in (cluster.partitions_for_topic(t) or ())}
        if wanted == self._assigned:
            return
        consumer.assign(sorted(wanted))
        # assign() forgets positions; the database holds the truth for every partition.
        async with self.pool.acquire() as conn:
            stored = await apply.stored_offsets(conn, self.topics)
        for tp in wanted:
            if (tp.topic, tp.partition) in stored:
                consumer.seek(tp, stored[(tp.topic, tp.partition)])
            else:
                await consumer.seek_to_beginning(tp)
        self._assigned = wanted
        log.info("replication consumer %s: assigned %s", self.node_id, sorted(wanted))

    async def _consume_once(self, consumer: AIOKafkaConsumer) -> None:
        if not self._assigned:
            await asyncio.sleep(min(1.0, self.refresh_interval))
            return
        batch = await consumer.getmany(timeout_ms=500, max_records=self.max_records)
        if not batch:
            await self._check_stalled(consumer)
        else:
            self._idle_since = asyncio.get_running_loop().time()
            high = {tp: consumer.highwater(tp) for tp in batch}
            async with self.pool.acquire() as conn:
                async with conn.transaction():
                    result = await apply.apply_batch(conn, batch, self.ctx, high)
                await apply.merge_clock(conn, self.ctx, result)
                open_count = await conflicts.count_open(conn)
            self.batches += 1
            self._record_metrics(result, open_count)
        await self._update_lag(consumer)

    async def _check_stalled(self, consumer: AIOKafkaConsumer) -> None:
        # aiokafka logs fetch errors instead of raising them, and after a whole-cluster
        # restart its fetcher can stay stuck on dead connections. So when idle for a
        # while, ask the brokers for the end offsets: records we are not getting mean a
        # stalled consumer, which the retry path replaces (seeking from PostgreSQL again).
        now = asyncio.get_running_loop().time()
        if now - self._idle_since < self.stall_check_interval:
            return
        self._idle_since = now
        ends = await asyncio.wait_for(consumer.end_offsets(sorted(self._assigned)), 15)
        now_ms = self.ctx.clock()
        for tp, end in ends.items():
            self._note_end(tp, end, now_ms)
            position = await self._position(consumer, tp)
            # An unknown position is no evidence of a stall (nor of its absence): next time.
            if position is not None and end > position:
                raise ConsumerStalled(f"{tp.topic}[{tp.partition}] has records up to {end} "
                                      f"but none arrived for {self.stall_check_interval}s")

    async def _position(self, consumer: AIOKafkaConsumer, tp: TopicPartition) -> int | None:
        """The consumer's position in ``tp``, or None if it is not known in time.

        aiokafka's position() loops until the position is valid, which needs the brokers
        (an offset reset after a seek to the beginning, say): unbounded, it would block
        the stall watchdog itself while the brokers are unreachable.
        """
        try:
            return await asyncio.wait_for(consumer.position(tp), self.position_timeout)
        except asyncio.TimeoutError:
            log.warning("replication consumer %s: position of %s[%d] unknown after %.1fs",
                        self.node_id, tp.topic, tp.partition, self.position_timeout)
            return None

    def _record_metrics(self, result: apply.BatchResult, open_count: int) -> None:
        for origin, n in result.applied.items():
            self.applied.labels(origin).inc(n)
        for origin, n in result.duplicates.items():
            self.duplicates.labels(origin).inc(n)
        for (origin, code), n in result.quarantined.items():
            self.quarantined.labels(origin, code).inc(n)
        for origin, n in result.clock_ahead.items():
            self.clock_ahead.labels(origin).inc(n)
        self.conflicts_open.set(open_count)
        for origin, stamp in result.newest.items():
            if origin not in self._last_hlc:
                self.hlc_age.labels(origin).set_function(
                    lambda origin=origin: self._age_s(self._last_hlc[origin].wall_ms))
            if origin not in self._last_hlc or stamp > self._last_hlc[origin]:
                self._last_hlc[origin] = stamp

    def _note_end(self, tp: TopicPartition, end: int | None, at_ms: int | None) -> None:
        if end is not None and at_ms is not None and at_ms >= self._ends.get(tp, (0, 0))[0]:
            self._ends[tp] = (at_ms, end)

    async def _update_lag(self, consumer: AIOKafkaConsumer) -> None:
        lag: dict[str, int] = {}
        checked: dict[str, int] = {}
        for tp in self._assigned:
            origin = topics.node_of(self.ctx.topic_prefix, tp.topic)
            # highwater() is from the last fetch *response*: it goes stale, not absent, when
            # fetches fail, so it is only used with the time it was heard (last_poll_timestamp).
            self._note_end(tp, consumer.highwater(tp), consumer.last_poll_timestamp(tp))
            at_ms, high = self._ends.get(tp, (self._started_ms, None))
            checked[origin] = min(at_ms, checked.get(origin, at_ms))
            if high is None:
                continue  # no end offset heard yet for this partition
            position = await self._position(consumer, tp)
            if position is None:
                continue  # unknown, not 0: the gauge keeps its last value
            lag[origin] = lag.get(origin, 0) + max(0, high - position)
        for origin, n in lag.items():
            self.lag_offsets.labels(origin).set(n)
        for origin, at_ms in checked.items():
            if origin not in self._checked_ms:
                self.lag_checked_age.labels(origin).set_function(
                    lambda origin=origin: self._age_s(self._checked_ms[origin]))
            self._checked_ms[origin] = at_ms
        await self._save_ends()

    def _age_s(self, wall_ms: int) -> float:
        # Computed when scraped, so ages keep growing while the consumer is stuck retrying
        # (a cut-off node runs no batch and no lag update, but must not look fresh).
        return max(0.0, (self.ctx.clock() - wall_ms) / 1000)

    async def _save_ends(self) -> None:
        """Write the end offsets heard to consumer_offsets (for GET .../freshness), at most
        every refresh_interval: the API's staleness must not depend on this process."""
        now = asyncio.get_running_loop().time()
        if now - self._ends_saved < self.refresh_interval or not self._ends:
            return
        self._ends_saved = now
        async with self.pool.acquire() as conn:
            await apply.save_end_offsets(conn, [(tp.topic, tp.partition, end, at_ms)
                                                for tp, (at_ms, end) in self._ends.items()])
