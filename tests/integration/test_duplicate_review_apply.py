"""The consumer's post-apply step (apply.ApplyContext.after_apply) finds a duplicate that
arrives by replication, once, in the batch's transaction; a failing step never stops a batch."""

from __future__ import annotations

from types import SimpleNamespace

import asyncpg
import pytest
from aiokafka import TopicPartition

from certs.keys import SoftwareSigner
from replication import apply, envelope, events, hlc, outbox
from service.storage.duplicates import review_applied, sweep

pytestmark = pytest.mark.integration
NOW = 1_700_000_000_000
APP = {"kind": "risai", "status": "issued", "household_id": "H1", "dwelling_id": "D1",
       "disaster": {"id": None, "name": "令和6年能登半島地震", "date": "2024-01-01"}}


def _remote_application(signer, app_id: str, offset: int):
    state = {**APP, "application_id": app_id, "received_at": "2024-01-20T03:05:00+00:00",
             "received_node": "wajima-1", "current_certificate": None}
    event = events.Event(event_id=events.new_event_id(), origin_node="wajima-1", origin_town="172049",
                         entity_type="application", entity_id=app_id, state=state, base_version=None,
                         hlc=hlc.Timestamp(NOW, offset, "wajima-1").encode())
    return SimpleNamespace(topic="risai.events.wajima-1", partition=0, offset=offset,
                           value=envelope.seal(signer, events.encode(event)))


async def _local_application(conn) -> None:
    async with conn.transaction():
        await outbox.record_change(conn, node_id="mashiki-1", town="434434", entity_type="application",
                                   entity_id="A-mashiki-1-1", state={
                                       **APP, "application_id": "A-mashiki-1-1", "received_node": "mashiki-1",
                                       "received_at": "2024-01-20T03:00:00+00:00", "current_certificate": None})


def _ctx(signer, after_apply):
    return apply.ApplyContext("mashiki-1", "risai.events", envelope.static_key_lookup(signer),
                              clock=lambda: NOW, after_apply=after_apply)


async def test_a_replicated_duplicate_is_recorded_once_however_often_it_is_applied(database):
    signer = SoftwareSigner.generate()
    tp = TopicPartition("risai.events.wajima-1", 0)
    batch = {tp: [_remote_application(signer, "A-wajima-1-1", 0)]}
    conn = await asyncpg.connect(database)
    try:
        await _local_application(conn)
        for _ in range(2):  # the second time: a replay (duplicate events, same offsets)
            async with conn.transaction():
                await apply.apply_batch(conn, batch, _ctx(signer, review_applied), {})
        rows = await conn.fetch("SELECT conflict_key, local_version, remote_version, winner, resolved_at"
                                " FROM conflicts WHERE kind = 'duplicate_certificate'")
        assert [(r["local_version"], r["remote_version"], r["winner"], r["resolved_at"]) for r in rows] == [
            ("A-mashiki-1-1", "A-wajima-1-1", "A-mashiki-1-1", None)]
    finally:
        await conn.close()


async def test_a_failing_post_apply_step_is_rolled_back_alone(database):
    signer = SoftwareSigner.generate()
    tp = TopicPartition("risai.events.wajima-1", 0)

    async def broken(conn, applied):
        await conn.execute("INSERT INTO quarantine (topic, partition, \"offset\", reason) VALUES ('x', 0, 0, 'y')")
        raise RuntimeError("a bug in the post-apply step")

    conn = await asyncpg.connect(database)
    try:
        async with conn.transaction():
            result = await apply.apply_batch(conn, {tp: [_remote_application(signer, "A-wajima-1-1", 0)]},
                                             _ctx(signer, broken), {})
        assert result.applied == {"wajima-1": 1}
        assert await conn.fetchval("SELECT count(*) FROM entities WHERE entity_id = 'A-wajima-1-1'") == 1
        assert await conn.fetchval("SELECT next_offset FROM consumer_offsets") == 1
        assert await conn.fetchval("SELECT count(*) FROM quarantine") == 0  # the step's own write rolled back
    finally:
        await conn.close()


