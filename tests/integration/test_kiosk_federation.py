"""A 益城町 resident sheltering in 輪島市 identifies and applies at wajima-1's kiosk while
益城町's node is offline (issue 13): card CAs and one-time codes replicate through the
outbox over real Kafka (TLS, ACLs), and the code is used once across the federation.

Two in-process node apps (mashiki-1 for 益城町, wajima-1 for 輪島市), each with its own
PostgreSQL database, relay and consumer, on the fixture broker (tests/support/kiosk.py
partner_towns).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from service.kiosk import cards
from service.web.appkeys import POOL
from tests.support.counter import TOWN_A, build_pki
from tests.support.kiosk import REASON, card_session, kiosk_on, partner_towns
from tests.support.replication_nodes import eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pki():
    return build_pki()


async def _audit_queue_empty(node) -> bool:
    return await node.app[POOL].fetchval("SELECT count(*) FROM kiosk_audit_queue") == 0


async def redeem(kiosk, code: str) -> dict:
    """Redeem a code given elsewhere (no clerk at this node)."""
    resp = await kiosk.request("POST", "/api/v1/kiosk/redeem", {"code": code})
    session = await resp.json()
    assert resp.status == 200, session
    kiosk.session_token = session["session_token"]
    return session


async def test_partner_town_kiosk_serves_a_resident_while_their_hall_is_offline(postgres, kafka_broker, pki):
    async with partner_towns(postgres, kafka_broker, pki, "k") as towns:
        # 益城町's node is offline (its app stopped): only wajima-1 answers.
        wajima, resident, dwelling = towns.wajima, towns.resident, towns.dwelling
        [stored] = await wajima.app[POOL].fetch(
            "SELECT state::text AS state FROM entities WHERE entity_type = 'application_code'")
        assert towns.code.replace("-", "") not in stored["state"].replace("-", "")  # only its digest travels

        kiosk = await kiosk_on(wajima, "kiosk-wajima-1")
        w_clerk = await wajima.login("clerk1", ("clerk",))
        session = await redeem(kiosk, towns.code)
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
        again = await kiosk.request("POST", "/api/v1/kiosk/redeem", {"code": towns.code})
        assert again.status == 401 and (await again.json())["error"]["code"] == "code.invalid"
        # The card, under the CA trusted at 益城町's node, identifies here too.
        card_key, card = cards.issue_card(towns.ca_key, towns.ca, town_code=TOWN_A,
                                          resident_id=resident.resident_id, now=dt.datetime.now(dt.timezone.utc))
        session = await card_session(kiosk, card_key, card)
        assert session["method"] == "card" and session["resident_id"] == resident.resident_id
        status, staff_view = await w_clerk.get(
            f"/api/v1/applications/{created['application']['application_id']}", headers=REASON)
        assert staff_view["application"]["received_node"] == "wajima-1"

        await eventually(lambda: _audit_queue_empty(wajima), timeout=10, what="the kiosk audit queue drained")
        audits = [json.loads(r["state"]) for r in await wajima.app[POOL].fetch(
            "SELECT state FROM entities WHERE entity_type = 'audit' AND state->>'kiosk_id' = 'kiosk-wajima-1'")]
        assert {"resident.read", "application.create"} <= {a["action"] for a in audits}
        assert all(a["town_code"] == TOWN_A and a["node_id"] == "wajima-1" for a in audits)
