"""Rebuild a node's replicated state from Kafka, from offset 0 of every node's topic.

Run it with the node's relay and consumer stopped. It wipes the replicated tables, then
reads every topic (the node's own included: that is where its own past writes are) up to
the end offsets taken at the start, applying batch by batch with the same transactional
apply as the live consumer. A crash mid-way is safe: run it again (it wipes first). At the
end consumer_offsets points after everything read, so the live consumer continues there.

CLI: ``python -m replication.rebuild --dsn DSN --bootstrap HOST:PORT --node-id ID
--nodes a,b,c --public-key key.pem [--public-key ...]`` shows a progress bar.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, TextIO

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from certs.keys import key_id
from replication import apply, envelope, hlc, topics
from replication.outbox import wall_clock_ms

Progress = Callable[[int, int], None]  # (records done, records total)
WIPED_TABLES = ("entities", "entity_versions", "conflicts", "consumer_offsets", "quarantine")


@dataclass(frozen=True)
class RebuildResult:
    """What a rebuild read and how fast."""

    records: int
    applied: int
    quarantined: int
    seconds: float
    # Where the time went: Kafka fetches, signature checks + decoding (CPU, per event, on
    # worker threads, overlapping the apply of the previous batch), and PostgreSQL
    # (set-based apply, offsets, commit, clock merge).
    fetch_seconds: float = 0.0
    verify_seconds: float = 0.0
    database_seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Records per second."""
        return self.records / self.seconds if self.seconds > 0 else float("inf")


async def wipe(conn: asyncpg.Connection, *, force: bool = False) -> None:
    """Empty the replicated tables; refuses while the outbox holds unpublished events.

    Those events exist nowhere else yet: wiping would drop them from this node's state
    while the relay still publishes them later. Pass force=True only for a node whose
    outbox is known to be lost anyway.
    """
    async with conn.transaction():
        unpublished = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        if unpublished and not force:
            raise RuntimeError(f"{unpublished} outbox events are not published yet; "
                               "let the relay drain them before rebuilding")
        await conn.execute(f"TRUNCATE {', '.join(WIPED_TABLES)}")


async def rebuild(conn: asyncpg.Connection, *, bootstrap_servers: str, node_id: str,
                  all_node_ids: Iterable[str], key_lookup: envelope.KeyLookup,
                  topic_prefix: str = topics.DEFAULT_PREFIX, progress: Progress | None = None,
                  max_records: int = 2000, force: bool = False,
                  max_drift_ms: int = hlc.DEFAULT_MAX_DRIFT_MS,
                  kafka_options: dict[str, Any] | None = None) -> RebuildResult:
    """Wipe and rebuild this node's state from every node's topic; returns counts and time."""
    started = time.monotonic()
    await wipe(conn, force=force)
    ctx = apply.ApplyContext(node_id, topic_prefix, key_lookup, wall_clock_ms, max_drift_ms)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                **(kafka_options or {}))
    await consumer.start()
    try:
        targets = await _targets(consumer, [topics.topic_for(topic_prefix, n) for n in all_node_ids])
        totals = await _read_until(conn, consumer, targets, ctx, max_records, progress)
    finally:
        await consumer.stop()
    return RebuildResult(totals.records, totals.applied, totals.quarantined,
                         time.monotonic() - started, totals.fetch_seconds,
                         totals.verify_seconds, totals.database_seconds)


async def _targets(consumer: AIOKafkaConsumer, names: list[str]) -> dict[TopicPartition, int]:
    # Private _client: public partitions_for_topic knows only already-tracked topics.
    cluster = await consumer._client.fetch_all_metadata()
    tps = [TopicPartition(t, p) for t in names for p in (cluster.partitions_for_topic(t) or ())]
    if not tps:
        return {}
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    # The end offsets now are the target: events written during the rebuild are left to
    # the live consumer, which starts from the offsets this rebuild stores.
    ends = await consumer.end_offsets(tps)
    return {tp: end for tp, end in ends.items()}


@dataclass
class _Totals:
    records: int = 0
    applied: int = 0
    quarantined: int = 0
    fetch_seconds: float = 0.0
    verify_seconds: float = 0.0
    database_seconds: float = 0.0


