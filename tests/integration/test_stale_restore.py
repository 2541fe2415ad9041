"""A node whose database is restored from an older backup takes back its own later events
from its Kafka topic before it serves, so it never hands out a 整理番号 twice (issue 17).

The backup is real: ``CREATE DATABASE … TEMPLATE`` copies the node's database at that moment.
"""

from __future__ import annotations

import os
import time

import asyncpg
import pytest

from deploy.processes import free_port
from replication import apply, envelope, own_topic
from replication.outbox import wall_clock_ms
from service.storage.db import apply_migrations
from service.storage.repository import recover_sequence
from tests.support.kafka import grant
from tests.support.postgres import throwaway_cluster
from tests.support.replication_nodes import SimNode, eventually

pytestmark = pytest.mark.integration
NODE, TOWN = "a-1", "172049"


@pytest.fixture
async def cluster():
    with throwaway_cluster("restoredb") as pg:
        admin = await asyncpg.connect(pg.dsn())
        await admin.execute('CREATE DATABASE "node"')
        await admin.close()
        conn = await asyncpg.connect(pg.dsn("node"))
        await apply_migrations(conn)
        await conn.close()
        yield pg


async def _issue(node: SimNode, first: int, last: int) -> None:
    for n in range(first, last + 1):
        number = f"{TOWN}-{NODE}-{n:06d}"
        await node.write("certificate", number, {"number": number, "issuing_node": NODE, "n": n},
                         insert_only=True)
        await node.write("application", f"A{n}", {"status": "issued", "current_certificate": number})


async def _all_published(node: SimNode) -> bool:
    return await node.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0


async def _snapshot(pg, source: str, name: str) -> None:
    admin = await asyncpg.connect(pg.dsn())
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    finally:
        await admin.close()


async def test_a_restored_database_takes_back_its_own_later_events(cluster, kafka_broker):
    prefix = f"restore{os.getpid()}{time.monotonic_ns()}"
    access = await grant(kafka_broker, prefix, [NODE])
    node = SimNode(NODE, TOWN, cluster.dsn("node"))
    lookup = envelope.static_key_lookup(node.signer)
    await node.open()
    await node.start(kafka_broker.bootstrap_servers, [NODE], lookup, prefix, kafka=access[NODE])
    try:
        await _issue(node, 1, 5)
        await eventually(lambda: _all_published(node), timeout=60, what="the first five published")
        await node.close()  # the template must have no connections
        await _snapshot(cluster, "node", "backup")  # the nightly backup
        await node.open()
        await node.start(kafka_broker.bootstrap_servers, [NODE], lookup, prefix, kafka=access[NODE])
        await _issue(node, 6, 9)
        await eventually(lambda: _all_published(node), timeout=60, what="the next four published")
        before = await node.digest()
    finally:
        await node.close()

    # The disk is lost; the node comes back on last night's backup.
    restored = await asyncpg.create_pool(cluster.dsn("backup"), min_size=1, max_size=2)
    try:
        async with restored.acquire() as conn:
            assert await recover_sequence(conn, NODE) == 5  # alone, it would hand out 000006 again
        ctx = apply.ApplyContext(NODE, prefix, lookup, wall_clock_ms)
        result = await own_topic.catch_up(restored, ctx, bootstrap_servers=kafka_broker.bootstrap_servers,
                                          kafka_options=access[NODE])
        assert result.error is None and result.applied == 8, result  # 4 certificates + 4 applications
        (first, end), = result.ranges.values()
        assert end - first == 8
        async with restored.acquire() as conn:
            assert await recover_sequence(conn, NODE) == 9
            from replication import digest
            assert await digest.compute(conn) == before  # exactly the state the node had
            hlc_after = await conn.fetchval("SELECT last_hlc FROM hlc_state WHERE node_id = $1", NODE)
            newest = await conn.fetchval("SELECT max(hlc) FROM entities WHERE origin_node = $1", NODE)
            assert hlc_after >= newest  # the clock runs after its own published events

        again = await own_topic.catch_up(restored, ctx, bootstrap_servers=kafka_broker.bootstrap_servers,
                                         kafka_options=access[NODE])
        assert again.applied == 0 and all(f == e for f, e in again.ranges.values()), again
    finally:
        await restored.close()


async def test_kafka_unreachable_at_start_does_not_stop_the_node(cluster):
    pool = await asyncpg.create_pool(cluster.dsn("node"), min_size=1, max_size=2)
    try:
        ctx = apply.ApplyContext(NODE, "unreachable", envelope.static_key_lookup(), wall_clock_ms)
        started = time.monotonic()
        result = await own_topic.catch_up(pool, ctx, bootstrap_servers=f"127.0.0.1:{free_port()}", timeout_s=3)
        assert result.error and result.applied == 0
        assert time.monotonic() - started < 30  # bounded: the node starts with what it holds
    finally:
        await pool.close()
