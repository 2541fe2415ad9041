"""Local writes: entity row, version history, persisted HLC and outbox in one transaction."""

import asyncpg
import pytest

from replication import events, outbox
from replication.errors import InsertOnlyViolation

pytestmark = pytest.mark.integration


async def test_record_change_writes_entity_and_outbox_atomically(database):
    conn = await asyncpg.connect(database)
    try:
        async with conn.transaction():
            first = await outbox.record_change(
                conn, node_id="a-1", town="434434", entity_type="resident", entity_id="R1",
                state={"name": "山田"}, clock=lambda: 1000)
        # The clock went back: the second write must still sort after the first.
        async with conn.transaction():
            second = await outbox.record_change(
                conn, node_id="a-1", town="434434", entity_type="resident", entity_id="R1",
                state={"name": "山田 花子"}, clock=lambda: 10)
        assert second.hlc > first.hlc and second.base_version == first.hlc
        row = await conn.fetchrow("SELECT * FROM entities WHERE entity_id = 'R1'")
        assert row["version"] == second.hlc and '"山田 花子"' in row["state"]
        payloads = [r["payload"] for r in await conn.fetch("SELECT payload FROM outbox ORDER BY id")]
        assert [events.decode(p) for p in payloads] == [first, second]
        assert await outbox.depth(conn) == (2, 0)
        with pytest.raises(RuntimeError, match="transaction"):
            await outbox.append(conn, first)
    finally:
        await conn.close()


async def test_rollback_leaves_nothing(database):
    conn = await asyncpg.connect(database)
    try:
        with pytest.raises(ZeroDivisionError):
            async with conn.transaction():
                await outbox.record_change(conn, node_id="a-1", town="434434",
                                           entity_type="resident", entity_id="R1", state={})
                1 / 0
        for table in ("entities", "entity_versions", "outbox", "hlc_state"):
            assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0
    finally:
        await conn.close()


async def test_insert_only_duplicates(database):
    conn = await asyncpg.connect(database)
    kw = dict(node_id="a-1", town="434434", entity_type="certificate", entity_id="C1",
              insert_only=True)
    try:
        async with conn.transaction():
            first = await outbox.record_change(conn, state={"class": "全壊"}, **kw)
        async with conn.transaction():
            again = await outbox.record_change(conn, state={"class": "全壊"}, **kw)
        assert again == first
        with pytest.raises(InsertOnlyViolation):
            async with conn.transaction():
                await outbox.record_change(conn, state={"class": "半壊"}, **kw)
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 1
    finally:
        await conn.close()
