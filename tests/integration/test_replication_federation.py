"""Three simulated nodes (own databases, own relay and consumer) over one real Kafka."""

import asyncio
import inspect
import itertools
import json

import pytest
from aiokafka import AIOKafkaProducer

from certs.keys import SoftwareSigner
from replication import envelope, events, freshness, rebuild
from replication.outbox import wall_clock_ms
from replication.topics import topic_for
from tests.support.kafka import grant, node_options
from tests.support.replication_nodes import SimNode, create_database, drop_database, eventually

pytestmark = pytest.mark.integration
_prefixes = itertools.count(1)
TOWNS = {"a-1": "434434", "b-1": "172049", "c-1": "032107"}


@pytest.fixture
async def nodes(postgres):
    """Three nodes with databases and pools, not yet replicating."""
    out = {}
    for node_id, town in TOWNS.items():
        dsn = await create_database(postgres.dsn(), postgres.dsn, prefix="fed")
        out[node_id] = SimNode(node_id, town, dsn)
        await out[node_id].open()
    yield out
    for node in out.values():
        await node.close()
        await drop_database(postgres.dsn(), node.dsn)


@pytest.fixture
def prefix():
    return f"t{next(_prefixes)}.events"


async def start_all(nodes, kafka, prefix, **options):
    """Start every node with its own certificate and ACLs (tests/support/kafka.py)."""
    lookup = envelope.static_key_lookup(*(n.signer for n in nodes.values()))
    access = await grant(kafka, prefix, list(TOWNS))
    for node in nodes.values():
        await node.start(kafka.bootstrap_servers, list(nodes), lookup, prefix,
                         kafka=access[node.node_id], **options)


async def test_write_at_a_is_visible_at_b_and_c(nodes, kafka_broker, prefix):
    await start_all(nodes, kafka_broker, prefix)
    a, b, c = nodes.values()
    event = await a.write("resident", "R1", {"name": "山田 花子"})
    for node in (b, c):
        async def seen(node=node):
            row = await node.held("resident", "R1")
            return row is not None and row["version"] == event.hlc
        await eventually(seen, what=f"R1 at {node.node_id}")
    assert await a.replication.relay.wait_acknowledged(event.event_id, 5)
    digests = {(await n.digest()).overall for n in nodes.values()}
    assert len(digests) == 1


def metric(node, name, **labels):
    value = node.replication.registry.get_sample_value(name, labels)
    return value or 0.0


async def version_at(node, entity_id):
    row = await node.held("resident", entity_id)
    return row["version"] if row else None


async def converged(nodes, entity_ids, versions=None):
    async def check():
        for eid in entity_ids:
            seen = {await version_at(n, eid) for n in nodes.values()}
            if len(seen) != 1 or None in seen or (versions and seen != {versions[eid]}):
                return False
        return True
    await eventually(check, what=f"convergence of {entity_ids}")


