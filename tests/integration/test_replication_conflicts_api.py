"""Conflict review, freshness and digest functions against real PostgreSQL."""

import asyncpg
import pytest

from replication import apply, conflicts, digest, freshness, hlc, store
from replication.apply import save_offset
from replication.events import Event, new_event_id

pytestmark = pytest.mark.integration


def event(node, wall, state, base=None, entity_id="R1"):
    return Event(event_id=new_event_id(), origin_node=node, origin_town="434434",
                 entity_type="resident", entity_id=entity_id, state=state, base_version=base,
                 hlc=hlc.Timestamp(wall, 0, node).encode())


async def test_list_and_resolve_conflicts(database):
    conn = await asyncpg.connect(database)
    try:
        base = event("a-1", 1, {"v": 0})
        async with conn.transaction():
            for e in (base, event("a-1", 5, {"v": "A"}, base.hlc), event("c-1", 4, {"v": "C"}, base.hlc)):
                await store.apply_event(conn, e)
        [open_one] = await conflicts.list_open(conn)
        assert open_one.kind == "concurrent_write" and open_one.winner.endswith("a-1")
        assert {open_one.local_state["v"], open_one.remote_state["v"]} == {"A", "C"}
        assert await conflicts.count_open(conn) == 1
        done = await conflicts.resolve(conn, open_one.id, staff="clerk-7", resolution="A is right")
        assert done.resolved_by == "clerk-7" and done.as_dict()["resolved_at"]
        assert await conflicts.list_open(conn) == []
        with pytest.raises(conflicts.ConflictAlreadyResolved):
            await conflicts.resolve(conn, open_one.id, staff="x", resolution="again")
        with pytest.raises(conflicts.ConflictNotFound):
            await conflicts.resolve(conn, 999, staff="x", resolution="none")
    finally:
        await conn.close()


async def test_freshness_and_digest(database):
    conn = await asyncpg.connect(database)
    try:
        empty = await digest.compute(conn)
        async with conn.transaction():
            await store.apply_event(conn, event("b-1", 10_000, {"名前": "山田"}))
            await save_offset(conn, "p.b-1", 0, 5, "b-1", hlc.Timestamp(10_000, 0, "b-1"), 8)
        fresh = await freshness.per_origin(conn, now_ms=13_000, peer_node_ids=["b-1", "c-1"])
        assert [(f.origin_node, f.offset_lag, f.hlc_age_seconds) for f in fresh] == [
            ("b-1", 3, 3.0), ("c-1", None, None)]
        assert not fresh[0].stale and fresh[0].checked_age_s is not None
        assert fresh[1].stale and fresh[1].as_dict()["checked_age_s"] is None
        # Cut off from the brokers: no batch and no end offsets for 30 s. The lag as last
        # seen is unchanged, but the answer says how old it is and that it is stale.
        checked_ms = int((await conn.fetchval(
            "SELECT high_watermark_checked_at FROM consumer_offsets")).timestamp() * 1000)
        later = await freshness.per_origin(conn, now_ms=checked_ms + 31_000)
        assert later[0].offset_lag == 3 and later[0].stale
        assert later[0].as_dict()["checked_age_s"] == pytest.approx(31.0, abs=0.01)
        # The consumer heard the brokers again: fresh, with the new end offset.
        await apply.save_end_offsets(conn, [("p.b-1", 0, 9, checked_ms + 30_000)])
        again = await freshness.per_origin(conn, now_ms=checked_ms + 31_000)
        assert again[0].offset_lag == 4 and not again[0].stale
        assert again[0].checked_age_s == pytest.approx(1.0, abs=0.01)
        d = await digest.compute(conn)
        assert d.rows == 1 and d.counts == {"resident": 1} and d.overall != empty.overall
        assert d == await digest.compute(conn)
    finally:
        await conn.close()
