"""Helpers for the kiosk tests: a registered kiosk on a counter node, a resident's kiosk
session opened with a one-time code or a software card."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import uuid
from typing import Any, AsyncIterator
from urllib.parse import quote

from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives import serialization

from service.config import DatabaseSettings, KafkaSettings, KeySettings, NodeSettings, Settings, TlsSettings
from service.kiosk import cards
from service.web.app import create_app
from service.web.appkeys import POOL
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


@dataclasses.dataclass
class PartnerTowns:
    """wajima-1 running, holding 益城町's data replicated from mashiki-1 (stopped by now)."""

    wajima: Node
    town: Any  # deploy.synthetic town of 益城町
    resident: Any
    dwelling: Any
    code: str  # a one-time code given at 益城町's counter
    ca_key: Any
    ca: Any  # the card CA registered at 益城町's node


async def _held(node: Node, entity_type: str, entity_id: str | None) -> bool:
    sql = "SELECT count(*) FROM entities WHERE entity_type = $1" + (" AND entity_id = $2" if entity_id else "")
    return await node.app[POOL].fetchval(sql, *([entity_type, entity_id] if entity_id else [entity_type])) > 0


@contextlib.asynccontextmanager
async def partner_towns(postgres: Any, cluster: Any, pki: Any, db_prefix: str) -> AsyncIterator[PartnerTowns]:
    """Two nodes on real Kafka: at 益城町's node (mashiki-1) its residents are imported, a card CA
    trusted, a code given and a disaster registered; once all of it reached wajima-1, 益城町's
    node stops (its hall is offline) and wajima-1 is yielded."""
    from tests.support.counter import seed_town
    from tests.support.kafka import grant
    from tests.support.replication_nodes import create_database, drop_database, eventually

    prefix = f"t-{uuid.uuid4().hex[:8]}"
    await grant(cluster, prefix, list(NODES))
    dsns = {n: await create_database(postgres.dsn(), postgres.dsn, prefix=db_prefix) for n in ("mashiki-1", "wajima-1")}
    try:
        async with running_node(dsns["wajima-1"], pki, cluster, prefix, "wajima-1") as wajima:
            async with running_node(dsns["mashiki-1"], pki, cluster, prefix, "mashiki-1") as mashiki:
                town = await seed_town(mashiki.app)
                resident = town.residents[0]
                dwelling = next(d for d in town.dwellings if resident.household_id in d.household_ids)
                admin = await mashiki.login("admin1", ("admin",))
                ca_key, ca = cards.create_card_ca("Test card CA", now=dt.datetime.now(dt.timezone.utc))
                assert (await admin.post("/api/v1/card-cas", {"certificate_pem": pem(ca)}))[0] == 201
                clerk = await mashiki.login("clerk1", ("clerk",))
                status, issued = await clerk.post("/api/v1/application-codes",
                                                  {"town_code": TOWN_A, "resident_id": resident.resident_id})
                assert status == 201, issued
                boss = await mashiki.login("boss1", ("supervisor",))
                status, body = await boss.post("/api/v1/disasters", {"name": "令和6年能登半島地震",
                                                                     "date": "2024-01-01", "towns": [TOWN_A]})
                assert status == 201, body
                code_id = await mashiki.app[POOL].fetchval(
                    "SELECT entity_id FROM entities WHERE entity_type = 'application_code'")
                for what, entity_id in (("resident", resident.resident_id), ("dwelling", dwelling.dwelling_id),
                                        ("card_ca", None), ("application_code", code_id), ("disaster", None)):
                    await eventually(lambda w=what, e=entity_id: _held(wajima, w, e), timeout=60,
                                     what=f"{what} replicated to wajima-1")
            yield PartnerTowns(wajima, town, resident, dwelling, issued["code"], ca_key, ca)
    finally:
        for dsn in dsns.values():
            await drop_database(postgres.dsn(), dsn)
