"""A small, known set of cases on one counter node, driven over the API, for the casework
list, report and statistics tests (integration and browser).

On node B (輪島市, wajima-1), in town A's name (益城町): four applications of one registered
disaster — zenkai (55 %), 大規模半壊 (45 %), 半壊 (25 %) and one by post (mail) left
received — of which the first two are issued; the first gets a copy (再交付) and the second
is revoked.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tests.support.counter import TOWN_A, Node, seed_town
from tests.support.issuing import REASON, household_pairs, issue, judged_application

DISASTER = {"name": "令和6年能登半島地震", "date": "2024-01-01"}


@dataclasses.dataclass
class Cases:
    """What was made, for the assertions."""

    disaster_id: str
    applications: list[str]  # in the order made
    tracking_codes: dict[str, str]
    certificates: list[str]  # [copied, revoked]
    town: Any


async def make_cases(node: Node, supervisor: Any, clerk: Any) -> Cases:
    """The cases above; ``supervisor`` also surveys (give it the surveyor role too)."""
    town = await seed_town(node.app, residents=24)
    status, body = await supervisor.post("/api/v1/disasters", {**DISASTER, "towns": [TOWN_A]})
    assert status == 201, body
    disaster_id = body["disaster"]["disaster_id"]
    pairs = household_pairs(town)
    assert len(pairs) >= 4, "the seeded town is too small"
    applications, codes = [], {}
    for (resident, dwelling), ratio in zip(pairs[:3], ("55", "45", "25")):
        app_id = await judged_application(clerk, supervisor, resident, dwelling, {"name": DISASTER["name"],
                                                                                "date": DISASTER["date"]}, ratio)
        applications.append(app_id)
    resident, dwelling = pairs[3]
    status, created = await clerk.post("/api/v1/applications", {
        "applicant_resident_id": resident.resident_id, "dwelling_id": dwelling.dwelling_id,
        "disaster_id": disaster_id, "channel": "mail"}, headers=REASON)
    assert status == 201, created
    applications.append(created["application"]["application_id"])
    codes[applications[-1]] = created["tracking_code"]
    copied = (await issue(clerk, applications[0]))["certificate"]["number"]
    revoked = (await issue(clerk, applications[1]))["certificate"]["number"]
    status, body = await clerk.post(f"/api/v1/certificates/{copied}/copies", {"copy_reason": "紛失"}, headers=REASON)
    assert status == 201, body
    status, body = await supervisor.post(f"/api/v1/certificates/{revoked}/revoke", {"reason": "誤発行"},
                                         headers=REASON)
    assert status == 201, body
    return Cases(disaster_id, applications, codes, [copied, revoked], town)
