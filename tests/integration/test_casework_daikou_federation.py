"""The 代行 report after a town hall comes back (issue 14), on a real federation.

The launcher's federation (three KRaft brokers with TLS and ACLs, one PostgreSQL per node,
three node processes on free ports): 益城町's node (mashiki-1) issues one certificate of its
own and is stopped; while it is down, 輪島市's and 陸前高田市's nodes issue certificates in
益城町's name to its residents (and B makes a copy and revokes one). mashiki-1 is started
again, catches up from Kafka, and its 代行 report lists exactly the partners' certificates,
by node, with the copy and the revocation; its auditor sees the partners' audit records.
"""

from __future__ import annotations

import asyncio
import re
import time
from urllib.parse import quote

import aiohttp
import asyncpg
import pytest

from deploy.launcher import NODE_DB
from deploy.processes import stop
from tests.support.federation import launched_federation

pytestmark = pytest.mark.integration
API = "/api/v1"
DISASTER = {"name": "令和6年能登半島地震", "date": "2024-01-01"}
REASON = {"X-Access-Reason": quote("相互応援協定に基づく代行発行（益城町庁舎被災のため）")}
HOUSEHOLDS = """
SELECT DISTINCT ON (r.state->>'household_id') r.entity_id AS resident, d.entity_id AS dwelling
  FROM entities r
  JOIN entities d ON d.entity_type = 'dwelling' AND d.state->'household_ids' ? (r.state->>'household_id')
 WHERE r.entity_type = 'resident' AND r.state->>'town_code' = $1
 ORDER BY r.state->>'household_id', r.entity_id LIMIT $2"""


class Counter:
    """The demo account of one node, over HTTPS."""

    def __init__(self, port: int, ssl_context) -> None:
        self.base = f"https://127.0.0.1:{port}{API}"
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                             connector=aiohttp.TCPConnector(ssl=ssl_context),
                                             timeout=aiohttp.ClientTimeout(total=60))
        self.headers: dict[str, str] = {}

    async def login(self, town: str, password: str) -> None:
        status, body = await self.post("/auth/login", {"town_code": town, "username": "demo", "password": password})
        assert status == 200, body
        self.headers = {"X-CSRF-Token": body["csrf_token"], **REASON}
        self.staff_id = body["staff"]["staff_id"]  # the demo account holds every role, surveyor too

    async def post(self, path: str, body: dict) -> tuple[int, dict]:
        async with self.session.post(self.base + path, json=body, headers=self.headers) as resp:
            return resp.status, await resp.json()

    async def get(self, path: str) -> tuple[int, dict]:
        async with self.session.get(self.base + path, headers=self.headers) as resp:
            return resp.status, await resp.json()

    async def issue_for(self, resident: str, dwelling: str, ratio: str) -> str:
        status, body = await self.post("/applications", {"applicant_resident_id": resident,
                                                         "dwelling_id": dwelling, "disaster": DISASTER})
        assert status == 201, body
        app_id = body["application"]["application_id"]
        steps = [(f"/applications/{app_id}/surveys", {"surveyed_on": "2024-01-10", "damage_ratio": ratio,
                                                          "surveyor_id": self.staff_id}),
                 (f"/applications/{app_id}/judgement", {}), (f"/applications/{app_id}/certificate", {})]
        for path, payload in steps:
            status, reply = await self.post(path, payload)
            assert status in (200, 201), (path, reply)
        return reply["certificate"]["number"]


async def _wait(dsn: str, sql: str, *args, want, timeout: float = 120) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + timeout
        while (got := await conn.fetchval(sql, *args)) != want:
            if time.monotonic() > deadline:
                raise AssertionError(f"{sql} gave {got}, not {want}, within {timeout} s")
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


async def _households(dsn: str, town: str, n: int) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(dsn)
    try:
        return [(r["resident"], r["dwelling"]) for r in await conn.fetch(HOUSEHOLDS, town, n)]
    finally:
        await conn.close()


