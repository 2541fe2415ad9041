"""Real node processes under a real fault: SIGKILL a node mid-stream, restart, converge.

The federation is the launcher's (three KRaft brokers, one PostgreSQL per node, three
node processes). Writes go through each node's transactional outbox in its own database,
so the node's relay publishes them and the other nodes' consumers apply them.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from deploy.launcher import NODE_DB, Federation
from deploy.processes import kill
from replication.digest import compute
from replication.outbox import record_change
from tests.support.federation import launched_federation

pytestmark = pytest.mark.integration

WRITES_PER_NODE = 40


@pytest.fixture(scope="module")
def federation():
    with launched_federation() as fed:
        yield fed


def _dsn(fed: Federation, node_id: str) -> str:
    node = next(n for n in fed.spec.nodes if n.id == node_id)
    return fed.postgres(node).dsn(NODE_DB)


async def _write_stream(fed: Federation, node_id: str, count: int, started: asyncio.Event) -> None:
    node = next(n for n in fed.spec.nodes if n.id == node_id)
    conn = await asyncpg.connect(_dsn(fed, node_id))
    try:
        for i in range(count):
            async with conn.transaction():
                await record_change(conn, node_id=node.id, town=node.town, entity_type="survey",
                                    entity_id=f"{node.id}-s{i:04d}",
                                    state={"survey_id": f"{node.id}-s{i:04d}", "n": i})
            if i == count // 3:
                started.set()
            await asyncio.sleep(0.02)
    finally:
        await conn.close()


async def _digests(fed: Federation) -> dict[str, str]:
    out = {}
    for node in fed.spec.nodes:
        conn = await asyncpg.connect(_dsn(fed, node.id))
        try:
            out[node.id] = (await compute(conn)).overall
        finally:
            await conn.close()
    return out


async def _wait_equal(fed: Federation, timeout: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        digests = await _digests(fed)
        if len(set(digests.values())) == 1 or time.monotonic() > deadline:
            return digests
        await asyncio.sleep(0.5)


async def test_node_killed_mid_stream_converges_after_restart(federation):
    victim = next(n for n in federation.spec.nodes if n.id == "wajima-1")
    started = asyncio.Event()
    writers = [asyncio.create_task(_write_stream(federation, nid, WRITES_PER_NODE, started))
               for nid in ("mashiki-1", "rikuzentakata-1")]
    await started.wait()
    # SIGKILL: no shutdown hooks, no final commit of offsets.
    assert kill(federation.node_record(victim))
    await asyncio.gather(*writers)
    assert federation.node_record(victim) is None, "the killed node must be gone"

    # The operator's way back: `up` again starts only what is missing.
    await asyncio.to_thread(federation.up, lambda _line: None)
    digests = await _wait_equal(federation, timeout=90)
    assert len(set(digests.values())) == 1, digests
    conn = await asyncpg.connect(_dsn(federation, victim.id))
    try:
        surveys = await conn.fetchval("SELECT count(*) FROM entities WHERE entity_type = 'survey'")
        quarantined = await conn.fetchval("SELECT count(*) FROM quarantine")
    finally:
        await conn.close()
    assert surveys == 2 * WRITES_PER_NODE
    assert quarantined == 0
