"""Chunked CSV import: a crash mid-import resumes and applies every record exactly once, a
node restarted mid-import finishes the job, a refused file writes nothing, and issuance is
served while a large import is still applying, and the relay gate holds an import back while
the relay drains (issue 9, "imports never stop the node")."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from deploy.synthetic import generate_town
from service.api.imports import IMPORT_JOBS
from service.imports.backpressure import RelayGate
from service.imports.jobs import load_job, unfinished_jobs
from service.imports.stream import CsvImportError
from service.imports.writer import ChunkPolicy, apply_job, import_csv
from service.web.appkeys import POOL
from tests.support.counter import TOWN_A, TOWN_C, build_pki, counter_node, csv_bytes, seed_town
from tests.support.issuing import household_pairs, issue, judged_application

pytestmark = pytest.mark.integration
KW = {"node_id": "mashiki-1", "town": TOWN_A}
FIXED_50 = ChunkPolicy(first_rows=50, min_rows=50, max_rows=50, pause_ratio=0)


class ChunkFailed(Exception):
    pass


@pytest.fixture(scope="module")
def town():
    return generate_town(TOWN_A, "益城町", 400, seed=5)


@pytest.fixture(scope="module")
def pki():
    return build_pki()


async def _counts(conn, where: str = "true") -> dict[str, int]:
    counts = {table: await conn.fetchval(f"SELECT count(*) FROM {table} WHERE {where}")
              for table in ("entities", "entity_versions", "outbox")}
    return counts | {table: await conn.fetchval(f"SELECT count(*) FROM {table}")
                     for table in ("import_jobs", "import_staged", "import_log")}


async def _assert_applied_once(conn, records: int, where: str = "true") -> None:
    """Every record is one entity with one version and one outbox row, none twice."""
    counts = await _counts(conn, where)
    assert counts["entities"] == counts["entity_versions"] == counts["outbox"] == records, counts
    assert await conn.fetchval(f"SELECT count(DISTINCT (entity_type, entity_id)) FROM outbox WHERE {where}") == records
    assert counts["import_staged"] == 0


async def test_failed_chunk_then_resume_applies_every_record_once(database, town):
    records = len(town.residents) + len(town.households)
    conn = await asyncpg.connect(database)
    try:
        async def fail_fourth(chunk: int) -> None:
            if chunk == 4:
                raise ChunkFailed("chunk 4 fails on purpose")

        data = csv_bytes("residents", town.residents)
        with pytest.raises(ChunkFailed):
            await import_csv(conn, "residents", data, policy=FIXED_50, before_commit=fail_fourth, **KW)
        [job_id] = await unfinished_jobs(conn)
        job = await load_job(conn, job_id)
        # Chunks 1-3 committed (entities and their outbox rows), chunk 4 rolled back whole.
        assert (job.state, job.applied_through, job.total, job.chunks) == ("applying", 150, records, 3)
        counts = await _counts(conn)
        assert counts["entities"] == counts["outbox"] == 150 and counts["import_log"] == 0
        assert counts["import_staged"] == records  # the checked file, kept for the resume

        # The same file uploaded again while the job is applying joins that job.
        joined = await import_csv(conn, "residents", data, policy=FIXED_50, **KW)
        assert joined.job_id == job_id and not joined.already_imported
        await _assert_applied_once(conn, records)
        assert (await load_job(conn, job_id)).state == "done"
        assert joined.changed == records and joined.chunks == -(-records // 50)

        # Re-import detection by SHA-256 still holds once the job is done.
        again = await import_csv(conn, "residents", data, **KW)
        assert again.already_imported and again.changed == 0
        await _assert_applied_once(conn, records)
    finally:
        await conn.close()


async def test_resume_of_a_done_job_changes_nothing(database, town):
    conn = await asyncpg.connect(database)
    try:
        result = await import_csv(conn, "residents", csv_bytes("residents", town.residents), **KW)
        before = await _counts(conn)
        resumed = await apply_job(conn, result.job_id, **KW)
        assert resumed.changed == result.changed and await _counts(conn) == before
    finally:
        await conn.close()


async def test_refused_file_writes_nothing(database, town):
    conn = await asyncpg.connect(database)
    try:
        await import_csv(conn, "residents", csv_bytes("residents", town.residents[:50]), **KW)
        before = await _counts(conn)
        # A bad row near the end: hundreds of rows were checked and staged before it.
        lines = csv_bytes("residents", town.residents).split(b"\r\n")
        lines[-3] = lines[-3].replace(town.residents[-2].family_kana.encode(), b"yamada", 1)
        with pytest.raises(CsvImportError) as caught:
            await import_csv(conn, "residents", b"\r\n".join(lines), policy=FIXED_50, **KW)
        assert caught.value.errors[0].row == len(lines) - 2 and caught.value.errors[0].column == "氏カナ"
        assert await _counts(conn) == before
        # References checked before anything is applied: dwellings of households not imported.
        with pytest.raises(CsvImportError) as caught:
            await import_csv(conn, "dwellings", csv_bytes("dwellings", town.dwellings), policy=FIXED_50, **KW)
        assert caught.value.errors[0].code == "csv.reference" and caught.value.errors[0].column == "世帯番号"
        assert await _counts(conn) == before
    finally:
        await conn.close()


async def _wait_for(predicate, what: str, attempts: int = 600) -> None:
    for _ in range(attempts):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_node_restarted_mid_import_finishes_the_job(database, town, pki):
    records = len(town.residents) + len(town.households)
    slow = ChunkPolicy(first_rows=20, min_rows=20, max_rows=20, pause_ratio=0)
    async with counter_node(database, pki) as node:
        node.app[IMPORT_JOBS].policy = slow
        admin = await node.login("admin1", ("admin",))
        status, body = await admin.post("/api/v1/imports?kind=residents", data=csv_bytes("residents", town.residents),
                                        headers={"Content-Type": "text/csv"})
        assert status == 202, body
        job_id = body["job"]["job_id"]

        async def some_applied() -> bool:
            job = (await admin.get(f"/api/v1/imports/{job_id}"))[1]["job"]
            return job["state"] == "applying" and job["applied"] >= 60

        await _wait_for(some_applied, "the first chunks")
    # The node stopped (its shutdown cancelled the job between or inside a chunk).
    conn = await asyncpg.connect(database)
    try:
        job = await load_job(conn, job_id)
        assert job.state == "applying" and 60 <= job.applied_through < records
        assert await conn.fetchval("SELECT count(*) FROM entities WHERE entity_type IN ('resident', 'household')"
                                   ) == job.applied_through
    finally:
        await conn.close()

    async with counter_node(database, pki) as node:  # start-up resumes it
        admin = await node.login("admin2", ("admin",))

        async def done() -> bool:
            return (await admin.get(f"/api/v1/imports/{job_id}"))[1]["job"]["state"] == "done"

        await _wait_for(done, "the resumed job")
        body = (await admin.get(f"/api/v1/imports/{job_id}"))[1]["job"]
        assert body["applied"] == body["to_apply"] == records
        status, body = await admin.post(f"/api/v1/imports/{job_id}/resume")
        assert status == 202 and body["job"]["state"] == "done"
        status, body = await admin.post("/api/v1/imports/not-a-job/resume")
        assert status == 404 and body["error"]["code"] == "import.not_found"
        async with node.app[POOL].acquire() as conn:
            await _assert_applied_once(conn, records, "entity_type IN ('resident', 'household')")


async def test_issuance_completes_while_a_large_import_is_applying(database, pki):
    async with counter_node(database, pki) as node:
        seeded = await seed_town(node.app)
        clerk = await node.login("clerk1", ("clerk",))
        supervisor = await node.login("boss1", ("supervisor", "surveyor"))
        resident, dwelling = household_pairs(seeded)[0]
        app_id = await judged_application(clerk, supervisor, resident, dwelling,
                                          {"name": "令和6年能登半島地震", "date": "2024-01-01"})
        big = generate_town(TOWN_C, "陸前高田市", 3000, seed=9)
        jobs = node.app[IMPORT_JOBS]
        jobs.policy = ChunkPolicy(first_rows=50, min_rows=50, max_rows=50, pause_ratio=0)
        job = jobs.start("residents", csv_bytes("residents", big.residents), staff_id=None, encoding=None)

        async def applying() -> bool:
            return job.state == "applying" and job.applied > 0

        await _wait_for(applying, "the import to start applying")
        issued = await issue(clerk, app_id)
        pool = node.app[POOL]
        # Ordering facts, not timings: when issuance replied the job was still applying,
        # and the import wrote outbox rows both before and after the certificate's.
        record = await pool.fetchrow("SELECT state, applied_through, total FROM import_jobs WHERE job_id = $1",
                                     job.job_id)
        assert record["state"] == "applying" and record["applied_through"] < record["total"]
        await asyncio.wait_for(asyncio.shield(job.task), 300)
        assert job.state == "done", job.error
        cert_id = await pool.fetchval("SELECT id FROM outbox WHERE entity_type = 'certificate' AND entity_id = $1",
                                      issued["certificate"]["number"])
        after = await pool.fetchval("SELECT count(*) FROM outbox WHERE entity_type IN ('resident', 'household')"
                                    " AND entity_id LIKE $1 AND id > $2", f"{TOWN_C}%", cert_id)
        assert 0 < after < len(big.residents) + len(big.households)


async def _fake_outbox(conn, count: int) -> None:
    await conn.execute(
        "INSERT INTO outbox (event_id, entity_type, entity_id, payload)"
        " SELECT gen_random_uuid(), 'resident', 'r' || n, '\\x00' FROM generate_series(1, $1) AS n", count)


async def _backlog(conn) -> int:
    return await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")


async def test_relay_gate_waits_for_a_draining_relay_and_not_for_a_stalled_one(database):
    conn = await asyncpg.connect(database)
    relay = await asyncpg.connect(database)
    try:
        await _fake_outbox(conn, 30)
        gate = RelayGate(limit=10, poll_s=0.02, stall_s=5.0)

        async def drain() -> None:  # a relay: publishes in id order, 4 rows at a time
            while await _backlog(relay):
                await relay.execute("UPDATE outbox SET published_at = now() WHERE id IN (SELECT id FROM outbox"
                                    " WHERE published_at IS NULL ORDER BY id LIMIT 4)")
                await asyncio.sleep(0.05)

        drainer = asyncio.create_task(drain())
        await asyncio.wait_for(gate.wait(conn), 60)
        assert await _backlog(conn) <= 10  # it let the chunk go only once the backlog was short
        await drainer

        await _fake_outbox(conn, 30)  # nothing drains now (no relay: local-only, Kafka down)
        stalled = RelayGate(limit=10, poll_s=0.02, stall_s=0.3)
        await asyncio.wait_for(stalled.wait(conn), 60)
        assert await _backlog(conn) == 30 and stalled.waited_s > 0
        before = stalled.waited_s
        await stalled.wait(conn)  # stays open for reopen_s: no second stall wait
        assert stalled.waited_s == before
    finally:
        await relay.close()
        await conn.close()
