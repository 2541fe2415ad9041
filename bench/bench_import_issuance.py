"""Issuance latency while a 100,000-resident CSV file imports on the same node (issue 9).

    python -m bench.bench_import_issuance [--residents 100000] [--rate 5] [--before 20]

One node (the counter app, local-only mode, in this process, over real HTTP) with its own
PostgreSQL (a throwaway cluster with durable settings: fsync and synchronous_commit on).
Certificates are issued open-loop at a steady rate (one request every 1/rate s, whatever
the replies do): first with the node idle, then while the file imports through
POST /api/v1/imports. Reported: issuance p50/p99 before and during the import and the
ratio p99(during)/p99(before) (target < 2), the import's duration and rows/s against a raw
COPY of the same rows (the bare stack, same run), the chunks' lock times, and, for
comparison, the same file applied in a single transaction (the former importer's shape)
with one issuance sent while it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import shutil
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

from bench.bench_import import raw_copy_seconds
from deploy.postgres import PostgresCluster
from deploy.processes import free_port
from deploy.synthetic import generate_town
from service.api.imports import IMPORT_JOBS
from service.imports.writer import WHOLE_FILE
from service.storage.db import apply_migrations
from service.web.appkeys import POOL
from tests.support.counter import TOWN_C, TOWN_X, build_pki, counter_node, csv_bytes, seed_town
from tests.support.issuing import REASON, household_pairs, judged_application


@dataclasses.dataclass(frozen=True)
class Sample:
    started: float  # monotonic
    seconds: float
    ok: bool


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


async def prepare(node, count: int, concurrency: int = 6) -> list[str]:
    """``count`` judged applications (distinct disasters over a few households)."""
    town = await seed_town(node.app, residents=12)
    clerk = await node.login("clerk1", ("clerk",))
    supervisor = await node.login("boss1", ("supervisor", "surveyor"))
    pairs = household_pairs(town)
    ids: list[str] = []
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            resident, dwelling = pairs[i % len(pairs)]
            ids.append(await judged_application(clerk, supervisor, resident, dwelling,
                                                {"name": f"ベンチ災害 {i}", "date": "2024-01-01"}))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ids


async def issue_one(clerk, app_id: str) -> Sample:
    started = time.monotonic()
    status, _ = await clerk.post(f"/api/v1/applications/{app_id}/certificate", {}, headers=REASON)
    return Sample(started, time.monotonic() - started, status == 201)


async def issue_steadily(clerk, ids: list[str], rate: float, keep_going) -> list[Sample]:
    """Open-loop issuance: a request every 1/rate s while ``keep_going()`` and ids remain."""
    tasks, start, n = [], time.monotonic(), 0
    while ids and keep_going():
        tasks.append(asyncio.create_task(issue_one(clerk, ids.pop())))
        n += 1
        await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
    return list(await asyncio.gather(*tasks))


async def wait_job(admin, job_id: str) -> dict:
    while True:
        job = (await admin.get(f"/api/v1/imports/{job_id}"))[1]["job"]
        if job["state"] in ("done", "failed"):
            return job
        await asyncio.sleep(0.2)


async def post_import(admin, data: bytes) -> str:
    status, body = await admin.post("/api/v1/imports?kind=residents", data=data,
                                    headers={"Content-Type": "text/csv"})
    assert status == 202, body
    return body["job"]["job_id"]


def line(label: str, samples: list[Sample]) -> float:
    latencies = [s.seconds * 1000 for s in samples if s.ok]
    errors = sum(not s.ok for s in samples)
    if not latencies:
        print(f"{label:<28} no successful issuance ({errors} errors)")
        return float("nan")
    p99 = percentile(latencies, 99)
    print(f"{label:<28} n={len(latencies):4d}  p50 {percentile(latencies, 50):7.1f} ms  "
          f"p99 {p99:7.1f} ms  max {max(latencies):7.1f} ms  errors {errors}")
    return p99


async def run(dsn: str, residents: int, rate: float, before_s: float, max_during_s: float,
              single: bool) -> None:
    pki = build_pki()
    big = generate_town(TOWN_C, "陸前高田市", residents, seed=11)
    data = csv_bytes("residents", big.residents)
    async with counter_node(dsn, pki) as node:
        print(f"preparing {int(rate * (before_s + max_during_s))} judged applications ...", flush=True)
        ids = await prepare(node, int(rate * (before_s + max_during_s)))
        clerk = await node.login("clerk2", ("clerk",))
        admin = await node.login("admin1", ("admin",))

        deadline = time.monotonic() + before_s
        before = await issue_steadily(clerk, ids, rate, lambda: time.monotonic() < deadline)

        started = time.monotonic()
        job_id = await post_import(admin, data)
        job = node.app[IMPORT_JOBS].jobs[job_id]
        during = await issue_steadily(clerk, ids, rate, lambda: job.state in ("checking", "applying"))
        ran_out = not ids  # issuance stopped before the import ended
        result = await wait_job(admin, job_id)
        import_s = time.monotonic() - started
        staging_s = (job.applying_since or started) - started
        during_apply = [s for s in during if s.started >= (job.applying_since or started)]

        outbox = await node.app[POOL].fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        copy_s = await bare_copy(dsn, big.residents)
        report(rate, residents, result, before, during, during_apply, job, import_s, staging_s, copy_s,
               during[-1].started - started if ran_out and during else None, outbox)
        if not single:
            return

        # The former shape: the whole file in one transaction, with one issuance sent 1 s in.
        old_data = csv_bytes("residents", generate_town(TOWN_X, "御船町", residents, seed=12).residents)
        node.app[IMPORT_JOBS].policy = WHOLE_FILE
        old_started = time.monotonic()
        old_id = await post_import(admin, old_data)
        old_job = node.app[IMPORT_JOBS].jobs[old_id]
        while old_job.applying_since is None and old_job.state == "checking":
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        probe = await issue_one(clerk, ids.pop()) if ids else None
        await wait_job(admin, old_id)
        old_s = time.monotonic() - old_started
        print(f"single-transaction apply:    {old_s:7.1f} s  {residents / old_s:9,.0f} rows/s; "
              + (f"one issuance sent 1 s into its apply took {probe.seconds:.2f} s" if probe else "no probe"),
              flush=True)


async def bare_copy(dsn: str, residents) -> float:
    """The bare stack in the same run: a raw COPY of the same rows (own schema, no checks)."""
    raw = await asyncpg.connect(dsn)
    try:
        await raw.execute("CREATE SCHEMA bare; SET search_path = bare")
        return await raw_copy_seconds(raw, residents)
    finally:
        await raw.close()


def report(rate, residents, result, before, during, during_apply, job, import_s, staging_s, copy_s,
           ran_out_at, outbox) -> None:
    lock, wait = job.stats.lock_ms, job.stats.wait_ms
    print(f"\nnode: local-only mode, pool 6; issuance open-loop at {rate:g}/s over HTTP; "
          f"import of {residents:,} residents ({result['to_apply']:,} records with households)")
    p99_before = line("issuance before the import", before)
    p99_during = line("issuance during the import", during)
    line("  of which while applying", during_apply)
    print(f"ratio p99 during / before:   {p99_during / p99_before:7.2f}  (target < 2)")
    if ran_out_at is not None:
        print(f"note: the prepared applications ran out {ran_out_at:.0f} s into the import; "
              "'during' covers that part")
    print(f"chunked import:              {import_s:7.1f} s  {residents / import_s:9,.0f} rows/s  "
          f"(check + stage {staging_s:.1f} s, apply {import_s - staging_s:.1f} s)")
    print(f"  chunks {len(lock)}, lock held per chunk p50 {percentile(lock, 50):.1f} ms, "
          f"p99 {percentile(lock, 99):.1f} ms, max {max(lock):.1f} ms; "
          f"waited for the locks p50 {percentile(wait, 50):.1f} ms, p99 {percentile(wait, 99):.1f} ms; "
          f"paused {job.stats.paused_s:.1f} s, waited for the relay {job.stats.relay_wait_s:.1f} s")
    print(f"raw COPY of the same rows:   {copy_s:7.2f} s  {residents / copy_s:9,.0f} rows/s  "
          f"(chunked import / COPY: {import_s / copy_s:.1f}x)")
    print(f"outbox rows left for the relay (no Kafka in this run): {outbox:,}", flush=True)


async def _fresh_database(admin_dsn: str, dsn: str) -> None:
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute('CREATE DATABASE "bench_import_issuance"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(dsn)
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=5.0, help="issuances per second")
    parser.add_argument("--before", type=float, default=20.0, help="seconds of issuance before the import")
    parser.add_argument("--max-during", type=float, default=120.0,
                        help="seconds of issuance prepared for the import's duration")
    parser.add_argument("--no-single", action="store_true", help="skip the single-transaction comparison")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="risai-bench-pg-"))
    root.chmod(0o755)
    cluster = PostgresCluster.at(root / "cluster", free_port())
    cluster.init()  # durable settings: never fsync=off in a benchmark
    cluster.start()
    try:
        dsn = cluster.dsn("bench_import_issuance")
        asyncio.run(_fresh_database(cluster.dsn(), dsn))
        asyncio.run(run(dsn, args.residents, args.rate, args.before, args.max_during, not args.no_single))
    finally:
        cluster.destroy()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
