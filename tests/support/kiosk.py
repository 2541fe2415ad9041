"""Helpers for the kiosk tests: a registered kiosk on a counter node, a resident's kiosk
session opened with a one-time code or a software card."""

from __future__ import annotations

import contextlib
from typing import Any, AsyncIterator
from urllib.parse import quote

from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives import serialization

from service.config import DatabaseSettings, KafkaSettings, KeySettings, NodeSettings, Settings, TlsSettings
from service.kiosk import cards
from service.web.app import create_app
from tests.support.auth import SignedKiosk, ensure_auth, register_kiosk
from tests.support.counter import FEDERATION, TOWN_A, TOWN_B, Node, ensure_api
from tests.support.kafka import node_tls

NODES = {"mashiki-1": TOWN_A, "wajima-1": TOWN_B, "rikuzentakata-1": "032107"}

REASON = {"X-Access-Reason": quote("避難所での申請受付（益城町からの避難者）")}


def pem(cert: Any) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


async def kiosk_on(node: Any, kiosk_id: str = "kiosk-1") -> SignedKiosk:
    """Register a kiosk through an admin on ``node`` (a tests.support.counter.Node); the
    kiosk signs on the node's cookie-less client."""
    admin = await node.login(f"admin-{kiosk_id}", ("admin",))
    device = await register_kiosk(admin.client, admin.session, kiosk_id=kiosk_id)
    return SignedKiosk(node.client, device.kiosk_id, device.key)


async def code_session(kiosk: SignedKiosk, clerk: Any, town_code: str, resident_id: str) -> dict:
    """A clerk issues a one-time code; the kiosk redeems it (the session goes on ``kiosk``)."""
    status, body = await clerk.post("/api/v1/application-codes", {"town_code": town_code,
                                                                  "resident_id": resident_id}, headers=REASON)
    assert status == 201, body
    resp = await kiosk.request("POST", "/api/v1/kiosk/redeem", {"code": body["code"]})
    session = await resp.json()
    assert resp.status == 200, session
    kiosk.session_token = session["session_token"]
    return session


async def trust_card_ca(admin: Any, ca_cert: Any) -> None:
    """Register a card CA at the node (admin)."""
    status, body = await admin.post("/api/v1/card-cas", {"certificate_pem": pem(ca_cert)})
    assert status == 201, body


async def card_session(kiosk: SignedKiosk, card_key: Any, card_cert: Any) -> dict:
    """Challenge, sign with the software card, identify."""
    challenge = (await (await kiosk.request("GET", "/api/v1/kiosk/challenge")).json())["challenge"]
    resp = await kiosk.request("POST", "/api/v1/kiosk/identify", {
        "challenge": challenge, "card_certificate": pem(card_cert),
        "signature": cards.sign_challenge(card_key, challenge)})
    session = await resp.json()
    assert resp.status == 200, session
    kiosk.session_token = session["session_token"]
    return session


async def body_of(resp: Any) -> Any:
    return await resp.json() if resp.content_type == "application/json" else await resp.read()


@contextlib.asynccontextmanager
async def running_node(dsn: str, pki: Any, cluster: Any, prefix: str, node_id: str,
                       host: str = "127.0.0.1") -> AsyncIterator[Node]:
    """A node as deployed: its keys, so create_app starts its relay and consumer."""
    settings = Settings(
        node=NodeSettings(id=node_id, town_code=NODES[node_id]),
        database=DatabaseSettings(dsn=dsn, pool_max=5),
        kafka=KafkaSettings(bootstrap_servers=cluster.bootstrap_servers, topic_prefix=prefix, mode="durable",
                            ack_timeout_s=5.0),
        keys=KeySettings(pki / "nodes" / node_id, pki / "trust-list.cbor", pki / "root.pem"),
        tls=TlsSettings(dir=node_tls(cluster, node_id), http=False, kafka=True),
        federation_file=FEDERATION, secure_cookies=False)
    app = ensure_api(ensure_auth(create_app(settings)))
    server = TestServer(app, host=host)
    client = TestClient(server)
    await client.start_server()
    node = Node(app, [client], server)
    try:
        yield node
    finally:
        for extra in node.clients[1:]:
            await extra.close()
        await client.close()
