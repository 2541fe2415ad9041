"""Batch writes: record_changes, and the consumer's lock that never waits on a handler's row."""

import asyncio
from types import SimpleNamespace

import asyncpg
import pytest
from aiokafka import TopicPartition

from certs.keys import SoftwareSigner
from replication import apply, envelope, events, hlc, outbox, store
from replication.errors import InsertOnlyViolation
from replication.events import Change

pytestmark = pytest.mark.integration
KW = dict(node_id="a-1", town="434434")


async def test_record_changes_is_record_change_one_after_the_other(database):
    conn = await asyncpg.connect(database)
    try:
        async with conn.transaction():
            written = await outbox.record_changes(conn, **KW, clock=lambda: 5000, changes=[
                Change("resident", "R1", {"v": 1}), Change("resident", "R2", {"v": 1}),
                Change("resident", "R1", {"v": 2}),
                Change("certificate", "C1", {"c": 1}, insert_only=True),
                Change("certificate", "C1", {"c": 1}, insert_only=True)])
        r1, r2, r1b, c1, c1again = written
        # One clock reading: consecutive counters, in change order.
        assert [hlc.decode(e.hlc).counter for e in (r1, r2, r1b, c1)] == [0, 1, 2, 3]
        assert r1b.base_version == r1.hlc and r1.base_version is None and c1again == c1
        rows = await conn.fetch("SELECT payload FROM outbox ORDER BY id")
        assert [events.decode(r["payload"]) for r in rows] == [r1, r2, r1b, c1]
        assert await conn.fetchval("SELECT last_hlc FROM hlc_state") == c1.hlc
        assert await conn.fetchval("SELECT count(*) FROM entity_versions") == 4
        held = await conn.fetchval("SELECT version FROM entities WHERE entity_id = 'R1'")
        assert held == r1b.hlc
        with pytest.raises(InsertOnlyViolation):
            async with conn.transaction():
                await outbox.record_changes(conn, **KW, changes=[
                    Change("resident", "R3", {"v": 1}),
                    Change("certificate", "C1", {"c": 2}, insert_only=True)])
        assert await conn.fetchval("SELECT count(*) FROM entities WHERE entity_id = 'R3'") == 0
    finally:
        await conn.close()


async def test_many_changes_in_one_transaction_take_a_constant_number_of_locks(database):
    conn = await asyncpg.connect(database)
    try:
        async with conn.transaction():
            for start in range(0, 3000, 500):
                await outbox.record_changes(conn, **KW, changes=[
                    Change("resident", f"R{i}", {"i": i}) for i in range(start, start + 500)])
            locks = await conn.fetchval(
                "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory'")
        assert locks == 1
    finally:
        await conn.close()


async def test_consumer_lock_backs_off_from_a_handlers_row_and_holds_nothing_meanwhile(database):
    handler, consumer, writer = [await asyncpg.connect(database) for _ in range(3)]
    try:
        async with handler.transaction():
            await outbox.record_change(handler, **KW, entity_type="resident", entity_id="R1",
                                       state={"v": 1})
        handler_txn = handler.transaction()
        await handler_txn.start()
        await handler.execute("SELECT 1 FROM entities WHERE entity_id = 'R1' FOR UPDATE")
        async with consumer.transaction():
            with pytest.raises(store.EntityStoreBusy):
                await store.lock_for_batch(consumer, [("resident", "R1")], attempts=2)
            # Between tries the consumer held nothing: a local writer gets the store lock.
            async with writer.transaction():
                await asyncio.wait_for(store.lock_entity_store(writer), timeout=5)
        await handler_txn.rollback()
        async with consumer.transaction():
            await store.lock_for_batch(consumer, [("resident", "R1")], attempts=1)
    finally:
        for conn in (handler, consumer, writer):
            await conn.close()


async def test_an_event_far_ahead_of_the_local_clock_is_applied_and_the_clock_clamped(database):
    # The drill: wajima-1's clock 517 s ahead of mashiki-1's, drift bound 300 s.
    now, bound = 1_700_000_000_000, 300_000
    signer = SoftwareSigner.generate()
    stamp = hlc.Timestamp(now + 517_252, 0x1A9, "wajima-1")
    remote = events.Event(event_id=events.new_event_id(), origin_node="wajima-1",
                          origin_town="172049", entity_type="resident", entity_id="R1",
                          state={"v": 1}, base_version=None, hlc=stamp.encode())
    tp = TopicPartition("risai.events.wajima-1", 0)
    record = SimpleNamespace(topic=tp.topic, partition=0, offset=0,
                             value=envelope.seal(signer, events.encode(remote)))
    ctx = apply.ApplyContext("mashiki-1", "risai.events", envelope.static_key_lookup(signer),
                             clock=lambda: now, max_drift_ms=bound)
    conn = await asyncpg.connect(database)
    try:
        async with conn.transaction():
            result = await apply.apply_batch(conn, {tp: [record]}, ctx, {})
        await apply.merge_clock(conn, ctx, result)
        assert result.applied == {"wajima-1": 1} and not result.quarantined
        assert result.clock_ahead == {"wajima-1": 1}
        assert result.clock_ahead_ms == {"wajima-1": 517_252}
        assert await conn.fetchval("SELECT count(*) FROM quarantine") == 0
        assert await conn.fetchval("SELECT version FROM entities WHERE entity_id = 'R1'") == remote.hlc
        clock = hlc.decode(await conn.fetchval(
            "SELECT last_hlc FROM hlc_state WHERE node_id = 'mashiki-1'"))
        assert now < clock.wall_ms <= now + bound  # merged, but not dragged 517 s ahead
        # A local update of the far-ahead version still sorts after it (after(floor)).
        async with conn.transaction():
            [update] = await outbox.record_changes(conn, node_id="mashiki-1", town="434434",
                                                   clock=lambda: now,
                                                   changes=[Change("resident", "R1", {"v": 2})])
        assert update.base_version == remote.hlc and update.hlc > remote.hlc
        assert await conn.fetchval("SELECT version FROM entities WHERE entity_id = 'R1'") == update.hlc
    finally:
        await conn.close()
