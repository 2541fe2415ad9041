"""Three simulated nodes (own databases, own relay and consumer) over one real Kafka."""

import itertools

import pytest

from replication import envelope
from replication.testing import SimNode, create_database, drop_database, eventually

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


async def start_all(nodes, bootstrap, prefix, **options):
    lookup = envelope.static_key_lookup(*(n.signer for n in nodes.values()))
    for node in nodes.values():
        await node.start(bootstrap, list(nodes), lookup, prefix, **options)


async def test_write_at_a_is_visible_at_b_and_c(nodes, kafka_broker, prefix):
    await start_all(nodes, kafka_broker.bootstrap_servers, prefix)
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
