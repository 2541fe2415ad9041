"""Replication benchmark: figures as ratios to raw aiokafka measured in the same run.

1. Lag: a write committed at node A until it is visible in node B's entity table
   (outbox -> relay -> Kafka acks=all -> consumer -> PostgreSQL apply), one write at a time,
   against a raw aiokafka idempotent acks=all produce -> assigned consume round trip.
2. Rebuild: events/s of replication.rebuild (verify + apply + offsets in PostgreSQL)
   against a raw aiokafka consume of the same topic from offset 0 to its end.

Usage::

    python bench/bench_replication.py                       # starts its own PostgreSQL + Kafka
    python bench/bench_replication.py --bootstrap 127.0.0.1:9092 --dsn postgresql://.../postgres

``--dsn`` must allow CREATE DATABASE (two throwaway databases are created and dropped).
The measured part is bounded (about 30 s with the defaults).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # noqa: E402

from replication import envelope, outbox, rebuild, topics  # noqa: E402
from tests.support.replication_nodes import SimNode, create_database, drop_database  # noqa: E402


def pct(samples: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) in milliseconds."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


async def raw_round_trips(bootstrap: str, n: int, options: dict | None = None) -> list[float]:
    """Produce one message (idempotent, acks=all) and wait until a consumer has it.

    ``options``: aiokafka client options (TLS: security_protocol and ssl_context)."""
    options = options or {}
    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    await topics.ensure_topic(bootstrap, topic, client_options=options)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all",
                                **options)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, fetch_max_wait_ms=200, **options)
    await producer.start()
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        out = []
        for i in range(n):
            start = time.perf_counter()
            await producer.send_and_wait(topic, b"x" * 400, key=f"k{i}".encode())
            await consumer.getone()
            out.append(time.perf_counter() - start)
        return out
    finally:
        await consumer.stop()
        await producer.stop()


async def replication_lags(a: SimNode, b: SimNode, n: int) -> list[float]:
    """Write at A, poll B until the new version is held there."""
    out = []
    async with b.pool.acquire() as conn:
        for i in range(n):
            start = time.perf_counter()
            event = await a.write("resident", f"L{i}", {"name": "山田 花子", "i": i, "pad": "x" * 200})
            while await conn.fetchval(
                    "SELECT version FROM entities WHERE entity_type = 'resident' AND entity_id = $1",
                    event.entity_id) != event.hlc:
                await asyncio.sleep(0.0005)
            out.append(time.perf_counter() - start)
    return out


async def fill(a: SimNode, n: int, per_txn: int = 200) -> None:
    """n more writes at A, in transactions of per_txn (quick to set up)."""
    for start in range(0, n, per_txn):
        async with a.pool.acquire() as conn:
            async with conn.transaction():
                for i in range(start, min(n, start + per_txn)):
                    await outbox.record_change(
                        conn, node_id=a.node_id, town=a.town, entity_type="resident",
                        entity_id=f"F{i}", state={"name": "佐藤 一郎", "i": i, "pad": "y" * 200})


async def raw_consume_rate(bootstrap: str, topic: str) -> tuple[int, float]:
    """Read a topic from 0 to its end with a bare consumer: (records, seconds)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        start = time.perf_counter()
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        count = 0
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=1000, max_records=2000)
            count += sum(len(v) for v in batch.values())
        return count, time.perf_counter() - start
    finally:
        await consumer.stop()


