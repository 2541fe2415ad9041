"""CSV import into a node: all or nothing, re-import changes nothing, cross-file references,
progress over HTTP, and the SQL search key agrees with the Python one."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from deploy.synthetic import generate_town
from service.counter.records import search_key
from service.imports.stream import CsvImportError
from service.imports.writer import import_csv
from tests.support.counter import TOWN_A, build_pki, counter_node, csv_bytes

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def town():
    return generate_town(TOWN_A, "益城町", 60, seed=3)


async def _counts(conn) -> tuple[int, int]:
    return (await conn.fetchval("SELECT count(*) FROM entities"), await conn.fetchval("SELECT count(*) FROM outbox"))


async def test_import_all_or_nothing_and_idempotent(database, town):
    conn = await asyncpg.connect(database)
    try:
        kw = {"node_id": "mashiki-1", "town": TOWN_A}
        data = csv_bytes("residents", town.residents)
        first = await import_csv(conn, "residents", data, **kw)
        assert first.changed == len(town.residents) + len(town.households) and not first.already_imported
        counts = await _counts(conn)
        again = await import_csv(conn, "residents", data, **kw)
        assert again.already_imported and again.changed == 0 and await _counts(conn) == counts
        # Same records in other bytes (CRLF → LF): not the same file, but nothing changes.
        other = await import_csv(conn, "residents", data.replace(b"\r\n", b"\n"), **kw)
        assert not other.already_imported and other.changed == 0 and await _counts(conn) == counts

        # A malformed row anywhere: nothing of the file is kept, the error names row and column.
        bad = csv_bytes("dwellings", town.dwellings).split(b"\r\n")
        bad[5] = bad[5].replace(b",2,", b",two,") if b",2," in bad[5] else bad[5] + b",extra"
        with pytest.raises(CsvImportError) as caught:
            await import_csv(conn, "dwellings", b"\r\n".join(bad), **kw)
        assert caught.value.errors[0].row == 6 and await _counts(conn) == counts

        # Cross-file reference: surveys of dwellings that were never imported.
        with pytest.raises(CsvImportError) as caught:
            await import_csv(conn, "surveys", csv_bytes("surveys", town.surveys), **kw)
        assert caught.value.errors[0].code == "csv.reference" and caught.value.errors[0].column == "住家ID"
        assert await _counts(conn) == counts

        await import_csv(conn, "dwellings", csv_bytes("dwellings", town.dwellings), **kw)
        done = await import_csv(conn, "surveys", csv_bytes("surveys", town.surveys), **kw)
        assert done.changed == len(town.surveys)

        # The SQL search key agrees with records.search_key on every generated name.
        rows = await conn.fetch(
            "SELECT state->>'family_name' || (state->>'given_name') AS name,"
            " risai_search_key((state->>'family_name') || (state->>'given_name')) AS key,"
            " risai_search_key('ﾀｶﾊｼ　髙橋・たろう') AS sample FROM entities WHERE entity_type = 'resident'")
        assert all(r["key"] == search_key(r["name"]) for r in rows)
        assert rows[0]["sample"] == search_key("ﾀｶﾊｼ　髙橋・たろう")
    finally:
        await conn.close()


async def test_import_over_http_with_progress(database, town):
    pki = build_pki()
    async with counter_node(database, pki) as node:
        admin = await node.login("admin1", ("admin",))
        data = csv_bytes("residents", town.residents)
        resp = await admin.client.post("/api/v1/imports", params={"kind": "residents"}, data=data,
                                        headers={**admin.session.headers, "Content-Type": "text/csv"})
        assert resp.status == 202, await resp.text()
        job_id = (await resp.json())["job"]["job_id"]
        for _ in range(100):
            status, body = await admin.get(f"/api/v1/imports/{job_id}")
            if body["job"]["state"] in ("done", "failed"):
                break
            await asyncio.sleep(0.05)
        assert body["job"]["state"] == "done" and body["job"]["done"] == body["job"]["total"] == len(town.residents)

        bad = data.replace(town.residents[3].family_kana.encode(), b"yamada", 1)
        status, body = await admin.post("/api/v1/imports?kind=residents&wait=true", data=bad,
                                        headers={"Content-Type": "text/csv"})
        assert status == 422 and body["error"]["code"] == "csv.invalid"
        assert body["error"]["fields"][0]["row"] == 5 and body["error"]["fields"][0]["column"] == "氏カナ"

        clerk = await node.login("clerk1", ("clerk",))
        status, body = await clerk.post("/api/v1/imports?kind=residents&wait=true", data=data,
                                        headers={"Content-Type": "text/csv"})
        assert status == 403 and body["error"]["code"] == "auth.role"
