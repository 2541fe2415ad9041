"""OutboxRelay: publishes the node's outbox to its own Kafka topic, in order.

Ordering and durability decisions:

* Rows are read in outbox id order and handed to the producer in that order; with
  ``enable_idempotence=True`` the producer keeps that order per partition even across its
  own retries. Local writes are serialized by the HLC row lock (store.lock_clock), so id
  order is also commit order and HLC order.
* A row is marked published only after the broker acknowledged it with ``acks="all"``
  (all in-sync replicas, at least min.insync.replicas). A crash between the ack and the
  mark republishes the row: consumers treat a known version as a duplicate, so the
  duplicate changes nothing.
* Any failure drops the producer and retries the step (replication.loop: bounded
  exponential backoff with jitter, every retry logged), forever: Kafka may be down for
  days and the outbox simply grows, then drains in order. Database errors back off at
  most a second, and a lost LISTEN connection is opened again on the next step, so the
  relay resumes within about a second of its PostgreSQL coming back. Run one relay per node.
* "Pending" (DESIGN 4: the reply went out before Kafka acknowledged) is derived from the
  outbox alone: an unpublished row older than the acknowledgement timeout was, or will
  be, answered "pending" (outbox.depth). No second write after the commit, which a dying
  database could lose.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry, Counter, Gauge

from replication import envelope, outbox, topics
from replication.envelope import Signer
from replication.loop import KAFKA_MAX_BACKOFF, TRANSIENT, RetryLoop

log = logging.getLogger(__name__)
class OutboxRelay:
    """Background publisher of one node's outbox (start/stop it in a cleanup_ctx)."""

    def __init__(self, *, pool: asyncpg.Pool, bootstrap_servers: str, node_id: str,
                 signer: Signer, topic_prefix: str = topics.DEFAULT_PREFIX,
                 registry: CollectorRegistry | None = None, batch_size: int = 500,
                 poll_interval: float = 1.0, max_backoff: float = KAFKA_MAX_BACKOFF,
                 request_timeout_ms: int = 10_000, partitions: int = 1,
                 replication_factor: int = 1, min_insync_replicas: int | None = None,
                 ack_timeout_s: float = outbox.DEFAULT_ACK_TIMEOUT_S,
                 kafka_options: dict[str, Any] | None = None) -> None:
        self.pool, self.bootstrap, self.node_id, self.signer = pool, bootstrap_servers, node_id, signer
        self.topic = topics.topic_for(topic_prefix, node_id)
        self.batch_size, self.poll_interval, self.max_backoff = batch_size, poll_interval, max_backoff
        self.request_timeout_ms = request_timeout_ms
        self.ack_timeout_s = ack_timeout_s  # the service's: older unpublished rows are pending
        self._topic_args = dict(partitions=partitions, replication_factor=replication_factor,
                                min_insync_replicas=min_insync_replicas)
        self.kafka_options = kafka_options or {}  # TLS: security_protocol, ssl_context
        registry = registry if registry is not None else CollectorRegistry()
        self.depth_gauge = Gauge("risai_outbox_depth", "Outbox rows not yet acknowledged by Kafka",
                                 registry=registry)
        self.pending_gauge = Gauge("risai_outbox_pending", "Outbox rows older than the "
                                   "acknowledgement timeout and not yet acknowledged by Kafka"
                                   " (replied to as pending replication)", registry=registry)
        self.published = Counter("risai_outbox_published", "Outbox rows acknowledged by Kafka",
                                 registry=registry)
        self.retries = Counter("risai_outbox_relay_retries", "Relay retries after an error",
                               registry=registry)
        self._producer: AIOKafkaProducer | None = None
        self._loop = RetryLoop(f"outbox-relay-{node_id}", retries=self.retries, log=log,
                               max_backoff=max_backoff)
        self._wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        self._waiters: dict[str, set[asyncio.Future]] = {}
        # Test seam: awaited between the broker's ack and the mark (crash-window tests).
        self.before_mark: Callable[[list[int]], Awaitable[None]] | None = None

    async def start(self) -> None:
        """Start the background task (returns at once; Kafka may still be down)."""
        self._loop.start(self._run)

    async def stop(self) -> None:
        """Stop the task, the producer and the LISTEN connection."""
        await self._loop.stop()
        await self._drop_producer()
        await self._unlisten()

    async def __aenter__(self) -> "OutboxRelay":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def wait_acknowledged(self, event_id: str, timeout: float) -> bool:
        """Wait until Kafka acknowledged ``event_id``; False on timeout (the reply says pending).

        True also when the event has no outbox row (it came from another node via Kafka).
        """
        fut = asyncio.get_running_loop().create_future()
        # Register before looking at the database: a mark that lands between the two is
        # then seen by one of them, never by neither.
        self._waiters.setdefault(event_id, set()).add(fut)
        try:
            async with self.pool.acquire() as conn:
                row = await conn.fetchrow(
                    "SELECT published_at FROM outbox WHERE event_id = $1", event_id)
            if row is None or row["published_at"] is not None:
                return True
            await asyncio.wait_for(fut, timeout)
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            waiters = self._waiters.get(event_id, set())
            waiters.discard(fut)
            if not waiters:
                self._waiters.pop(event_id, None)

    async def _run(self) -> None:
        await self._listen()
        # The depth metric has its own loop: it must keep moving while a Kafka call hangs.
        depth_task = asyncio.create_task(self._watch_depth(), name=f"outbox-depth-{self.node_id}")
        try:
            await self._publish_forever()
        finally:
            depth_task.cancel()
            await asyncio.gather(depth_task, return_exceptions=True)

    async def _watch_depth(self) -> None:
        while True:
            try:
                await self._refresh_depth()
            except TRANSIENT as exc:
                log.info("outbox relay %s: depth not refreshed: %s", self.node_id, exc)
            await asyncio.sleep(self.poll_interval)

    async def _publish_forever(self) -> None:
        while True:
            # Clear before the step: a commit notified while we publish makes the wait
            # below return at once instead of being lost.
            self._wake.clear()
            published = await self._loop.retry(self._step)
            if published < self.batch_size:
                await self._wait_for_work()

    async def _step(self) -> int:
        if not self._listening():
            await self._unlisten()
            await self._listen()  # the database came back: be woken by commits again
        try:
            if self._producer is None:
                # Bounded: against a half-up cluster, admin and producer start-up can wait
                # a long time, and the depth metric above must keep moving meanwhile.
                self._producer = await asyncio.wait_for(
                    self._start_producer(), timeout=2 * self.request_timeout_ms / 1000)
            return await self._publish_batch(self._producer)
        except BaseException:
            # After any failure the idempotent producer's sequence state is suspect: start
            # a new one (a new producer id) on the next attempt.
            await self._drop_producer()
            raise

    async def _start_producer(self) -> AIOKafkaProducer:
        await topics.ensure_topic(self.bootstrap, self.topic, client_options=self.kafka_options,
                                  **self._topic_args)
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, enable_idempotence=True, acks="all",
            request_timeout_ms=self.request_timeout_ms, linger_ms=0, **self.kafka_options)
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        return producer

    async def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            # stop() would first flush every queued batch, which with the brokers down
            # waits for as long as they are down. Those rows are not marked published, so
            # failing the batches here loses nothing: they are sent again by the next producer.
            producer._message_accumulator.fail_all(KafkaError("relay is replacing its producer"))
            try:
                await producer.stop()
            except Exception as exc:  # a dead broker; nothing left to flush that matters
                log.info("outbox relay %s: producer stop failed: %s", self.node_id, exc)

    async def _publish_batch(self, producer: AIOKafkaProducer) -> int:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id, event_id, entity_type, entity_id, payload FROM outbox"
                " WHERE published_at IS NULL ORDER BY id LIMIT $1", self.batch_size)
        if not rows:
            return 0
        # send() only enqueues; doing it in id order is what fixes the order in the topic.
        futures = [await producer.send(self.topic, key=f"{r['entity_type']}:{r['entity_id']}".encode(),
                                       value=envelope.seal(self.signer, r["payload"]))
                   for r in rows]
        try:
            results = await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True),
                                             timeout=2 * self.request_timeout_ms / 1000)
        except asyncio.TimeoutError:
            raise asyncio.TimeoutError(f"no ack for {len(rows)} events within "
                                       f"{2 * self.request_timeout_ms} ms") from None
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]
        if self.before_mark is not None:
            await self.before_mark([r["id"] for r in rows])
        # Mark only now that every row is acknowledged (see module docstring).
        async with self.pool.acquire() as conn:
            await conn.execute("UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
                               [r["id"] for r in rows])
        self.published.inc(len(rows))
        for r in rows:
            for fut in self._waiters.get(str(r["event_id"]), ()):
                if not fut.done():
                    fut.set_result(True)
        await self._refresh_depth()
        return len(rows)

    async def _refresh_depth(self) -> None:
        async with self.pool.acquire() as conn:
            total, pending = await outbox.depth(conn, self.ack_timeout_s)
        self.depth_gauge.set(total)
        self.pending_gauge.set(pending)

    async def _listen(self) -> None:
        # LISTEN wakes the relay the moment a write commits (low lag); polling every
        # poll_interval is the fallback when the listener connection is lost.
        try:
            self._listener = await self.pool.acquire()
            await self._listener.add_listener(outbox.NOTIFY_CHANNEL, self._notified)
        except TRANSIENT as exc:
            log.warning("outbox relay %s: LISTEN failed (%s); polling only", self.node_id, exc)
            await self._unlisten()

    def _listening(self) -> bool:
        try:
            return self._listener is not None and not self._listener.is_closed()
        except asyncpg.InterfaceError:
            return False  # the pool took the dead connection back

    def _notified(self, *args: object) -> None:
        self._wake.set()

    async def _unlisten(self) -> None:
        conn, self._listener = self._listener, None
        if conn is not None:
            try:
                await conn.remove_listener(outbox.NOTIFY_CHANNEL, self._notified)
            except (*TRANSIENT, asyncpg.InterfaceError):
                pass  # the connection is gone; releasing it below is all that is left
            try:
                await self.pool.release(conn)
            except TRANSIENT:
                pass  # a connection of a database that died: the pool drops it

    async def _wait_for_work(self) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), self.poll_interval)
        except asyncio.TimeoutError:
            pass