async def run(bootstrap: str, admin_dsn: str, lag_samples: int, rebuild_events: int) -> None:
    """Set up two nodes, measure, print, clean up."""
    make_dsn = lambda name: admin_dsn.rsplit("/", 1)[0] + "/" + name  # noqa: E731
    prefix = f"bench{uuid.uuid4().hex[:6]}.events"
    a = SimNode("a-1", "434434", await create_database(admin_dsn, make_dsn, "bench"))
    b = SimNode("b-1", "172049", await create_database(admin_dsn, make_dsn, "bench"))
    lookup = envelope.static_key_lookup(a.signer, b.signer)
    try:
        for node in (a, b):
            await node.open()
            await node.start(bootstrap, ["a-1", "b-1"], lookup, prefix)
        await replication_lags(a, b, 20)  # warm-up: topics, connections, metadata
        raw = await raw_round_trips(bootstrap, lag_samples)
        lags = await replication_lags(a, b, lag_samples)
        await fill(a, rebuild_events)
        while await a.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"):
            await asyncio.sleep(0.2)
        await b.stop()
        async with b.pool.acquire() as conn:
            result = await rebuild.rebuild(conn, bootstrap_servers=bootstrap, node_id="b-1",
                                           all_node_ids=["a-1", "b-1"], key_lookup=lookup,
                                           topic_prefix=prefix)
        raw_n, raw_s = await raw_consume_rate(bootstrap, topics.topic_for(prefix, "a-1"))
        equal = (await a.digest()).overall == (await b.digest()).overall
    finally:
        for node in (a, b):
            await node.close()
            await drop_database(admin_dsn, node.dsn)
    report(raw, lags, result, raw_n, raw_s, equal)


def report(raw, lags, result, raw_n, raw_s, equal) -> None:
    """Print figures and ratios."""
    print(f"write-at-A to visible-at-B, {len(lags)} sequential writes:")
    for p in (50, 99):
        r, x = pct(raw, p), pct(lags, p)
        print(f"  p{p}: replication {x:7.2f} ms   raw aiokafka round trip {r:7.2f} ms   ratio {x / r:5.2f}x")
    print(f"  mean: replication {statistics.mean(lags) * 1000:7.2f} ms   raw {statistics.mean(raw) * 1000:7.2f} ms")
    raw_rate = raw_n / raw_s
    print(f"rebuild from offset 0: {result.records} events in {result.seconds:.2f} s = "
          f"{result.rate:,.0f} events/s; raw consume {raw_n} in {raw_s:.2f} s = {raw_rate:,.0f} "
          f"events/s; ratio {result.rate / raw_rate:.3f}x")
    print(f"  rebuild time: Kafka fetch {result.fetch_seconds:.2f} s, signature check + decode CPU "
          f"{result.verify_seconds:.2f} s ({result.verify_seconds / result.seconds:.0%}, on worker threads, "
          f"overlapping the previous batch's apply), "
          f"PostgreSQL apply + offsets + commit {result.database_seconds:.2f} s "
          f"({result.database_seconds / result.seconds:.0%})")
    print(f"digest after rebuild equals the origin's: {equal}")


@contextlib.asynccontextmanager
async def own_services():
    """A throwaway PostgreSQL and single Kafka broker from deploy/ (as the tests use)."""
    from deploy.kafka_admin import wait_ready
    from deploy.kafka_cluster import BrokerSpec, KafkaCluster
    from deploy.postgres import PostgresCluster
    from deploy.processes import free_port

    root = Path(tempfile.mkdtemp(prefix="risai-bench-"))
    os.chmod(root, 0o755)
    pg = PostgresCluster.at(root / "pg", free_port())
    pg.init(for_tests=True)
    pg.start()
    kafka = KafkaCluster(root / "kafka", [BrokerSpec(1, "local", free_port(), free_port())],
                         replication_factor=1, min_insync_replicas=1, heap="384m")
    try:
        kafka.start()
        await wait_ready(kafka.bootstrap_servers, expected_brokers=1, replication_factor=1)
        yield kafka.bootstrap_servers, pg.dsn()
    finally:
        kafka.stop()
        pg.destroy()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", help="Kafka bootstrap servers (default: start one)")
    parser.add_argument("--dsn", help="PostgreSQL DSN allowed to CREATE DATABASE")
    parser.add_argument("--lag-samples", type=int, default=300)
    parser.add_argument("--rebuild-events", type=int, default=5000)
    args = parser.parse_args()
    if args.bootstrap and args.dsn:
        await run(args.bootstrap, args.dsn, args.lag_samples, args.rebuild_events)
        return
    async with own_services() as (bootstrap, dsn):
        await run(bootstrap, dsn, args.lag_samples, args.rebuild_events)


if __name__ == "__main__":
    asyncio.run(main())