async def _read_until(conn: asyncpg.Connection, consumer: AIOKafkaConsumer,
                      targets: dict[TopicPartition, int], ctx: apply.ApplyContext,
                      max_records: int, progress: Progress | None) -> _Totals:
    # A two-stage pipeline: while PostgreSQL applies batch k, batch k+1 is fetched and its
    # signatures checked on worker threads. Batches still commit one by one, in order.
    totals, total = _Totals(), sum(targets.values())
    remaining = {tp for tp, end in targets.items() if end > 0}
    previous: tuple[dict, asyncio.Task] | None = None
    if progress:
        progress(0, total)
    try:
        while remaining or previous:
            current = None
            if remaining:
                batch = await _fetch(consumer, remaining, targets, max_records, totals)
                if batch:
                    records = [r for recs in batch.values() for r in recs]
                    current = (batch, asyncio.ensure_future(apply.verify_batch(records, ctx)))
            if previous is not None:
                await _apply(conn, ctx, targets, *previous, totals)
                if progress:
                    progress(totals.records, total)
            previous = current
    finally:
        if previous is not None and not previous[1].done():
            previous[1].cancel()
            await asyncio.gather(previous[1], return_exceptions=True)
    return totals


async def _fetch(consumer: AIOKafkaConsumer, remaining: set[TopicPartition],
                 targets: dict[TopicPartition, int], max_records: int, totals: _Totals) -> dict:
    mark = time.perf_counter()
    batch = await consumer.getmany(*remaining, timeout_ms=1000, max_records=max_records)
    totals.fetch_seconds += time.perf_counter() - mark
    for tp in list(remaining):
        if await consumer.position(tp) >= targets[tp]:
            remaining.discard(tp)
    # Drop records past the target (written after the rebuild started).
    batch = {tp: [r for r in recs if r.offset < targets[tp]] for tp, recs in batch.items()}
    return {tp: recs for tp, recs in batch.items() if recs}


async def _apply(conn: asyncpg.Connection, ctx: apply.ApplyContext,
                 targets: dict[TopicPartition, int], batch: dict, verifying: asyncio.Task,
                 totals: _Totals) -> None:
    verified = await verifying
    mark = time.perf_counter()
    async with conn.transaction():
        result = await apply.apply_batch(conn, batch, ctx, targets, verified)
    await apply.merge_clock(conn, ctx, result)
    totals.database_seconds += time.perf_counter() - mark
    totals.verify_seconds += result.verify_seconds
    totals.records += result.records
    totals.applied += sum(result.applied.values()) + sum(result.duplicates.values())
    totals.quarantined += sum(result.quarantined.values())


def text_progress(stream: TextIO = sys.stderr, width: int = 40) -> Progress:
    """A progress bar on a terminal: ``[#####.....]  1234/5000  24.7%``."""

    def show(done: int, total: int) -> None:
        share = done / total if total else 1.0
        filled = int(share * width)
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {share:6.1%}")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return show


def _load_keys(paths: list[str]) -> envelope.KeyLookup:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    keys = [load_pem_public_key(open(p, "rb").read()) for p in paths]
    return {key_id(k): k for k in keys}.get


async def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m replication.rebuild", description=__doc__)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--node-id", required=True)
    parser.add_argument("--nodes", required=True, help="comma-separated ids of all nodes")
    parser.add_argument("--prefix", default=topics.DEFAULT_PREFIX)
    parser.add_argument("--public-key", action="append", default=[], help="PEM, repeatable")
    parser.add_argument("--force", action="store_true", help="wipe even with unpublished outbox rows")
    parser.add_argument("--tls-dir", help="the node's TLS folder (nodes/<id>/tls): connect with its "
                                          "client certificate, as the node does")
    args = parser.parse_args(argv)
    kafka_options = {}
    if args.tls_dir:
        from certs.tls import TlsFiles
        from certs.tls import kafka_options as tls_options
        kafka_options = tls_options(TlsFiles(Path(args.tls_dir) / "client"))
    conn = await asyncpg.connect(args.dsn)
    try:
        result = await rebuild(conn, bootstrap_servers=args.bootstrap, node_id=args.node_id,
                               all_node_ids=args.nodes.split(","), topic_prefix=args.prefix,
                               key_lookup=_load_keys(args.public_key), force=args.force,
                               progress=text_progress(), kafka_options=kafka_options)
    finally:
        await conn.close()
    print(f"rebuilt {result.records} records ({result.quarantined} quarantined) "
          f"in {result.seconds:.1f}s: {result.rate:.0f} events/s")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point."""
    return asyncio.run(_main(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
