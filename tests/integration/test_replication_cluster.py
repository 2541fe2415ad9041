"""Replication on the three-broker, three-region cluster (RF 3, min.insync.replicas 2)."""

import asyncio
import itertools

import pytest

from deploy.kafka_admin import wait_ready
from replication import envelope
from tests.support.kafka import grant
from tests.support.replication_nodes import SimNode, create_database, drop_database, eventually

pytestmark = pytest.mark.integration
TOWNS = {"a-1": "434434", "b-1": "172049", "c-1": "032107"}
_prefixes = itertools.count(1)
RELAY = {"replication_factor": 3, "min_insync_replicas": 2, "request_timeout_ms": 5000,
         "max_backoff": 2.0, "poll_interval": 0.5}


@pytest.fixture
async def nodes(postgres, kafka_cluster3):
    prefix = f"c{next(_prefixes)}.events"
    out = {}
    for node_id, town in TOWNS.items():
        out[node_id] = SimNode(node_id, town, await create_database(postgres.dsn(), postgres.dsn))
        await out[node_id].open()
    lookup = envelope.static_key_lookup(*(n.signer for n in out.values()))
    # Each node connects with its own certificate and only its ACLs, as in the launcher.
    access = await grant(kafka_cluster3, prefix, list(out), replication_factor=3, min_insync_replicas=2)
    for node in out.values():
        await node.start(kafka_cluster3.bootstrap_servers, list(out), lookup, prefix, relay=RELAY,
                         kafka=access[node.node_id])
    yield out
    for node in out.values():
        await node.close()
        await drop_database(postgres.dsn(), node.dsn)


async def digests_equal(nodes):
    return len({(await n.digest()).overall for n in nodes.values()}) == 1


async def drained(node):
    return await node.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0


async def write_round(nodes, tag, n=3):
    out = []
    for i in range(n):
        for node in (nodes["a-1"], nodes["c-1"]):
            out.append(await node.write("resident", f"{tag}{i}", {"by": node.node_id, "i": i}))
    return out


async def test_one_broker_down_writes_go_on_all_down_nodes_issue_locally_then_catch_up(
        nodes, kafka_cluster3):
    a, b, c = nodes.values()
    await write_round(nodes, "before")
    await eventually(lambda: digests_equal(nodes), timeout=60, what="initial convergence")

    # One region's broker gone: acks=all still succeeds with 2 in-sync replicas.
    await asyncio.to_thread(kafka_cluster3.stop_broker, 2)
    try:
        written = await write_round(nodes, "one-down")
        assert await a.replication.acknowledged(written[-2], timeout=30)
        await eventually(lambda: digests_equal(nodes), timeout=60, what="convergence, 1 broker down")
    finally:
        await asyncio.to_thread(kafka_cluster3.start_broker, 2)
        await wait_ready(kafka_cluster3.bootstrap_servers, expected_brokers=3,
                         replication_factor=3, timeout=120,
                         client_options=kafka_cluster3.admin_options())

    # Every broker gone: local issuance goes on, replies say "pending", the outbox grows.
    for broker_id in (1, 2, 3):
        await asyncio.to_thread(kafka_cluster3.stop_broker, broker_id)
    try:
        offline = await write_round(nodes, "offline")
        assert not await a.replication.acknowledged(offline[-2], timeout=1.0)
        # Pending comes from the outbox alone: rows older than the ack timeout (2 s).
        await eventually(lambda: _gauge_at_least(a, "risai_outbox_pending", 1), timeout=20,
                         what="pending gauge")
        await eventually(lambda: _gauge_at_least(a, "risai_outbox_depth", 3), timeout=20,
                         what="outbox depth metric")
        # The relays keep retrying (bounded backoff) meanwhile; each retry is counted.
        await eventually(lambda: _gauge_at_least(a, "risai_outbox_relay_retries_total", 1),
                         timeout=40, what="relay retries")
    finally:
        # No wait per broker: one KRaft controller alone has no quorum and never opens
        # its listener, so start all three and then wait for the cluster as a whole.
        for broker_id in (1, 2, 3):
            await asyncio.to_thread(kafka_cluster3.start_broker, broker_id, wait=False)
        await wait_ready(kafka_cluster3.bootstrap_servers, expected_brokers=3,
                         replication_factor=3, timeout=120,
                         client_options=kafka_cluster3.admin_options())

    for node in (a, c):
        await eventually(lambda node=node: drained(node), timeout=120, what="outbox drained")
    await eventually(lambda: digests_equal(nodes), timeout=120, what="catch-up convergence")
    assert (await b.digest()).counts["resident"] == 9
    await eventually(lambda: _gauge_at_least(a, "risai_outbox_depth", 0, exact=True), timeout=10,
                     what="outbox depth back to 0")


async def _gauge_at_least(node, name, floor, exact=False):
    value = node.replication.registry.get_sample_value(name)
    return value == floor if exact else (value or 0) >= floor
