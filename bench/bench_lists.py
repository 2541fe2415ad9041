"""p95 of the casework lists' common filters at 200,000 applications, beside bare queries.

    python -m bench.bench_lists [--applications 200000] [--runs 60] [--dsn postgresql://...]

Without --dsn a throwaway PostgreSQL cluster is started with default durability settings
(fsync on). The entity store is filled with synthetic applications (three competent towns,
six nodes, 90 days, every status and class), their residents and dwellings, about half of
them issued (with copies, revocations and supersessions), by COPY into ``entities``: the
triggers of migration 0410 fill the list tables as replication and the use cases would.

Each list request is timed as the node serves it: ``casework.list_page`` (one page and the
total count in one transaction) on one pooled connection. The baselines, in the same run:
a primary-key read of one entity (the cheapest statement the node makes), and the same
filter and count written directly over ``entities`` jsonb, as the lists would be without
the typed tables and indexes of 0410.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Awaitable, Callable

import asyncpg

from deploy.postgres import PostgresCluster
from deploy.processes import free_port
from service.counter import casework, codes
from service.counter.access import Actor
from service.counter.casework_filters import application_query, certificate_query
from service.storage.counter import CounterRepository
from service.storage.db import apply_migrations

TOWNS = (("434434", 0.6), ("172049", 0.25), ("032107", 0.15))
NODES = ("mashiki-1", "mashiki-2", "wajima-1", "rikuzentakata-1", "kiosk-hub-1", "kumamoto-1")
CLASSES = ("zenkai", "daikibo-hankai", "chukibo-hankai", "hankai", "jun-hankai", "ichibu-sonkai")
STATUSES = ("received", "surveyed", "judged", "issued", "resurvey_requested", "reissued")
START = dt.datetime(2024, 1, 1, 0, 0, tzinfo=dt.timezone.utc)
HLC = "0000000000000-0000-bench"


@dataclasses.dataclass(frozen=True)
class _Staff:
    staff_id: str = "bench-clerk"
    town_code: str = "434434"
    display_name: str = "bench"
    username: str = "bench"


def _rows(n: int, rng: random.Random) -> tuple[list[tuple], dict[str, list[str]]]:
    """Entity rows (type, id, state json) and what the timed queries look for."""
    rows: list[tuple] = []
    probes: dict[str, list[str]] = {"application": [], "tracking": [], "certificate": [], "revoked": []}
    seq = 0
    for i in range(n):
        town = rng.choices([t for t, _ in TOWNS], [w for _, w in TOWNS])[0]
        node = rng.choice(NODES)
        status = rng.choices(STATUSES, (20, 10, 15, 45, 3, 7))[0]
        klass = None if status in ("received", "surveyed") else rng.choice(CLASSES)
        app_id, household, dwelling, resident = f"A-{node}-{i:012x}", f"H{i:07d}", f"D{i:07d}", f"R{i:07d}"
        at = START + dt.timedelta(seconds=rng.randrange(90 * 86400))
        code = "".join(rng.choice(codes.ALPHABET) for _ in range(codes.LENGTH))
        number = None
        if status in ("issued", "reissued"):
            seq += 1
            number = f"{town}-{node}-{seq:06d}"
        rows.append(("application", app_id, {
            "application_id": app_id, "kind": "risai", "status": status, "competent_town": town,
            "applicant_town": town, "applicant_resident_id": resident, "household_id": household,
            "dwelling_id": dwelling, "disaster": {"id": "D-20240101-0000000001", "name": "令和6年能登半島地震",
                                                  "date": "2024-01-01"},
            "channel": rng.choices(("counter", "kiosk", "mail"), (80, 15, 5))[0], "received_node": node,
            "received_town": "434434" if node.startswith("mashiki") else "172049", "received_at": at.isoformat(),
            "damage_class": klass, "current_certificate": number, "certificates": [number] if number else [],
            "tracking_key": codes.tracking_lookup_key(code), "history": []}))
        rows.append(("resident", resident, {"resident_id": resident, "town_code": town, "family_name": "山田",
                                            "given_name": f"太郎{i}", "household_id": household}))
        rows.append(("household", household, {"household_id": household, "householder_id": resident}))
        rows.append(("dwelling", dwelling, {"dwelling_id": dwelling, "town_code": town,
                                            "location": f"熊本県益城町大字宮園字東原{i % 4000}番"}))
        if number:
            rows.append(("certificate", number, {
                "number": number, "application_id": app_id, "cert_type": "risai", "competent_town": town,
                "issuing_node": node, "issuing_town": "434434", "on_behalf": not node.startswith("mashiki"),
                "damage_class": klass, "issue_date": (at + dt.timedelta(days=3)).date().isoformat(),
                "signed_at": (at + dt.timedelta(days=3)).isoformat(), "staff_id": "bench-clerk",
                "dwelling_id": dwelling, "supersedes": None}))
            if rng.random() < 0.01:
                rows.append(("revocation", number, {"number": number, "at": at.isoformat(), "reason": "bench"}))
                probes["revoked"].append(number)
            if rng.random() < 0.02:
                rows.append(("certificate_copy", f"{number}/copy-1", {"number": number, "copy_no": 1}))
            probes["certificate"].append(number)
        probes["application"].append(app_id)
        probes["tracking"].append(code)
    return rows, probes


async def _fill(conn: asyncpg.Connection, rows: list[tuple]) -> float:
    started = time.perf_counter()
    await conn.copy_records_to_table(
        "entities", columns=["entity_type", "entity_id", "state", "hlc", "origin_node", "version"],
        records=[(t, i, json.dumps(s, ensure_ascii=False), HLC, "bench", HLC) for t, i, s in rows])
    await conn.execute("VACUUM ANALYZE")  # the steady state autovacuum keeps
    return time.perf_counter() - started


async def _p95(runs: int, call: Callable[[int], Awaitable[object]]) -> tuple[float, float]:
    """(p50, p95) in milliseconds over ``runs`` calls (after two warm-up calls)."""
    for i in range(2):
        await call(i)
    times = []
    for i in range(runs):
        started = time.perf_counter()
        await call(i)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(round(0.95 * len(times))) - 1)]


def _cases(probes: dict[str, list[str]], rng: random.Random) -> dict[str, Callable[[int], dict]]:
    """Query parameters of each common filter, varied per run."""
    day = lambda i: (START + dt.timedelta(days=(i * 7) % 90)).date().isoformat()  # noqa: E731
    return {
        "申請一覧 own town, newest first (page 1 + total)": lambda i: ("a", {}),
        "申請一覧 status=received": lambda i: ("a", {"status": "received"}),
        "申請一覧 one JST day": lambda i: ("a", {"received_from": day(i), "received_to": day(i)}),
        "申請一覧 received_node + class": lambda i: ("a", {"received_node": NODES[i % 6], "damage_class": CLASSES[i % 6]}),
        "申請一覧 q=application number": lambda i: ("a", {"q": rng.choice(probes["application"]), "scope": "all"}),
        "申請一覧 q=tracking code": lambda i: ("a", {"q": rng.choice(probes["tracking"]), "scope": "all"}),
        "交付台帳 own town, newest first": lambda i: ("c", {}),
        "交付台帳 state=revoked": lambda i: ("c", {"state": "revoked"}),
        "交付台帳 on_behalf + one issue day": lambda i: ("c", {"on_behalf": "true", "issued_from": day(i), "issued_to": day(i)}),
        "交付台帳 q=整理番号": lambda i: ("c", {"q": rng.choice(probes["certificate"]), "scope": "all"}),
    }


async def run(dsn: str, applications: int, runs: int) -> None:
    rng = random.Random(14)
    conn = await asyncpg.connect(dsn)
    await apply_migrations(conn)
    rows, probes = _rows(applications, rng)
    fill_s = await _fill(conn, rows)
    counts = {r["entity_type"]: r["n"] for r in await conn.fetch(
        "SELECT entity_type, count(*) AS n FROM entities GROUP BY 1")}
    print(f"entities: {len(rows):,} ({counts.get('application', 0):,} applications, "
          f"{counts.get('certificate', 0):,} certificates) filled by COPY + 0410 triggers in {fill_s:.1f} s")
    repo = CounterRepository(conn, node_id="wajima-1", town="172049")
    actor = Actor(_Staff(), lambda: "bench")

    pk = await _p95(runs, lambda i: conn.fetchval(
        "SELECT state FROM entities WHERE entity_type = 'application' AND entity_id = $1",
        probes["application"][i]))
    bare = await _p95(runs, lambda i: conn.fetch(
        "SELECT entity_id FROM entities WHERE entity_type = 'application' AND state->>'competent_town' = '434434'"
        " ORDER BY state->>'received_at' DESC LIMIT 50"))
    bare_count = await _p95(max(5, runs // 6), lambda i: conn.fetchval(
        "SELECT count(*) FROM entities WHERE entity_type = 'application' AND state->>'competent_town' = '434434'"
        " AND state->>'status' = 'received'"))
    print(f"{'query':52} {'p50 ms':>8} {'p95 ms':>8} {'p95 / PK read':>14}")
    print(f"{'baseline: one entity by primary key':52} {pk[0]:8.2f} {pk[1]:8.2f} {1:14.1f}x")
    print(f"{'baseline: jsonb page over entities (no 0410)':52} {bare[0]:8.2f} {bare[1]:8.2f} {bare[1] / pk[1]:14.1f}x")
    print(f"{'baseline: jsonb count, status=received (no 0410)':52} {bare_count[0]:8.2f} {bare_count[1]:8.2f} "
          f"{bare_count[1] / pk[1]:14.1f}x")
    worst = 0.0
    for name, params in _cases(probes, rng).items():
        async def call(i: int, params=params) -> object:
            kind, query = params(i)
            parsed = application_query(query) if kind == "a" else certificate_query(query)
            return await casework.list_page(repo, actor, parsed)
        p50, p95 = await _p95(runs, call)
        worst = max(worst, p95)
        print(f"{name:52} {p50:8.2f} {p95:8.2f} {p95 / pk[1]:14.1f}x")
    page = await casework.list_page(repo, actor, application_query({}))
    deep = application_query({"after": page.next_cursor})
    for _ in range(200):  # 200 pages on: the keyset cursor costs what page 1 does
        deep = application_query({"after": (await casework.list_page(repo, actor, deep)).next_cursor})
    p50, p95 = await _p95(runs, lambda i: casework.list_page(repo, actor, deep))
    print(f"{'申請一覧 page 202 (keyset cursor)':52} {p50:8.2f} {p95:8.2f} {p95 / pk[1]:14.1f}x")
    await repo.sync_town_names({"434434": "益城町", "172049": "輪島市", "032107": "陸前高田市"})
    stats = await _p95(max(5, runs // 6), lambda i: repo.statistics("town", "434434"))
    daikou = await _p95(max(5, runs // 6), lambda i: repo.daikou_summary("434434"))
    print(f"{'集計 of one town (2 scans, grouping sets)':52} {stats[0]:8.2f} {stats[1]:8.2f} {stats[1] / pk[1]:14.1f}x")
    print(f"{'代行 report summary of one town':52} {daikou[0]:8.2f} {daikou[1]:8.2f} {daikou[1] / pk[1]:14.1f}x")
    print(f"worst list p95: {worst:.1f} ms")
    await conn.close()


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--dsn", help="DSN of an empty database (default: a throwaway cluster)")
    args = parser.parse_args(argv)
    if args.dsn:
        asyncio.run(run(args.dsn, args.applications, args.runs))
        return 0
    root = Path(tempfile.mkdtemp(prefix="risai-bench-pg-"))
    root.chmod(0o755)
    cluster = PostgresCluster.at(root / "cluster", free_port())
    cluster.init()  # default durability: no fsync=off in a benchmark
    cluster.start()
    try:
        asyncio.run(run(cluster.dsn(), args.applications, args.runs))
    finally:
        cluster.destroy()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
