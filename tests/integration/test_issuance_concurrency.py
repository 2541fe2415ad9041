"""More concurrent counter calls than the node has pooled connections (issue 10, STYLE 11).

A real node app (PostgreSQL, a real one-broker Kafka, durable mode, so every issuance waits
for Kafka's acknowledgement) with a pool of 4 connections takes 64 concurrent issuances of
distinct applications and 64 of the same application at once, then a mix of every counter
call. Every request must finish (a clean 503 with Retry-After may be retried), every
application gets exactly one certificate, the outbox drains, and /readyz answers 200
throughout. Before the fix the node wedged here: each issuance held its connection (and a
session advisory lock) while the acknowledgement wait asked the pool for a second one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections import Counter
from typing import Any, AsyncIterator
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient, TestServer

from service.config import DatabaseSettings, KafkaSettings, KeySettings, NodeSettings, Settings, TlsSettings
from service.web.app import create_app
from service.web.appkeys import POOL
from tests.support.auth import ensure_auth
from tests.support.counter import NODE_B, TOWN_B, Node, build_pki, ensure_api, seed_town
from tests.support.kafka import grant, node_tls

pytestmark = pytest.mark.integration
REASON = {"X-Access-Reason": quote("避難所での申請受付（益城町からの避難者）")}
DISASTER = {"name": "令和6年能登半島地震", "date": "2024-01-01"}
POOL_SIZE = 4
REQUEST_DEADLINE_S = 90  # per request, retries included: a wedged node fails, it does not hang
RETRIES = 20


@pytest.fixture(scope="module")
def pki():
    return build_pki()


@contextlib.asynccontextmanager
async def durable_node(dsn: str, pki, cluster) -> AsyncIterator[Node]:
    """The node as deployed: keys in its folder, so create_app starts the relay and consumer;
    Kafka over TLS with the node's own certificate and ACLs (the fixture broker is secure)."""
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    bootstrap = cluster.bootstrap_servers
    await grant(cluster, prefix, [NODE_B])
    settings = Settings(
        node=NodeSettings(id=NODE_B, town_code=TOWN_B),
        database=DatabaseSettings(dsn=dsn, pool_max=POOL_SIZE),
        kafka=KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=prefix, mode="durable",
                            ack_timeout_s=5.0),
        keys=KeySettings(pki / "nodes" / NODE_B, pki / "trust-list.cbor", pki / "root.pem"),
        tls=TlsSettings(dir=node_tls(cluster, NODE_B), http=False, kafka=True),
        secure_cookies=False)
    app = ensure_api(ensure_auth(create_app(settings)))
    server = TestServer(app)
    client = TestClient(server)
    await client.start_server()
    node = Node(app, [client], server)
    try:
        yield node
    finally:
        for extra in node.clients[1:]:
            await extra.close()
        await client.close()


@dataclasses.dataclass
class Anonymous:
    """A caller without a staff login (the applicant, a verifier)."""

    client: TestClient


async def call(staff: Any, method: str, path: str, body: Any = None, *, headers: dict | None = None,
               params: dict | None = None) -> tuple[int, Any, int]:
    """One request; a 503 with Retry-After is retried (bounded). Returns (status, body, 503s seen)."""
    client = staff.client
    session = getattr(staff, "session", None)
    sent = {**(session.headers if session else {}), **(headers or {})}
    busy = 0
    for _ in range(RETRIES):
        resp = await client.request(method, path, json=body, headers=sent, params=params)
        data = await resp.json() if resp.content_type == "application/json" else await resp.read()
        if resp.status == 503 and "Retry-After" in resp.headers:
            busy += 1
            await asyncio.sleep(min(float(resp.headers["Retry-After"]), 1.0))
            continue
        return resp.status, data, busy
    return resp.status, data, busy


