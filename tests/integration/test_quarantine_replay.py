"""Quarantined events: listed for review and replayed after a fix (issue 15), over HTTP
against real PostgreSQL. The records are what the consumer stores when it refuses one: the
raw envelope from the peer's topic and the reason."""

from __future__ import annotations

import asyncio
import time

import pytest

from certs.node_keys import load_node_signers
from replication import envelope, events, hlc
from service.web.appkeys import POOL
from tests.support.counter import TOWN_A, build_pki, counter_node

pytestmark = pytest.mark.integration
PEER, TOPIC = "mashiki-1", "risai.events.mashiki-1"


@pytest.fixture(scope="module")
def pki():
    return build_pki()


def _sealed(pki, entity_id: str, *, forge: bool = False) -> bytes:
    signer = load_node_signers(pki / "nodes" / PEER)[TOWN_A]
    event = events.Event(event_id=events.new_event_id(), origin_node=PEER, origin_town=TOWN_A,
                         entity_type="note", entity_id=entity_id, state={"text": "避難所の記録"},
                         base_version=None, hlc=hlc.Timestamp(int(time.time() * 1000), 0, PEER).encode())
    sealed = envelope.seal(signer, events.encode(event))
    if forge:  # one byte of the payload changed after signing
        head, body, sig = sealed.split(b".")
        sealed = b".".join([head, body[:-2] + (b"A" if body[-2:-1] != b"A" else b"B") + body[-1:], sig])
    return sealed


async def _quarantine(app, offset: int, raw: bytes, reason: str) -> None:
    await app[POOL].execute('INSERT INTO quarantine (topic, partition, "offset", raw, reason)'
                            " VALUES ($1, 0, $2, $3, $4)", TOPIC, offset, raw, reason)


async def test_replay_applies_a_fixed_record_and_keeps_a_bad_one_open(database, pki):
    async with counter_node(database, pki) as node:
        supervisor = await node.login("boss1", ("supervisor",))
        clerk = await node.login("clerk1", ("clerk",))
        # Refused when the node's trust list did not yet hold the peer's key: valid now.
        await _quarantine(node.app, 7, _sealed(pki, "n-1"), "bad_signature: unknown kid")
        await _quarantine(node.app, 8, _sealed(pki, "n-2", forge=True), "bad_signature: signature mismatch")

        status, body = await supervisor.get("/api/v1/replication/quarantine")
        assert status == 200 and body["open"] == 2, body
        first, second = body["quarantine"]
        assert (first["origin"], first["offset"], first["reason"]) == (PEER, 7, "bad_signature: unknown kid")
        assert first["size"] > 0 and first["replayed_at"] is None

        status, body = await supervisor.post(f"/api/v1/replication/quarantine/{first['id']}/replay")
        assert status == 200 and body["applied"] is True, body
        assert body["quarantined"]["replay_result"] == "applied"
        assert body["quarantined"]["replayed_by"] == supervisor.session.staff["staff_id"]
        held = await node.app[POOL].fetchval(
            "SELECT state->>'text' FROM entities WHERE entity_type = 'note' AND entity_id = 'n-1'")
        assert held == "避難所の記録"
        again = await supervisor.post(f"/api/v1/replication/quarantine/{first['id']}/replay")
        assert again == (200, body)  # idempotent
        versions = await node.app[POOL].fetchval(
            "SELECT count(*) FROM entity_versions WHERE entity_type = 'note' AND entity_id = 'n-1'")
        assert versions == 1

        status, body = await supervisor.post(f"/api/v1/replication/quarantine/{second['id']}/replay")
        assert status == 200 and body["applied"] is False
        assert body["quarantined"]["replay_result"].startswith("refused: bad_signature")
        assert body["quarantined"]["last_tried_at"] is not None
        assert await node.app[POOL].fetchval("SELECT count(*) FROM entities WHERE entity_id = 'n-2'") == 0

        status, body = await supervisor.get("/api/v1/replication/quarantine")
        assert body["open"] == 1 and [q["offset"] for q in body["quarantine"]] == [8]
        status, body = await supervisor.get("/api/v1/replication/quarantine", params={"replayed": "true"})
        assert [q["offset"] for q in body["quarantine"]] == [7]

        assert (await clerk.get("/api/v1/replication/quarantine"))[0] == 403
        status, body = await supervisor.get("/api/v1/replication/quarantine", params={"replayed": "maybe"})
        assert status == 422 and body["error"]["fields"][0]["field"] == "replayed"
        status, body = await supervisor.post("/api/v1/replication/quarantine/x/replay")
        assert status == 422 and body["error"]["fields"][0]["field"] == "quarantine_id"
        status, body = await supervisor.post("/api/v1/replication/quarantine/999999/replay")
        assert status == 404 and body["error"]["code"] == "quarantine.not_found"


async def test_more_callers_than_connections_degrade_and_recover(database, pki):
    async with counter_node(database, pki) as node:  # pool_max=6
        supervisor = await node.login("boss1", ("supervisor",))
        for offset in range(3):
            await _quarantine(node.app, offset, _sealed(pki, f"n-{offset}"), "bad_signature: unknown kid")
        _, listing = await supervisor.get("/api/v1/replication/quarantine")
        ids = [q["id"] for q in listing["quarantine"]]
        calls = [supervisor.get("/api/v1/replication/quarantine") for _ in range(20)]
        calls += [supervisor.post(f"/api/v1/replication/quarantine/{ids[i % 3]}/replay") for i in range(15)]
        replies = await asyncio.wait_for(asyncio.gather(*calls), timeout=90)
        assert {s for s, _ in replies} <= {200, 503}, {s for s, _ in replies}
        # Every record was replayed exactly once, however many callers raced for it.
        versions = await node.app[POOL].fetchval(
            "SELECT count(*) FROM entity_versions WHERE entity_type = 'note'")
        replayed = [b for s, b in replies[20:] if s == 200]
        assert replayed and all(b["applied"] for b in replayed)
        for i in range(3):  # a replay that got 503 is simply asked again
            assert (await supervisor.post(f"/api/v1/replication/quarantine/{ids[i]}/replay"))[0] == 200
        assert await node.app[POOL].fetchval(
            "SELECT count(*) FROM entity_versions WHERE entity_type = 'note'") == 3 >= versions
        status, body = await supervisor.get("/api/v1/replication/quarantine")
        assert status == 200 and body["open"] == 0
