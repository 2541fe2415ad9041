"""/metrics after real activity: each Grafana panel's series exists and moves (issue 15).

The panels of deploy/grafana/federation-dashboard.json that a node without Kafka can feed are
checked here (issuance count and latency, HTTP requests, trust-list age, delegation expiry);
the replication panels are checked after real replication in test_replication_federation.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.counter import TOWN_A, build_pki, counter_node, seed_town
from tests.support.issuing import household_pairs, issue, judged_application

pytestmark = pytest.mark.integration
DISASTER = {"name": "令和6年能登半島地震", "date": "2024-01-01"}
DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "federation-dashboard.json"
LOCAL_SERIES = ("risai_certificates_issued_total", "risai_issue_seconds_bucket",
                "risai_trust_list_age_seconds", "risai_delegation_expiry_seconds")


@pytest.fixture(scope="module")
def pki():
    return build_pki()


async def _samples(client) -> dict[str, list]:
    resp = await client.get("/metrics")
    assert resp.status == 200
    found: dict[str, list] = {}
    for family in text_string_to_metric_families(await resp.text()):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def _value(samples: dict[str, list], name: str, **labels: str) -> float:
    return sum(s.value for s in samples.get(name, [])
               if all(s.labels.get(k) == v for k, v in labels.items()))


def test_the_dashboard_reads_the_series_checked_here():
    exprs = " ".join(t["expr"] for p in json.loads(DASHBOARD.read_text())["panels"] for t in p["targets"])
    used = set(re.findall(r"risai_[a-z_]+", exprs))
    assert set(LOCAL_SERIES) <= used, sorted(used)


async def test_issuing_moves_every_local_panel(database, pki):
    async with counter_node(database, pki) as node:
        town = await seed_town(node.app)
        clerk = await node.login("clerk1", ("clerk",))
        supervisor = await node.login("boss1", ("supervisor", "surveyor"))
        before = await _samples(node.client)

        (resident, dwelling), *_ = household_pairs(town)
        app_id = await judged_application(clerk, supervisor, resident, dwelling, DISASTER)
        await issue(clerk, app_id)
        status, _ = await clerk.get("/api/v1/applications/not-an-id")
        after = await _samples(node.client)

    issued = "risai_certificates_issued_total"
    assert _value(after, issued, competent_town=TOWN_A) == _value(before, issued, competent_town=TOWN_A) + 1
    assert _value(after, "risai_issue_seconds_count") == _value(before, "risai_issue_seconds_count") + 1

    route = "/api/v1/applications/{application_id}/certificate"
    assert _value(after, "risai_http_requests_total", route=route, status="201") == 1
    assert _value(after, "risai_http_requests_total", route="/api/v1/applications", status="201") == 1
    # Labelled by template, never by the raw path: the bad id counts under its route.
    assert not any("not-an-id" in s.labels.get("route", "") for s in after["risai_http_requests_total"])
    assert _value(after, "risai_http_requests_total", route="/api/v1/applications/{application_id}",
                  status=str(status)) == 1
    assert _value(after, "risai_http_requests_total", route="/metrics", status="200") >= 1

    # The key gauges are set from what the node holds, as of the scrape.
    age = after["risai_trust_list_age_seconds"][0].value
    assert age > 0 and age >= before["risai_trust_list_age_seconds"][0].value
    expiry = {s.labels["town"]: s.value for s in after["risai_delegation_expiry_seconds"]}
    assert TOWN_A in expiry and all(v > 86400 for v in expiry.values()), expiry
