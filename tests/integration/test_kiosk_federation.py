"""A 益城町 resident sheltering in 輪島市 identifies and applies at wajima-1's kiosk while
益城町's node is offline (issue 13): card CAs and one-time codes replicate through the
outbox over real Kafka (TLS, ACLs), and the code is used once across the federation.

Two in-process node apps (mashiki-1 for 益城町, wajima-1 for 輪島市), each with its own
PostgreSQL database, relay and consumer, on the fixture broker.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from service.kiosk import cards
from service.web.appkeys import POOL
from tests.support.counter import TOWN_A, Node, build_pki, seed_town
from tests.support.kafka import grant
from tests.support.kiosk import NODES, REASON, card_session, kiosk_on, pem, running_node
from tests.support.replication_nodes import create_database, drop_database, eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pki():
    return build_pki()




async def _no_queue(node: Node) -> bool:
    return await node.app[POOL].fetchval("SELECT count(*) FROM kiosk_audit_queue") == 0


async def _held(node: Node, entity_type: str, entity_id: str | None = None) -> bool:
    sql = "SELECT count(*) FROM entities WHERE entity_type = $1" + (" AND entity_id = $2" if entity_id else "")
    return await node.app[POOL].fetchval(sql, *([entity_type, entity_id] if entity_id else [entity_type])) > 0


async def test_partner_town_kiosk_serves_a_resident_while_their_hall_is_offline(postgres, kafka_broker, pki):
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    await grant(kafka_broker, prefix, list(NODES))
    dsns = {n: await create_database(postgres.dsn(), postgres.dsn, prefix="k") for n in ("mashiki-1", "wajima-1")}
    try:
        async with running_node(dsns["wajima-1"], pki, kafka_broker, prefix, "wajima-1") as wajima:
            async with running_node(dsns["mashiki-1"], pki, kafka_broker, prefix, "mashiki-1") as mashiki:
                # At 益城町's own hall: residents imported, the card CA trusted, a code given.
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
                codes = await mashiki.app[POOL].fetch(
                    "SELECT entity_id, state FROM entities WHERE entity_type = 'application_code'")
                assert len(codes) == 1 and issued["code"] not in codes[0]["state"]  # only its digest
                code_id = codes[0]["entity_id"]
                for what, entity_id in (("resident", resident.resident_id), ("dwelling", dwelling.dwelling_id),
                                        ("card_ca", None), ("application_code", code_id), ("disaster", None)):
                    await eventually(lambda w=what, e=entity_id: _held(wajima, w, e), timeout=60,
                                     what=f"{what} replicated to wajima-1")
            # 益城町's node is now offline (its app stopped): only wajima-1 answers.

            kiosk = await kiosk_on(wajima, "kiosk-wajima-1")
            w_clerk = await wajima.login("clerk1", ("clerk",))
            session = await code_session_with(kiosk, issued["code"])
            assert (session["town_code"], session["resident_id"]) == (TOWN_A, resident.resident_id)
            view = await (await kiosk.request("GET", "/api/v1/kiosk/household")).json()
            assert view["other_town"] is True and view["town_name"] == "益城町"
            assert view["freshness"]["origin_node"] == "mashiki-1"
            [disaster] = (await (await kiosk.request("GET", "/api/v1/kiosk/disasters")).json())["disasters"]
            resp = await kiosk.request("POST", "/api/v1/kiosk/applications",
                                       {"dwelling_id": dwelling.dwelling_id, "disaster_id": disaster["disaster_id"]})
            created = await resp.json()
            assert resp.status == 201, created
            assert (await kiosk.request("POST", "/api/v1/kiosk/logout")).status == 200

            # The same code again, at the partner's kiosk: used once, federation-wide.
            kiosk.session_token = None
            again = await kiosk.request("POST", "/api/v1/kiosk/redeem", {"code": issued["code"]})
            assert again.status == 401 and (await again.json())["error"]["code"] == "code.invalid"
            # The card, under the CA trusted at 益城町's node, identifies here too.
            card_key, card = cards.issue_card(ca_key, ca, town_code=TOWN_A, resident_id=resident.resident_id,
                                              now=dt.datetime.now(dt.timezone.utc))
            session = await card_session(kiosk, card_key, card)
            assert session["method"] == "card" and session["resident_id"] == resident.resident_id
            status, staff_view = await w_clerk.get(
                f"/api/v1/applications/{created['application']['application_id']}", headers=REASON)
            assert staff_view["application"]["received_node"] == "wajima-1"
            await eventually(lambda: _held(wajima, "audit"), timeout=10, what="kiosk audits in the trail")
            await eventually(lambda: _no_queue(wajima), timeout=10, what="the kiosk audit queue drained")
            audits = [json.loads(r["state"]) for r in await wajima.app[POOL].fetch(
                "SELECT state FROM entities WHERE entity_type = 'audit' AND state->>'kiosk_id' = 'kiosk-wajima-1'")]
            assert {"resident.read", "application.create"} <= {a["action"] for a in audits}
            assert all(a["town_code"] == TOWN_A and a["node_id"] == "wajima-1" for a in audits)
    finally:
        for dsn in dsns.values():
            await drop_database(postgres.dsn(), dsn)


async def code_session_with(kiosk, code: str) -> dict:
    """Redeem a code given elsewhere (no clerk at this node)."""
    resp = await kiosk.request("POST", "/api/v1/kiosk/redeem", {"code": code})
    session = await resp.json()
    assert resp.status == 200, session
    kiosk.session_token = session["session_token"]
    return session