def _password(fed) -> str:
    return re.search(r"password: (\S+)", (fed.run_dir / "demo-staff.txt").read_text()).group(1)


async def _partners_issue(fed, b, c, pairs) -> tuple[list[str], list[str], str, str]:
    password = _password(fed)
    at_b, at_c = Counter(b.http_port, fed.http_context()), Counter(c.http_port, fed.http_context())
    try:
        await at_b.login(b.town, password)
        await at_c.login(c.town, password)
        by_b = [await at_b.issue_for(*pairs[1], "55"), await at_b.issue_for(*pairs[2], "45")]
        by_c = [await at_c.issue_for(*pairs[3], "25")]
        status, body = await at_b.post(f"/certificates/{by_b[0]}/copies", {"copy_reason": "追加"})
        assert status == 201, body
        status, body = await at_b.post(f"/certificates/{by_b[1]}/revoke", {"reason": "誤交付"})
        assert status == 201, body
        return by_b, by_c, by_b[0], by_b[1]
    finally:
        await at_b.session.close()
        await at_c.session.close()


async def _story(fed) -> None:
    a, b, c = fed.spec.nodes
    dsn = {n.id: fed.postgres(n).dsn(NODE_DB) for n in fed.spec.nodes}
    pairs = await _households(dsn[a.id], a.town, 4)
    assert len(pairs) == 4, pairs
    for node in (b, c):  # A's residents and dwellings have reached the partners
        await _wait(dsn[node.id], "SELECT count(*) FROM entities WHERE entity_type = 'dwelling' AND entity_id = ANY($1)",
                    [d for _, d in pairs], want=4)

    at_a = Counter(a.http_port, fed.http_context())
    try:
        await at_a.login(a.town, _password(fed))
        own = await at_a.issue_for(*pairs[0], "35")  # A's own, before the hall goes down
    finally:
        await at_a.session.close()
    await _wait(dsn[a.id], "SELECT count(*) FROM outbox WHERE published_at IS NULL", want=0)
    assert stop(fed.node_record(a))

    by_b, by_c, copied, revoked = await _partners_issue(fed, b, c, pairs)
    partners = sorted(by_b + by_c)

    await asyncio.to_thread(fed.up, lambda _line: None)  # mashiki-1 comes back
    await _wait(dsn[a.id], "SELECT count(*) FROM entities WHERE entity_type IN ('certificate', 'revocation',"
                " 'certificate_copy') AND (entity_id = ANY($1) OR state->>'number' = ANY($1))",
                partners, want=len(partners) + 2)

    at_a = Counter(a.http_port, fed.http_context())
    try:
        await at_a.login(a.town, _password(fed))
        status, report = await at_a.get("/reports/daikou")
        assert status == 200, report
        assert sorted(r["number"] for r in report["certificates"]) == partners
        assert own not in {r["number"] for r in report["certificates"]}
        assert report["certificates_total"] == 3 and report["applications_total"] == 3
        by_node = {r["node"]: r for r in report["by_node"]}
        assert by_node == {
            b.id: {"node": b.id, "applications": 2, "surveys": 2, "certificates": 2, "copies": 1, "revocations": 1},
            c.id: {"node": c.id, "applications": 1, "surveys": 1, "certificates": 1, "copies": 0, "revocations": 0}}
        states = {r["number"]: r["state"] for r in report["certificates"]}
        assert states[revoked] == "revoked" and states[copied] == "issued"
        # The demo account holds every role, the auditor's too: the partners' audit records.
        assert {(x["node_id"], x["staff_town"]) for x in report["audits"]} >= {(b.id, b.town), (c.id, c.town)}
        assert all(x["town_code"] == a.town and x["reason"] for x in report["audits"])
    finally:
        await at_a.session.close()


def test_partners_issue_while_the_town_is_down_and_its_daikou_report_lists_them():
    with launched_federation(seed_residents=20) as fed:
        asyncio.run(_story(fed))