async def test_the_start_up_sweep_finds_a_duplicate_applied_without_the_step(database):
    """As after a rebuild from Kafka: the events are applied, no review item yet; the sweep
    at node start records it once."""
    signer = SoftwareSigner.generate()
    tp = TopicPartition("risai.events.wajima-1", 0)
    conn = await asyncpg.connect(database)
    try:
        await _local_application(conn)
        async with conn.transaction():
            await apply.apply_batch(conn, {tp: [_remote_application(signer, "A-wajima-1-1", 0)]},
                                    _ctx(signer, None), {})
        assert await conn.fetchval("SELECT count(*) FROM conflicts") == 0
        assert await sweep(conn) == 1
        assert await sweep(conn) == 1  # idempotent: still one item
        assert await conn.fetchval("SELECT count(*) FROM conflicts WHERE kind = 'duplicate_certificate'") == 1
    finally:
        await conn.close()


async def test_the_sweep_reviews_only_triples_that_can_hold_a_duplicate(database, monkeypatch):
    """A household applies for its dwelling under many disasters: the sweep must not review
    each of those triples (two minutes of start-up at 7,700 applications), only the one with
    two applications, and later the one whose open item lost its second application."""
    from service.counter import duplicates

    reviewed = []
    review = duplicates.review

    async def counted(store, triple):
        reviewed.append(triple.key)
        return await review(store, triple)
    monkeypatch.setattr(duplicates, "review", counted)
    signer = SoftwareSigner.generate()
    tp = TopicPartition("risai.events.wajima-1", 0)
    conn = await asyncpg.connect(database)
    try:
        await _local_application(conn)
        for n in range(5):  # the same household and dwelling, other disasters: one application each
            async with conn.transaction():
                await outbox.record_change(conn, node_id="mashiki-1", town="434434", entity_type="application",
                                           entity_id=f"A-mashiki-1-other{n}", state={
                                               **APP, "application_id": f"A-mashiki-1-other{n}",
                                               "disaster": {"id": None, "name": f"大雨 {n}", "date": "2024-07-01"},
                                               "received_node": "mashiki-1",
                                               "received_at": "2024-07-02T03:00:00+00:00", "current_certificate": None})
        remote = _remote_application(signer, "A-wajima-1-1", 0)
        async with conn.transaction():
            await apply.apply_batch(conn, {tp: [remote]}, _ctx(signer, None), {})
        assert await sweep(conn) == 1
        assert len(reviewed) == 1 and reviewed[0].startswith("H1/D1/")

        # The remote application is withdrawn, applied without the post-apply step: the open
        # item's triple is reviewed again and the item closes.
        first = events.decode(envelope.open_envelope(remote.value, envelope.static_key_lookup(signer)).payload)
        withdrawn = events.Event(event_id=events.new_event_id(), origin_node="wajima-1", origin_town="172049",
                                 entity_type="application", entity_id="A-wajima-1-1",
                                 state={**first.state, "status": "withdrawn"}, base_version=first.hlc,
                                 hlc=hlc.Timestamp(NOW + 1000, 0, "wajima-1").encode())
        batch = {tp: [SimpleNamespace(topic=tp.topic, partition=0, offset=1,
                                      value=envelope.seal(signer, events.encode(withdrawn)))]}
        async with conn.transaction():
            await apply.apply_batch(conn, batch, _ctx(signer, None), {})
        reviewed.clear()
        assert await sweep(conn) == 0
        assert reviewed == [reviewed[0]] and reviewed[0].startswith("H1/D1/")
        assert await conn.fetchval("SELECT count(*) FROM conflicts WHERE kind = 'duplicate_certificate'"
                                   " AND resolved_at IS NULL") == 0
    finally:
        await conn.close()
