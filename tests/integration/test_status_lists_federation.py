"""Revocation and supersession reach an offline verifier through another node's bundle.

On a real federation (three Kafka brokers in KRaft mode, three PostgreSQL clusters, three
node processes, started by the launcher on free ports): a certificate is revoked and another
superseded at node A (益城町); once replication has carried them, a verifier bundle
downloaded from node C (陸前高田市) says 失効 and 差替え (with the new number) offline,
through certs.verify with no network; past the lists' expiry it says 確認不能.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import timedelta

import aiohttp
import asyncpg
import pytest
from cryptography import x509

from certs.bundle import parse_bundle
from certs.verify import verify
from deploy.launcher import NODE_DB
from service.api.common import now
from service.api.status import CHECK_INTERVAL_S
from tests.support.federation import launched_federation

pytestmark = pytest.mark.integration
API = "/api/v1"
DISASTER = {"name": "令和6年能登半島地震", "date": "2024-01-01"}
HOUSEHOLDS = """
SELECT DISTINCT ON (r.state->>'household_id') r.entity_id AS resident, d.entity_id AS dwelling
  FROM entities r
  JOIN entities d ON d.entity_type = 'dwelling' AND d.state->'household_ids' ? (r.state->>'household_id')
 WHERE r.entity_type = 'resident' AND r.state->>'town_code' = $1
 ORDER BY r.state->>'household_id', r.entity_id LIMIT 2"""  # two different households


class Counter:
    """A logged-in demo account at one node, over HTTPS (verified against the TLS CA)."""

    def __init__(self, port: int, ssl_context) -> None:
        self.base = f"https://127.0.0.1:{port}{API}"
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                             connector=aiohttp.TCPConnector(ssl=ssl_context),
                                             timeout=aiohttp.ClientTimeout(total=30))
        self.headers: dict[str, str] = {}

    async def login(self, town: str, password: str) -> None:
        status, body = await self.post("/auth/login", {"town_code": town, "username": "demo", "password": password})
        assert status == 200, body
        self.headers = {"X-CSRF-Token": body["csrf_token"]}
        self.staff_id = body["staff"]["staff_id"]  # the demo account holds every role, surveyor too

    async def post(self, path: str, body: dict) -> tuple[int, dict]:
        async with self.session.post(self.base + path, json=body, headers=self.headers) as resp:
            return resp.status, await resp.json()

    async def application(self, resident: str, dwelling: str, ratio: str) -> tuple[str, dict]:
        status, body = await self.post("/applications", {"applicant_resident_id": resident, "dwelling_id": dwelling,
                                                         "disaster": DISASTER})
        assert status == 201, body
        app_id = body["application"]["application_id"]
        return app_id, await self.issue(app_id, "first", ratio)

    async def issue(self, app_id: str, kind: str, ratio: str) -> dict:
        steps = [(f"/applications/{app_id}/surveys", {"kind": kind, "surveyed_on": "2024-01-10", "damage_ratio": ratio,
                                                   "surveyor_id": self.staff_id}),
                 (f"/applications/{app_id}/judgement", {}), (f"/applications/{app_id}/certificate", {})]
        for path, body in steps:
            status, reply = await self.post(path, body)
            assert status in (200, 201), (path, reply)
        return reply["certificate"]


async def _replicated(dsn: str, revoked: str, newest: str, timeout: float = 90) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = await conn.fetchval(
                "SELECT count(*) FROM entities WHERE (entity_type, entity_id) IN (('revocation', $1), ('certificate', $2))",
                revoked, newest)
            if found == 2:
                return
            await asyncio.sleep(0.5)
        raise AssertionError(f"{revoked} / {newest} not replicated within {timeout} s")
    finally:
        await conn.close()


async def _households(dsn: str, town: str) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(dsn)
    try:
        return [(r["resident"], r["dwelling"]) for r in await conn.fetch(HOUSEHOLDS, town)]
    finally:
        await conn.close()


async def _story(fed) -> None:
    a, _, c = fed.spec.nodes
    password = re.search(r"password: (\S+)", (fed.run_dir / "demo-staff.txt").read_text()).group(1)
    root = x509.load_pem_x509_certificate((fed.run_dir / "pki" / "root.pem").read_bytes())
    pairs = await _households(fed.postgres(a).dsn(NODE_DB), a.town)
    assert len(pairs) == 2, pairs
    counter = Counter(a.http_port, fed.http_context())
    try:
        await counter.login(a.town, password)
        _, revoked = await counter.application(*pairs[0], "35")
        app_id, old = await counter.application(*pairs[1], "25")
        status, body = await counter.post(f"/certificates/{revoked['number']}/revoke", {"reason": "誤交付"})
        assert status == 201, body
        assert (await counter.post(f"/applications/{app_id}/resurvey-request",
                                   {"resurvey_reason": "内部の損傷"}))[0] == 200
        new = await counter.issue(app_id, "second", "55")
        assert new["supersedes"] == old["number"]
        await _replicated(fed.postgres(c).dsn(NODE_DB), revoked["number"], new["number"])
        # C notices a change at its next check (at most CHECK_INTERVAL_S after the last one).
        await asyncio.sleep(CHECK_INTERVAL_S * 1.5)
        async with counter.session.get(f"https://127.0.0.1:{c.http_port}{API}/verifier-bundle") as resp:
            assert resp.status == 200 and resp.headers["ETag"] and "max-age" in resp.headers["Cache-Control"]
            data = await resp.read()
    finally:
        await counter.session.close()

    # From here on: the bundle file alone, no network.
    bundle = parse_bundle(data, root)
    assert bundle.rejected == () and bundle.status_lists[a.id].signer_node == c.id
    at = now()
    gone = verify(revoked["qr"], bundle.trust_list, at, status_lists=bundle.status_lists)
    assert gone.word == "失効", gone.checks
    replaced = verify(old["qr"], bundle.trust_list, at, status_lists=bundle.status_lists)
    assert (replaced.word, replaced.superseded_by) == ("差替え", new["number"])
    current = verify(new["qr"], bundle.trust_list, at, status_lists=bundle.status_lists)
    assert current.word == "有効", current.checks
    late = bundle.status_lists[a.id].expires_at + timedelta(seconds=1)
    assert verify(new["qr"], bundle.trust_list, late, status_lists=bundle.status_lists).word == "確認不能"


def test_revocation_and_supersession_at_a_reach_a_bundle_from_c():
    with launched_federation(seed_residents=20) as fed:
        asyncio.run(_story(fed))
