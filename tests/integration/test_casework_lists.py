"""申請一覧 and 交付台帳 over HTTP against real PostgreSQL: every filter, paging, search,
scope and audit, bad filters as 400s naming the field, and the CSV exports (UTF-8 with BOM
and CP932, read back with Python's codecs)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from service.web.appkeys import POOL
from tests.support.casework import make_cases
from tests.support.counter import TOWN_A, build_pki, counter_node
from tests.support.issuing import REASON

pytestmark = pytest.mark.integration
JST = dt.timezone(dt.timedelta(hours=9))


@pytest.fixture(scope="module")
def pki():
    return build_pki()


async def _ids(staff, path, key, **params):
    status, body = await staff.get(path, params=params)
    assert status == 200, body
    return body["total"], [r[key] for r in body["rows"]]


async def _audits(app, action):
    async with app[POOL].acquire() as conn:
        rows = await conn.fetch("SELECT state FROM entities WHERE entity_type = 'audit'"
                                " AND state->>'action' = $1", action)
    return [json.loads(r["state"]) for r in rows]


async def test_lists_filters_paging_search_scope_and_exports(database, pki):
    async with counter_node(database, pki) as node:
        supervisor = await node.login("boss1", ("supervisor", "surveyor"))
        clerk_b = await node.login("clerk1", ("clerk",))
        clerk_a = await node.login("clerk-a", ("clerk",), town=TOWN_A)
        cases = await make_cases(node, supervisor, clerk_b)
        apps, (copied, revoked) = cases.applications, cases.certificates

        # Scope: A's own clerk sees A's cases; B's clerk sees none of them without a reason.
        assert await _ids(clerk_a, "/api/v1/applications", "application_id") == (4, apps[::-1])
        assert await _ids(clerk_b, "/api/v1/applications", "application_id") == (0, [])
        status, body = await clerk_b.get("/api/v1/applications", params={"scope": "all"})
        assert status == 422 and body["error"]["code"] == "audit.reason_required"
        status, body = await clerk_b.get("/api/v1/applications", params={"scope": "all"}, headers=REASON)
        assert status == 200 and body["total"] == 4
        listed = await _audits(node.app, "application.list")
        assert [(a["town_code"], a["staff_town"]) for a in listed] == [(TOWN_A, "172049")]
        assert listed[0]["reason"] and "scope=all" in listed[0]["subject_id"]
        assert await _audits(node.app, "certificate.list") == []

        # Each filter.
        today = dt.datetime.now(JST).date()
        expect = {
            (("status", "issued"),): {apps[0], apps[1]},
            (("status", "judged"),): {apps[2]},
            (("damage_class", "zenkai"),): {apps[0]},
            (("damage_class", "hankai"),): {apps[2]},
            (("channel", "mail"),): {apps[3]},
            (("channel", "kiosk"),): set(),
            (("kind", "risai"),): set(apps),
            (("received_node", "wajima-1"),): set(apps),
            (("received_node", "mashiki-1"),): set(),
            (("competent_town", TOWN_A),): set(apps),
            (("disaster_id", cases.disaster_id),): set(apps),
            (("disaster_id", "D-20240101-0000000000"),): set(),
            (("received_from", today.isoformat()), ("received_to", today.isoformat())): set(apps),
            (("received_to", (today - dt.timedelta(days=1)).isoformat()),): set(),
            (("received_from", (today + dt.timedelta(days=1)).isoformat()),): set(),
            (("status", "issued"), ("damage_class", "daikibo-hankai")): {apps[1]},
        }
        for params, wanted in expect.items():
            total, ids = await _ids(clerk_a, "/api/v1/applications", "application_id", **dict(params))
            assert (total, set(ids)) == (len(wanted), wanted), params

        # Paging: the keyset cursor continues exactly, with the total on every page.
        status, first = await clerk_a.get("/api/v1/applications", params={"limit": "3"})
        assert status == 200 and first["total"] == 4 and len(first["rows"]) == 3 and first["next"]
        status, second = await clerk_a.get("/api/v1/applications", params={"limit": "3", "after": first["next"]})
        assert status == 200 and second["total"] == 4 and second["next"] is None
        assert [r["application_id"] for r in first["rows"] + second["rows"]] == apps[::-1]

        # Search by application number, 整理番号 and tracking code (typed loosely).
        code = cases.tracking_codes[apps[3]]
        for q, wanted in ((apps[2], [apps[2]]), (copied, [apps[0]]), (code.lower().replace("-", " "), [apps[3]]),
                          ("NOTHING-LIKE-THIS", [])):
            assert (await _ids(clerk_a, "/api/v1/applications", "application_id", q=q))[1] == wanted, q

        # The 交付台帳.
        status, ledger = await clerk_a.get("/api/v1/certificates")
        assert status == 200 and ledger["total"] == 2
        rows = {r["number"]: r for r in ledger["rows"]}
        assert rows[copied]["copies"] == 1 and rows[copied]["state"] == "issued"
        assert rows[revoked]["state"] == "revoked" and rows[revoked]["copies"] == 0
        assert all(r["issuing_node"] == "wajima-1" and r["on_behalf"] and r["householder_name"]
                   and r["location"] for r in rows.values())
        assert rows[copied]["damage_class"] == "zenkai" and rows[copied]["issue_date"] == today.isoformat()
        for params, wanted in (({"state": "revoked"}, [revoked]), ({"state": "issued"}, [copied]),
                               ({"state": "superseded"}, []), ({"damage_class": "zenkai"}, [copied]),
                               ({"on_behalf": "false"}, []), ({"issuing_town": "172049"}, [copied, revoked]),
                               ({"q": revoked}, [revoked]), ({"q": apps[0]}, [copied]),
                               ({"disaster_id": cases.disaster_id}, [copied, revoked]),
                               ({"issued_from": today.isoformat(), "issued_to": today.isoformat()}, [copied, revoked]),
                               ({"issued_to": (today - dt.timedelta(days=1)).isoformat()}, [])):
            total, numbers = await _ids(clerk_a, "/api/v1/certificates", "number", **params)
            assert (total, sorted(numbers)) == (len(wanted), sorted(wanted)), params

        # A name outside CP932 (𠮷) and a JIS-mapped wave dash (〜) in the applicant's name.
        async with node.app[POOL].acquire() as conn:
            applicant = await conn.fetchval(
                "SELECT applicant_id FROM casework_applications WHERE application_id = $1", apps[0])
            await conn.execute("UPDATE entities SET state = jsonb_set(state, '{given_name}', to_jsonb($2::text))"
                               " WHERE entity_type = 'resident' AND entity_id = $1", applicant, "𠮷子〜")

        resp = await clerk_a.client.get("/api/v1/exports/applications", params={"encoding": "utf-8"})
        raw = await resp.read()
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv; charset=utf-8")
        assert raw.startswith(b"\xef\xbb\xbf")
        table = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline="")))
        assert table[0][0] == "申請番号 (application_id)" and [r[0] for r in table[1:]] == apps[::-1]
        assert any("𠮷子〜" in cell for cell in table[-1])
        assert raw.count(b"\r\n") == 5

        resp = await clerk_a.client.get("/api/v1/exports/applications", params={"encoding": "cp932", "status": "issued"})
        raw = await resp.read()
        assert resp.status == 200 and "Shift_JIS" in resp.headers["Content-Type"]
        table = list(csv.reader(io.StringIO(raw.decode("cp932"), newline="")))
        assert [r[0] for r in table[1:]] == [apps[1], apps[0]]
        assert table[0][2] == "状態 (status)" and {r[2] for r in table[1:]} == {"交付済"}
        assert any("〓子～" in cell for cell in table[2]), table[2]

        resp = await clerk_a.client.get("/api/v1/exports/certificates", params={"encoding": "cp932"})
        table = list(csv.reader(io.StringIO((await resp.read()).decode("cp932"), newline="")))
        assert resp.status == 200 and sorted(r[0] for r in table[1:]) == sorted([copied, revoked])
        by_number = {r[0]: r for r in table[1:]}
        assert by_number[revoked][12] == "失効" and by_number[copied][4] == "全壊" and by_number[copied][14] == "1"
        assert by_number[copied][10] == "clerk1"  # the issuing clerk by name, the id beside it

        # A re-survey supersedes the copied certificate: 差替え in the ledger, pointing at the new one.
        assert (await clerk_b.post(f"/api/v1/applications/{apps[0]}/resurvey-request",
                                   {"resurvey_reason": "内部の被害"}, headers=REASON))[0] == 200
        status, body = await supervisor.post(f"/api/v1/applications/{apps[0]}/surveys", {
            "kind": "second", "surveyed_on": "2024-02-01", "damage_ratio": "45",
            "surveyor_id": supervisor.session.staff["staff_id"]}, headers=REASON)
        assert status == 201, body
        assert (await supervisor.post(f"/api/v1/applications/{apps[0]}/judgement", {}, headers=REASON))[0] == 200
        status, body = await clerk_b.post(f"/api/v1/applications/{apps[0]}/certificate", {}, headers=REASON)
        assert status == 201, body
        newer = body["certificate"]["number"]
        status, ledger = await clerk_a.get("/api/v1/certificates", params={"state": "superseded"})
        assert [(r["number"], r["superseded_by"]) for r in ledger["rows"]] == [(copied, newer)]
        assert (await _ids(clerk_a, "/api/v1/certificates", "number", state="issued"))[1] == [newer]
        assert (await _ids(clerk_a, "/api/v1/certificates", "number"))[1][0] == newer  # newest first
        assert (await _ids(clerk_a, "/api/v1/applications", "application_id", status="reissued"))[1] == [apps[0]]

        # An export of another town's cases needs a reason too, before any byte is sent.
        resp = await clerk_b.client.get("/api/v1/exports/certificates", params={"scope": "all"})
        assert resp.status == 422 and (await resp.json())["error"]["code"] == "audit.reason_required"


@pytest.mark.parametrize("path, params, fields", [
    ("/api/v1/applications", {"status": "done"}, ["status"]),
    ("/api/v1/applications", {"received_from": "2024-13-01"}, ["received_from"]),
    ("/api/v1/applications", {"received_from": "2024-02-02", "received_to": "2024-02-01"}, ["received_to"]),
    ("/api/v1/applications", {"competent_town": "434435"}, ["competent_town"]),
    ("/api/v1/applications", {"limit": "0"}, ["limit"]),
    ("/api/v1/applications", {"after": "not-a-cursor"}, ["after"]),
    ("/api/v1/applications", {"colour": "red", "channel": "fax"}, ["colour", "channel"]),
    ("/api/v1/certificates", {"state": "valid", "on_behalf": "yes"}, ["on_behalf", "state"]),
    ("/api/v1/certificates", {"damage_class": "全壊"}, ["damage_class"]),
    ("/api/v1/exports/certificates", {"encoding": "latin-1"}, ["encoding"]),
])
async def test_bad_filters_are_400_naming_the_field(database, pki, path, params, fields):
    async with counter_node(database, pki) as node:
        clerk = await node.login("clerk1", ("clerk",))
        status, body = await clerk.get(path, params=params)
        assert status == 400, body
        assert sorted(f["field"] for f in body["error"]["fields"]) == sorted(fields)
        assert all(f["reason"] and f["code"].startswith("list.") for f in body["error"]["fields"])


async def test_more_concurrent_list_readers_than_connections_degrade_never_wedge(database, pki):
    """Pool of 6: 30 list, ledger, export and report requests at once all finish, each 200
    or 503 node.busy, and the node answers normally afterwards."""
    import asyncio

    async with counter_node(database, pki) as node:
        clerk = await node.login("clerk1", ("clerk",))
        paths = ["/api/v1/applications", "/api/v1/certificates", "/api/v1/exports/applications",
                 "/api/v1/reports/daikou", "/api/v1/statistics"] * 6

        async def one(path):
            resp = await clerk.client.get(path)
            await resp.read()
            return resp.status

        statuses = await asyncio.wait_for(asyncio.gather(*(one(p) for p in paths)), timeout=60)
        assert set(statuses) <= {200, 503}, statuses
        assert (await clerk.get("/api/v1/applications"))[0] == 200
