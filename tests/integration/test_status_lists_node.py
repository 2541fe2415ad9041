"""One node serves status lists and the verifier bundle (real PostgreSQL, no Kafka).

The verifier side is offline: the bundle's bytes go through certs.bundle and certs.verify
with no network, as a bank's verifier would use them.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509

from certs.bundle import parse_bundle
from certs.status_list import parse_status_list
from certs.verify import verify
from service.api.common import now
from service.api.status import STATUS_LISTS
from tests.integration.test_counter_story import REASON, _household_member, issue_for
from tests.support.counter import build_pki, counter_node, seed_town

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pki():
    return build_pki()


async def _bundle(node, pki):
    resp = await node.client.get("/api/v1/verifier-bundle")
    assert resp.status == 200 and resp.content_type == "application/cbor"
    assert "risai-verifier-bundle.cbor" in resp.headers["Content-Disposition"]
    root = x509.load_pem_x509_certificate((pki / "root.pem").read_bytes())
    return parse_bundle(await resp.read(), root), resp.headers["ETag"]


async def _qr(node, staff, number):
    status, body = await staff.get(f"/api/v1/certificates/{number}", headers=REASON)
    assert status == 200, body
    return body["certificate"]["qr"]


def _offline(bundle, qr, at=None):
    return verify(qr, bundle.trust_list, at or now(), status_lists=bundle.status_lists)


async def test_lists_follow_revocation_and_supersession_and_are_cached(database, pki):
    async with counter_node(database, pki) as node:
        town = await seed_town(node.app)
        clerk = await node.login("clerk1", ("clerk",))
        boss = await node.login("boss1", ("supervisor", "surveyor"))
        first = await issue_for(clerk, boss, *_household_member(town, 0))
        second = await issue_for(clerk, boss, *_household_member(town, 1))
        qr_first, qr_second = await _qr(node, clerk, first), await _qr(node, clerk, second)

        node.app[STATUS_LISTS]._checked_at = 0.0  # the background refresh may have checked just before
        bundle, etag = await _bundle(node, pki)
        assert bundle.rejected == () and "wajima-1" in bundle.status_lists
        assert {"mashiki-1", "rikuzentakata-1"} <= set(bundle.status_lists)  # every delegated node, even with none issued
        assert _offline(bundle, qr_first).word == "有効"
        cache = node.app[STATUS_LISTS]
        builds = cache.builds
        again = await node.client.get("/api/v1/verifier-bundle", headers={"If-None-Match": etag})
        assert again.status == 304 and "max-age" in again.headers["Cache-Control"]
        for _ in range(5):
            assert (await node.client.get("/api/v1/status-lists/wajima-1")).status == 200
        assert cache.builds == builds  # nothing changed: served from memory, not rebuilt per request

        status, body = await boss.post(f"/api/v1/certificates/{first}/revoke", {"reason": "誤交付"}, headers=REASON)
        assert status == 201, body
        cache._checked_at = 0.0  # skip the one-second check throttle instead of sleeping
        bundle, new_etag = await _bundle(node, pki)
        assert new_etag != etag and cache.builds == builds + 1
        assert _offline(bundle, qr_first).word == "失効"
        assert _offline(bundle, qr_second).word == "有効"
        # A list past its expiry says nothing: status unknown, never valid.
        listed = bundle.status_lists["wajima-1"]
        late = _offline(bundle, qr_second, listed.expires_at + timedelta(seconds=1))
        assert late.word == "確認不能" and "expired" in late.check("status").en

        resp = await node.client.get("/api/v1/status-lists/wajima-1")
        assert resp.status == 200 and resp.content_type == "application/statuslist+cwt" and resp.headers["ETag"]
        parsed = parse_status_list(await resp.read(), bundle.trust_list)
        assert parsed.signer_node == "wajima-1" and parsed.issued_at == listed.issued_at

        # /verify at the node shows the status list's age next to the verdict.
        resp = await node.client.post("/api/v1/verify", json={"qr": qr_second})
        body = await resp.json()
        assert body["verdict"] == "有効" and body["status_list"]["node_id"] == "wajima-1"
        assert body["status_list"]["age_seconds"] >= 0


async def test_unknown_and_malformed_node_ids_get_structured_errors(database, pki):
    async with counter_node(database, pki) as node:
        resp = await node.client.get("/api/v1/status-lists/nobody-9")
        body = await resp.json()
        assert resp.status == 404 and body["error"]["code"] == "status_list.unknown_node"
        resp = await node.client.get("/api/v1/status-lists/BAD--ID")
        body = await resp.json()
        assert resp.status == 422 and body["error"]["fields"][0]["field"] == "node_id"