async def bounded(coros: list, what: str) -> list:
    """Run all at once; fail (not hang) if any is still running after the deadline."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    done, pending = await asyncio.wait(tasks, timeout=REQUEST_DEADLINE_S)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    assert not pending, f"{len(pending)} of {len(tasks)} {what} did not finish in {REQUEST_DEADLINE_S} s (wedged)"
    return [t.result() for t in tasks]


class ReadyWatch:
    """Polls /readyz every 100 ms while the load runs; records every status."""

    def __init__(self, client: TestClient) -> None:
        self.client, self.statuses, self._stop = client, [], asyncio.Event()

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                resp = await asyncio.wait_for(self.client.get("/readyz"), 10)
                self.statuses.append((resp.status, await resp.text()))
            except asyncio.TimeoutError:
                self.statuses.append((0, "no answer in 10 s"))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 0.1)

    def stop(self) -> None:
        self._stop.set()


def applicants(town: Any) -> list[tuple[Any, Any]]:
    """One (resident, dwelling) per household: each is a distinct (household, dwelling, disaster)."""
    seen, out = set(), []
    for resident in town.residents:
        if resident.household_id in seen:
            continue
        dwelling = next((d for d in town.dwellings if resident.household_id in d.household_ids), None)
        if dwelling is not None:
            seen.add(resident.household_id)
            out.append((resident, dwelling))
    return out


async def judged(clerk: Any, boss: Any, resident: Any, dwelling: Any) -> tuple[str, str]:
    """Application → survey → judgement; returns (application id, tracking code)."""
    status, created, _ = await call(clerk, "POST", "/api/v1/applications", {
        "applicant_resident_id": resident.resident_id, "dwelling_id": dwelling.dwelling_id,
        "disaster": DISASTER}, headers=REASON)
    assert status == 201, created
    app_id = created["application"]["application_id"]
    status, body, _ = await call(boss, "POST", f"/api/v1/applications/{app_id}/surveys",
                                 {"surveyed_on": "2024-01-10", "damage_ratio": 42.5,
                                  "surveyor_id": boss.session.staff["staff_id"]}, headers=REASON)
    assert status == 201, body
    status, body, _ = await call(boss, "POST", f"/api/v1/applications/{app_id}/judgement", {}, headers=REASON)
    assert status == 200, body
    return app_id, created["tracking_code"]


async def issue(clerk: Any, app_id: str) -> tuple[int, Any, int]:
    return await call(clerk, "POST", f"/api/v1/applications/{app_id}/certificate",
                      {"place": "輪島市役所 窓口"}, headers=REASON)


async def whole_story(clerk: Any, boss: Any, anyone: Any, resident: Any, dwelling: Any) -> dict:
    """Search, create, survey, judge, issue, copy, tracking and verify for one household."""
    kana = "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in resident.family_kana)
    status, found, _ = await call(clerk, "GET", "/api/v1/residents", headers=REASON,
                                  params={"kana": kana, "birth_date": resident.birth_date.isoformat()})
    assert status == 200, found
    app_id, code = await judged(clerk, boss, resident, dwelling)
    status, issued, _ = await issue(clerk, app_id)
    assert status == 201, issued
    number = issued["certificate"]["number"]
    status, copy, _ = await call(clerk, "POST", f"/api/v1/certificates/{number}/copies", {"copy_reason": "紛失"}, headers=REASON)
    assert status == 201, copy
    status, tracked, _ = await call(anyone, "GET", f"/api/v1/applications/{app_id}/tracking", params={"code": code})
    assert status == 200 and tracked["application"]["status"] == "issued", tracked
    status, verdict, _ = await call(anyone, "POST", "/api/v1/verify", {"qr": issued["certificate"]["qr"]})
    assert status == 200 and verdict["ok"], verdict
    return {"application_id": app_id, "number": number}


async def _certificates_by_application(node: Node) -> Counter:
    rows = await node.app[POOL].fetch(
        "SELECT state->>'application_id' AS a FROM entities WHERE entity_type = 'certificate'")
    return Counter(r["a"] for r in rows)


async def test_more_concurrent_calls_than_connections_all_finish_once_each(database, pki, kafka_broker):
    async with durable_node(database, pki, kafka_broker) as node:
        town = await seed_town(node.app, residents=420, seed=11)
        households = applicants(town)
        assert len(households) >= 64 + 1 + 24, len(households)
        clerks = [await node.login(f"clerk{i}", ("clerk",)) for i in range(4)]
        bosses = [await node.login(f"boss{i}", ("supervisor", "surveyor")) for i in range(2)]
        anyone = Anonymous(node.client)  # tracking and verify need no login

        # Prepared with more concurrent callers (8) than connections, too.
        gate = asyncio.Semaphore(8)

        async def prepare(i: int, resident: Any, dwelling: Any) -> tuple[str, str]:
            async with gate:
                return await judged(clerks[i % 4], bosses[i % 2], resident, dwelling)

        prepared = await bounded([prepare(i, r, d) for i, (r, d) in enumerate(households[:65])], "preparations")
        distinct, same = [a for a, _ in prepared[:64]], prepared[64][0]

        watch = ReadyWatch(node.client)
        watcher = asyncio.ensure_future(watch.run())
        try:
            # 64 distinct and 64 of the same application, all at once (128 > 4 connections).
            results = await bounded(
                [issue(clerks[i % 4], app_id) for i, app_id in enumerate(distinct)]
                + [issue(clerks[i % 4], same) for i in range(64)], "issuances")
            for status, body, _ in results:
                assert status in (200, 201), body
            numbers = [body["certificate"]["number"] for _, body, _ in results[:64]]
            assert len(set(numbers)) == 64
            same_results = results[64:]
            assert len({body["certificate"]["number"] for _, body, _ in same_results}) == 1
            assert sum(status == 201 for status, _, _ in same_results) == 1
            assert {body["replication"] for _, body, _ in results[:64]} <= {"acknowledged", "pending"}

            # The mix: every counter call at once, with more callers than connections.
            stories = [whole_story(clerks[i % 4], bosses[i % 2], anyone, r, d)
                       for i, (r, d) in enumerate(households[65:65 + 24])]
            revokes = [call(bosses[i % 2], "POST", f"/api/v1/certificates/{n}/revoke",
                            {"reason": "誤発行（試験）"}, headers=REASON) for i, n in enumerate(numbers[:16])]
            verifies = [call(anyone, "POST", "/api/v1/verify", {"qr": body["certificate"]["qr"]})
                        for _, body, _ in results[16:48]]
            reads = [call(clerks[i % 4], "GET", f"/api/v1/certificates/{n}", headers=REASON)
                     for i, n in enumerate(numbers[48:])]
            again = [issue(clerks[i % 4], app_id) for i, app_id in enumerate(distinct[:16])]
            mixed = await bounded(stories + revokes + verifies + reads + again, "mixed calls")
        finally:
            watch.stop()
            await watcher

        story_results, rest = mixed[:24], mixed[24:]
        assert len({s["number"] for s in story_results}) == 24
        for status, body, _ in rest[:16]:
            assert status == 201, body  # revoked
        for status, body, _ in rest[16:48]:
            assert status == 200 and body["ok"], body
        for status, body, _ in rest[48:64]:
            assert status == 200, body
        for (status, body, _), app_id in zip(rest[64:], distinct[:16]):
            assert status == 200 and body["existing"], body  # idempotent: the same certificate

        # Exactly one certificate per application, no open intent, nothing left unpublished.
        per_app = await _certificates_by_application(node)
        assert set(per_app.values()) == {1} and len(per_app) == 64 + 1 + 24
        open_intents = await node.app[POOL].fetchval(
            "SELECT count(*) FROM issuance_intents WHERE completed_at IS NULL AND abandoned_at IS NULL")
        assert open_intents == 0
        for _ in range(300):
            unpublished = await node.app[POOL].fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            if unpublished == 0:
                break
            await asyncio.sleep(0.1)
        assert unpublished == 0, f"{unpublished} outbox rows never published"

        assert len(watch.statuses) >= 3
        not_ready = [s for s in watch.statuses if s[0] != 200]
        assert not not_ready, not_ready[:3]
