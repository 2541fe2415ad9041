"""A duplicate accepted during a partition is found by every node and put under review.

On a real federation (three Kafka brokers in KRaft mode, three PostgreSQL clusters, three
node processes, started by the launcher on free ports):

1. Node B (wajima-1) is cut off: restarted with a bootstrap address where no broker
   listens, so it neither publishes nor consumes (it keeps serving: availability first).
2. The same household applies for the same dwelling and disaster at A (mashiki-1) and at B,
   and both issue a 罹災証明書. A second try at A is refused (409 application.duplicate).
3. B is restarted with its real configuration: the partition heals.
4. Every node records the same review item; both certificates are 確認中 in /verify and
   status 2 in the status lists of C's verifier bundle (offline), and ``under_review`` in
   the certificate read the counter UI shows.
5. A supervisor revokes B's certificate at A: A's certificate is 有効 again on C, and the
   review item is closed on all three nodes.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time

import aiohttp
import asyncpg
import pytest
import tomli_w
from cryptography import x509

from certs.bundle import parse_bundle
from certs.status_list import CertStatus, split_number, status_at
from certs.verify import verify
from deploy.launcher import NODE_DB, Federation
from deploy.processes import free_port, spawn, stop
from service.api.common import now
from tests.integration.test_status_lists_federation import API, DISASTER, Counter
from tests.support.federation import launched_federation

pytestmark = pytest.mark.integration
REVIEW_SQL = ("SELECT conflict_key, entity_id, local_version, remote_version, winner, resolved_at IS NOT NULL AS closed"
              " FROM conflicts WHERE kind = 'duplicate_certificate' ORDER BY conflict_key")
HOUSEHOLD = """
SELECT r.entity_id AS resident, d.entity_id AS dwelling FROM entities r
  JOIN entities d ON d.entity_type = 'dwelling' AND d.state->'household_ids' ? (r.state->>'household_id')
 WHERE r.entity_type = 'resident' AND r.state->>'town_code' = $1 ORDER BY r.entity_id LIMIT 1"""


async def _query(fed: Federation, node, sql: str, *args) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(fed.postgres(node).dsn(NODE_DB))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def _until(check, what: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := await check():
            return found
        await asyncio.sleep(0.5)
    raise AssertionError(f"not within {timeout} s: {what}")


def _restart(fed: Federation, node, *, cut_off: bool) -> None:
    """Stop the node process; start it again, cut off from Kafka or with its own config."""
    assert stop(fed.node_record(node))
    if not cut_off:
        fed.up(say=lambda _line: None)  # the operator's way back: start what is missing
        return
    config = fed.node_config(node)
    config["kafka"]["bootstrap_servers"] = f"127.0.0.1:{free_port()}"  # no broker there
    path = fed.node_dir(node) / "node-cut-off.toml"
    path.write_text(tomli_w.dumps(config))
    path.chmod(0o600)
    record = spawn(f"node-{node.id}", [sys.executable, "-m", "service.main", "--config", str(path)],
                   fed.node_dir(node) / "node.log")
    (fed.node_dir(node) / "process.json").write_text(json.dumps(record.to_dict()))


async def _logged_in(fed: Federation, node, town: str, password: str) -> Counter:
    counter = Counter(node.http_port, fed.http_context())

    async def answers():
        try:
            async with counter.session.get(f"https://127.0.0.1:{node.http_port}/healthz") as resp:
                return resp.status == 200
        except aiohttp.ClientError:
            return False
    await _until(answers, f"{node.id} answers")
    await counter.login(town, password)
    return counter


async def _issue_for(counter: Counter, resident: str, dwelling: str) -> tuple[str, dict]:
    status, body = await counter.post("/applications", {"applicant_resident_id": resident, "dwelling_id": dwelling,
                                                        "disaster": DISASTER})
    assert status == 201, body
    app_id = body["application"]["application_id"]
    return app_id, await counter.issue(app_id, "first", "45")


async def _verify_at(counter: Counter, port: int, qr: str) -> dict:
    async with counter.session.post(f"https://127.0.0.1:{port}{API}/verify", json={"qr": qr},
                                    headers=counter.headers) as resp:
        assert resp.status == 200
        return await resp.json()


async def _story(fed: Federation) -> None:
    a, b, c = fed.spec.nodes
    password = re.search(r"password: (\S+)", (fed.run_dir / "demo-staff.txt").read_text()).group(1)
    (resident, dwelling), = [tuple(r) for r in await _query(fed, a, HOUSEHOLD, a.town)]
    await _until(lambda: _query(fed, b, "SELECT 1 FROM entities WHERE entity_type = 'dwelling' AND entity_id = $1",
                                dwelling), "the seed reached B")

    # 1-2. The partition: B is cut off from every broker; A and B both accept.
    await asyncio.to_thread(_restart, fed, b, cut_off=True)
    at_a = await _logged_in(fed, a, a.town, password)
    at_b = await _logged_in(fed, b, a.town, password)  # A's town staff (replicated account) at B's counter
    at_c = await _logged_in(fed, c, a.town, password)  # reads A's certificates without a stated reason
    try:
        app_a, cert_a = await _issue_for(at_a, resident, dwelling)
        app_b, cert_b = await _issue_for(at_b, resident, dwelling)
        status, body = await at_a.post("/applications", {"applicant_resident_id": resident, "dwelling_id": dwelling,
                                                         "disaster": DISASTER})
        assert (status, body["error"]["code"]) == (409, "application.duplicate"), body
        assert body["error"]["fields"][0]["application_id"] == app_a
        assert body["error"]["fields"][0]["certificate"] == cert_a["number"]

        # 3. Healing: B back with its own configuration.
        await at_b.session.close()
        await asyncio.to_thread(_restart, fed, b, cut_off=False)

        # 4. The same review item on every node.
        async def reviewed_everywhere():
            items = [[tuple(r) for r in await _query(fed, n, REVIEW_SQL)] for n in (a, b, c)]
            return items if all(len(i) == 1 for i in items) else None
        items = await _until(reviewed_everywhere, "the review item on all three nodes")
        assert items[0] == items[1] == items[2], items
        key, triple, first, second, winner, closed = items[0][0]
        assert {first, second} == {app_a, app_b} and not closed and triple.split("/")[1] == dwelling
        assert key.endswith("+".join(sorted([app_a, app_b]))) and winner in (app_a, app_b)
        status, listed = await _get(at_c, c.http_port, "/conflicts?entity_type=application_triple")
        assert status == 200 and [x["id"] for x in listed["conflicts"]] and listed["conflicts"][0]["kind"] == "duplicate_certificate"

        async def under_review_at_c():
            verdicts = [await _verify_at(at_c, c.http_port, cert["qr"]) for cert in (cert_a, cert_b)]
            return verdicts if all(v["verdict"] == "確認中" for v in verdicts) else None
        verdicts = await _until(under_review_at_c, "both certificates 確認中 on C's /verify", timeout=30)
        assert all(v["status"]["under_review"]["triple"] == triple for v in verdicts)
        status, shown = await _get(at_c, c.http_port, f"/certificates/{cert_a['number']}")
        assert status == 200, shown
        assert sorted(shown["status"]["under_review"]["certificates"]) == sorted([cert_a["number"], cert_b["number"]])
        await _check_bundle(fed, at_c, c, {cert_a["number"]: CertStatus.UNDER_REVIEW,
                                           cert_b["number"]: CertStatus.UNDER_REVIEW}, [cert_a, cert_b], "確認中")

        # 5. A supervisor revokes B's certificate (at A): A's is valid again everywhere.
        status, body = await at_a.post(f"/certificates/{cert_b['number']}/revoke", {"reason": "二重交付（分断中）"})
        assert status == 201, body

        async def settled_at_c():
            verdict = await _verify_at(at_c, c.http_port, cert_a["qr"])
            return verdict if verdict["verdict"] == "有効" else None
        await _until(settled_at_c, "A's certificate 有効 on C again")

        async def closed_everywhere():
            items = [[tuple(r) for r in await _query(fed, n, REVIEW_SQL)] for n in (a, b, c)]
            return items if all(i and i[0][-1] for i in items) else None
        await _until(closed_everywhere, "the review item closed on all three nodes")
        await _check_bundle(fed, at_c, c, {cert_a["number"]: CertStatus.VALID,
                                           cert_b["number"]: CertStatus.REVOKED}, [cert_a], "有効")
    finally:
        for counter in (at_a, at_b, at_c):
            await counter.session.close()


async def _get(counter: Counter, port: int, path: str) -> tuple[int, dict]:
    async with counter.session.get(f"https://127.0.0.1:{port}{API}{path}", headers=counter.headers) as resp:
        return resp.status, await resp.json()


async def _check_bundle(fed: Federation, counter: Counter, node, expected: dict, certs: list[dict], word: str) -> None:
    """C's verifier bundle, offline: the expected 2-bit statuses and verdict."""
    root = x509.load_pem_x509_certificate((fed.run_dir / "pki" / "root.pem").read_bytes())
    async with counter.session.get(f"https://127.0.0.1:{node.http_port}{API}/verifier-bundle") as resp:
        assert resp.status == 200
        bundle = parse_bundle(await resp.read(), root)
    for number, status in expected.items():
        issuer, sequence = split_number(number)
        assert status_at(bundle.status_lists[issuer].bits, sequence) is status, number
    for cert in certs:
        assert verify(cert["qr"], bundle.trust_list, now(), status_lists=bundle.status_lists).word == word


def test_a_duplicate_accepted_during_a_partition_is_reviewed_on_every_node():
    with launched_federation(seed_residents=10) as fed:
        asyncio.run(_story(fed))