async def test_relay_killed_between_publish_and_mark_loses_and_duplicates_nothing(
        nodes, kafka_broker, prefix):
    await start_all(nodes, kafka_broker, prefix)
    a, b, c = nodes.values()
    published = asyncio.Event()

    async def crash_before_mark(ids):
        published.set()
        await asyncio.Event().wait()  # hang here until the relay task is cancelled

    a.replication.relay.before_mark = crash_before_mark
    written = [await a.write("resident", f"R{i}", {"n": i}) for i in range(5)]
    await asyncio.wait_for(published.wait(), 30)
    await a.replication.relay.stop()  # the "crash": acknowledged by Kafka, never marked
    assert await a.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 5
    await converged(nodes, [f"R{i}" for i in range(5)], {f"R{i}": e.hlc for i, e in enumerate(written)})
    # A new relay republishes the unmarked rows: the consumers see them as duplicates.
    a.replication.relay.before_mark = None
    await a.replication.relay.start()
    await eventually(lambda: _zero(a.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")),
                     what="outbox drained")
    for node in (b, c):
        await eventually(lambda node=node: _ge(metric(node, "risai_replication_duplicates_total",
                                                      origin="a-1"), 5), what="duplicates seen")
        assert await node.fetchval("SELECT count(*) FROM entity_versions") == 5
        assert metric(node, "risai_replication_applied_total", origin="a-1") == 5
    assert len({(await n.digest()).overall for n in nodes.values()}) == 1


async def _zero(awaitable):
    return (await awaitable) == 0


async def _ge(value, floor):
    if inspect.isawaitable(value):
        value = await value
    return value >= floor


async def test_concurrent_writes_converge_on_one_winner_and_both_record_the_conflict(
        nodes, kafka_broker, prefix):
    await start_all(nodes, kafka_broker, prefix)
    a, b, c = nodes.values()
    base = await a.write("resident", "R1", {"name": "base"})
    await converged(nodes, ["R1"], {"R1": base.hlc})
    # Cut A and C off (both stop replicating), write the same entity at both, reconnect.
    await a.stop()
    await c.stop()
    at_a = await a.write("resident", "R1", {"name": "from A"})
    at_c = await c.write("resident", "R1", {"name": "from C"})
    assert at_a.base_version == at_c.base_version == base.hlc
    await start_all({"a-1": a, "c-1": c}, kafka_broker, prefix)
    winner = max(at_a.hlc, at_c.hlc)
    await converged(nodes, ["R1"], {"R1": winner})
    for node in nodes.values():
        await eventually(lambda node=node: _ge(node.fetchval("SELECT count(*) FROM conflicts"), 1),
                         what=f"conflict at {node.node_id}")
    keys = {await n.fetchval("SELECT conflict_key FROM conflicts") for n in nodes.values()}
    assert len(keys) == 1
    row = await a.fetchval("SELECT winner FROM conflicts")
    assert row == winner


async def test_bad_events_are_quarantined_and_the_consumer_keeps_going(
        nodes, kafka_broker, prefix):
    await start_all(nodes, kafka_broker, prefix)
    a, b, c = nodes.values()
    first = await a.write("resident", "R1", {"v": 1})
    await converged(nodes, ["R1"], {"R1": first.hlc})
    good = events.encode(first)
    raw = json.loads(good)
    raw.update(schema_version=99, event_id=events.new_event_id())
    future = events.canonical_json(raw)
    forged = events.canonical_json({**json.loads(good), "state": {"v": "forged"}})
    head, _, sig = envelope.seal(a.signer, good).split(b".")
    bad = [
        b".".join([head, envelope.b64url(forged), sig]),  # tampered
        b".".join([head, envelope.b64url(forged), b""]),  # unsigned
        envelope.seal(a.signer, future),  # unknown schema version, validly signed
        envelope.seal(a.signer, b"{not json"),  # malformed
        envelope.seal(c.signer, events.encode(first)),  # C's key, but C's event? no: A's
        envelope.seal(SoftwareSigner.generate(), good),  # unknown key
    ]
    # With A's own credentials (WRITE on A's topic): the signature checks still catch these.
    producer = AIOKafkaProducer(bootstrap_servers=kafka_broker.bootstrap_servers,
                                **node_options(kafka_broker, "a-1"))
    await producer.start()
    try:
        for value in bad:
            await producer.send_and_wait(topic_for(prefix, "a-1"), value, key=b"resident:R1")
    finally:
        await producer.stop()
    second = await a.write("resident", "R1", {"v": 2})
    await converged(nodes, ["R1"], {"R1": second.hlc})
    for node in (b, c):
        reasons = [r.split(":")[0] for r in await _reasons(node)]
        # The event sealed by C's key is A's genuine event: it verifies (C is trusted) and
        # is a harmless duplicate. Binding keys to nodes is the trust list's job.
        assert sorted(reasons) == sorted(["bad_signature", "bad_signature", "unknown_schema_version",
                                          "malformed", "bad_signature"])
        assert metric(node, "risai_replication_quarantined_total", origin="a-1",
                      reason="bad_signature") == 3
        assert (await node.held("resident", "R1"))["state"] == '{"v": 2}'


async def _reasons(node):
    async with node.pool.acquire() as conn:
        return [r["reason"] for r in await conn.fetch("SELECT reason FROM quarantine ORDER BY id")]


async def test_consumer_restart_resumes_from_stored_offsets(nodes, kafka_broker, prefix):
    await start_all(nodes, kafka_broker, prefix)
    a, b, c = nodes.values()
    first = [await a.write("resident", f"R{i}", {"i": i}) for i in range(3)]
    await converged(nodes, ["R0", "R1", "R2"], {f"R{i}": e.hlc for i, e in enumerate(first)})
    stored = await b.fetchval("SELECT next_offset FROM consumer_offsets WHERE origin_node = 'a-1'")
    assert stored == 3
    await b.stop()
    later = [await a.write("resident", f"S{i}", {"i": i}) for i in range(4)]
    await b.start(kafka_broker.bootstrap_servers, list(nodes),
                  envelope.static_key_lookup(*(n.signer for n in nodes.values())), prefix,
                  kafka=node_options(kafka_broker, "b-1"))
    await converged(nodes, [f"S{i}" for i in range(4)], {f"S{i}": e.hlc for i, e in enumerate(later)})
    # The restarted consumer (fresh metrics) applied exactly the 4 new events, nothing twice.
    assert metric(b, "risai_replication_applied_total", origin="a-1") == 4
    assert metric(b, "risai_replication_duplicates_total", origin="a-1") == 0
    assert await b.fetchval("SELECT next_offset FROM consumer_offsets WHERE origin_node = 'a-1'") == 7
    # The lag was read from the brokers just now, and the API's answer says so.
    age = b.replication.registry.get_sample_value("risai_replication_lag_checked_age_seconds",
                                                  {"origin": "a-1"})
    assert age is not None and age < 30
    async with b.pool.acquire() as conn:
        fresh = {f.origin_node: f for f in await freshness.per_origin(conn, now_ms=wall_clock_ms())}
    assert fresh["a-1"].offset_lag == 0 and not fresh["a-1"].stale


async def test_wiped_node_rebuilds_to_its_peers_digest(nodes, kafka_broker, prefix):
    await start_all(nodes, kafka_broker, prefix)
    a, b, c = nodes.values()
    written = []
    for i in range(10):
        for node in (a, b, c):
            written.append(await node.write("resident", f"R{i % 4}", {"by": node.node_id, "i": i}))
    written.append(await b.write("certificate", "C1", {"class": "全壊"}, insert_only=True))
    await eventually(lambda: _all_equal(nodes), what="equal digests")
    await eventually(lambda: _zero(b.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")),
                     what="b's outbox drained")
    before = await b.digest()
    conflicts_before = await b.fetchval("SELECT count(*) FROM conflicts")
    await b.stop()
    seen = []
    lookup = envelope.static_key_lookup(*(n.signer for n in nodes.values()))
    async with b.pool.acquire() as conn:
        result = await rebuild.rebuild(conn, bootstrap_servers=kafka_broker.bootstrap_servers,
                                       node_id="b-1", all_node_ids=list(nodes), key_lookup=lookup,
                                       topic_prefix=prefix, progress=lambda d, t: seen.append((d, t)),
                                       kafka_options=node_options(kafka_broker, "b-1"))
    assert result.records == len(written) and result.quarantined == 0
    assert seen[-1] == (len(written), len(written))
    assert await b.digest() == before == await a.digest()
    # Conflict detection replays deterministically: the same conflicts are found again.
    assert await b.fetchval("SELECT count(*) FROM conflicts") == conflicts_before
    # After the rebuild the live consumer continues from the stored offsets.
    await b.start(kafka_broker.bootstrap_servers, list(nodes), lookup, prefix,
                  kafka=node_options(kafka_broker, "b-1"))
    new = await c.write("resident", "R9", {"after": "rebuild"})
    await converged(nodes, ["R9"], {"R9": new.hlc})
    assert metric(b, "risai_replication_duplicates_total", origin="c-1") == 0


async def _all_equal(nodes):
    return len({(await n.digest()).overall for n in nodes.values()}) == 1


async def test_node_stopped_abruptly_during_a_stream_of_writes_converges(
        nodes, kafka_broker, prefix):
    # In-process stand-in for SIGKILL: B's relay and consumer are cancelled wherever they
    # are (possibly mid-transaction, which PostgreSQL then rolls back). The real SIGKILL
    # of a node process belongs to chaos/.
    await start_all(nodes, kafka_broker, prefix)
    a, b, c = nodes.values()
    lookup = envelope.static_key_lookup(*(n.signer for n in nodes.values()))

    async def stream(node):
        for i in range(40):
            await node.write("resident", f"R{i % 7}", {"by": node.node_id, "i": i})
            await asyncio.sleep(0.01)

    writers = [asyncio.create_task(stream(a)), asyncio.create_task(stream(c))]
    for pause in (0.15, 0.2, 0.1):
        await asyncio.sleep(pause)
        await b.stop()
        await b.write("resident", "B-local", {"while": "replication down", "pause": pause})
        await asyncio.sleep(0.1)
        await b.start(kafka_broker.bootstrap_servers, list(nodes), lookup, prefix,
                  kafka=node_options(kafka_broker, "b-1"))
    await asyncio.gather(*writers)
    await eventually(lambda: _all_equal(nodes), what="equal digests after restarts")
    assert (await b.digest()).counts["resident"] == 8
