"""Judged applications ready to issue, driven over the counter API (tests and bench)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

REASON = {"X-Access-Reason": quote("避難所での申請受付（益城町からの避難者）")}


def staff_id(staffed: Any) -> str:
    """The staff id of a logged-in test client (tests/support/counter.Staffed): a survey
    names its surveyor's account."""
    return staffed.session.staff["staff_id"]


def household_pairs(town: Any) -> list[tuple[Any, Any]]:
    """(householder, dwelling) for every dwelling of a synthetic town that has a household."""
    by_household = {r.household_id: r for r in town.residents if r.is_householder}
    return [(by_household[d.household_ids[0]], d) for d in town.dwellings
            if d.household_ids and d.household_ids[0] in by_household]


async def judged_application(clerk: Any, supervisor: Any, resident: Any, dwelling: Any,
                             disaster: dict[str, str], ratio: str = "35") -> str:
    """Drive one application through survey (by ``supervisor``, who must hold the surveyor
    role) and judgement; returns its id (ready to issue)."""
    status, created = await clerk.post("/api/v1/applications", {
        "applicant_resident_id": resident.resident_id, "dwelling_id": dwelling.dwelling_id,
        "disaster": disaster}, headers=REASON)
    assert status == 201, created
    app_id = created["application"]["application_id"]
    status, body = await supervisor.post(f"/api/v1/applications/{app_id}/surveys",
                                         {"surveyed_on": "2024-01-10", "damage_ratio": ratio,
                                          "surveyor_id": staff_id(supervisor)}, headers=REASON)
    assert status == 201, body
    status, body = await supervisor.post(f"/api/v1/applications/{app_id}/judgement", {}, headers=REASON)
    assert status == 200, body
    return app_id


async def issue(clerk: Any, app_id: str) -> dict[str, Any]:
    """Issue the certificate of a judged application; returns the reply body."""
    status, issued = await clerk.post(f"/api/v1/applications/{app_id}/certificate", {}, headers=REASON)
    assert status == 201, issued
    return issued
