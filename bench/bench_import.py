"""Import N synthetic residents through the importer vs a raw asyncpg COPY of the same rows.

    python -m bench.bench_import [--residents 100000] [--dsn postgresql://...]

Without --dsn a throwaway PostgreSQL cluster is started (deploy.postgres). Both runs use
fresh databases on the same server, in the same process run; the ratio is the figure.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

from deploy.postgres import PostgresCluster
from deploy.processes import free_port
from deploy.synthetic import generate_town
from service.imports.stream import RecordStream, write_csv
from service.imports.writer import import_csv
from service.storage.db import apply_migrations


def csv_bytes(kind: str, records) -> bytes:
    """Records as CSV bytes in the documented format."""
    import io

    out = io.StringIO(newline="")
    write_csv(kind, records, out)
    return out.getvalue().encode()


async def _fresh(admin_dsn: str, make_dsn, name: str) -> asyncpg.Connection:
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return await asyncpg.connect(make_dsn(name))


async def raw_copy_seconds(raw: asyncpg.Connection, residents) -> float:
    """The bare stack: COPY the residents into a plain table (no checks, no outbox); seconds."""
    await raw.execute("CREATE TABLE residents (resident_id text PRIMARY KEY, town_code text, family_name text,"
                      " given_name text, family_kana text, given_kana text, birth_date date, sex int,"
                      " address text, household_id text, is_householder bool)")
    rows = [r.to_state() for r in residents]
    records = [(s["resident_id"], s["town_code"], s["family_name"], s["given_name"], s["family_kana"],
                s["given_kana"], r.birth_date, s["sex"], s["address"], s["household_id"], s["is_householder"])
               for s, r in zip(rows, residents)]
    started = time.perf_counter()
    await raw.copy_records_to_table("residents", records=records)
    return time.perf_counter() - started


async def run(admin_dsn: str, make_dsn, residents: int) -> None:
    town = generate_town("434434", "益城町", residents, seed=1)
    data = csv_bytes("residents", town.residents)

    raw = await _fresh(admin_dsn, make_dsn, "bench_import_raw")
    copy_s = await raw_copy_seconds(raw, town.residents)
    await raw.close()

    started = time.perf_counter()
    parsed = sum(1 for _ in RecordStream("residents", data))
    parse_s = time.perf_counter() - started

    conn = await _fresh(admin_dsn, make_dsn, "bench_import_node")
    await apply_migrations(conn)
    started = time.perf_counter()
    result = await import_csv(conn, "residents", data, node_id="mashiki-1", town="434434")
    import_s = time.perf_counter() - started
    started = time.perf_counter()
    again = await import_csv(conn, "residents", data, node_id="mashiki-1", town="434434")
    reimport_s = time.perf_counter() - started
    await conn.close()
    print(f"residents: {residents:,} ({result.changed:,} entities with households; "
          f"parse + validate + record_changes + outbox, one transaction)")
    print(f"raw asyncpg COPY (no validation, no outbox): {copy_s:8.2f} s  {residents / copy_s:10,.0f} rows/s")
    print(f"importer:                                   {import_s:8.2f} s  {residents / import_s:10,.0f} rows/s")
    print(f"ratio importer / COPY:                      {import_s / copy_s:8.1f}x")
    print(f"of which CSV parse + validate only ({parsed:,} records, no database): {parse_s:8.2f} s")
    print(f"re-import of the same file (sha256 hit):    {reimport_s:8.3f} s  (changed {again.changed})")


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--dsn", help="admin DSN of a PostgreSQL server (default: start a throwaway one)")
    args = parser.parse_args(argv)
    if args.dsn:
        base = args.dsn.rsplit("/", 1)[0]
        asyncio.run(run(args.dsn, lambda name: f"{base}/{name}", args.residents))
        return 0
    root = Path(tempfile.mkdtemp(prefix="risai-bench-pg-"))
    root.chmod(0o755)
    cluster = PostgresCluster.at(root / "cluster", free_port())
    cluster.init(for_tests=True)
    cluster.start()
    # Default settings (max_locks_per_transaction 64): an import takes a constant number
    # of locks whatever the file's size (store.ENTITY_STORE_LOCK, no lock per entity).
    try:
        asyncio.run(run(cluster.dsn(), cluster.dsn, args.residents))
    finally:
        cluster.destroy()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
