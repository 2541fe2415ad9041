"""The disk_full fault on a real PostgreSQL cluster: a size-limited tmpfs, filled up.

A federation stand-in gives the fault just what it uses (the node, its cluster, its
region); the filesystem, the mount and PostgreSQL are real. Needs root (mount).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from types import SimpleNamespace

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from chaos.faults import disk
from chaos.faults.ledger import Ledger
from service.web.errors import error_middleware
from tests.support.postgres import throwaway_cluster

FAILS_WHEN_FULL = (asyncpg.DiskFullError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                   OSError, asyncpg.CannotConnectNowError, asyncpg.InternalServerError)


@pytest.fixture
def stand_in():
    with throwaway_cluster("diskfull") as cluster:
        node = SimpleNamespace(id="n-1", region="r")
        fed = SimpleNamespace(spec=SimpleNamespace(nodes=[node]), postgres=lambda n: cluster,
                              in_region=lambda region: contextlib.nullcontext())
        yield fed, cluster, Ledger(cluster.root / "ledger.json")
        with contextlib.suppress(Exception):
            disk.undo_restore_db_disk(fed, {"node": "n-1"})


def _mounted(path: Path) -> bool:
    return any(line.split()[1] == str(path) for line in Path("/proc/mounts").read_text().splitlines())


async def _write_until_refused(dsn: str) -> BaseException:
    for i in range(2000):  # bounded: 48 MB of headroom fills within a few hundred rows
        try:
            conn = await asyncpg.connect(dsn, timeout=5)
            try:
                await conn.execute("INSERT INTO t SELECT $1, repeat(md5(random()::text), 4000)"
                                   " FROM generate_series(1, 20)", i)
            finally:
                await conn.close(timeout=2)
        except FAILS_WHEN_FULL as exc:
            return exc
    raise AssertionError("the full disk never refused a write")


async def test_disk_full_refuses_writes_keeps_committed_rows_and_recovers(stand_in):
    fed, cluster, ledger = stand_in
    conn = await asyncpg.connect(cluster.dsn())
    await conn.execute("CREATE TABLE t (n int, pad text)")
    await conn.execute("INSERT INTO t VALUES (-1, 'before the fault')")
    await conn.close()

    entry = await asyncio.to_thread(disk.fill_disk, fed, ledger, "n-1", {"headroom_mb": 16})
    assert _mounted(cluster.data_dir)
    refused = await _write_until_refused(cluster.dsn())
    print(f"refused with {type(refused).__name__}: {refused}")

    await asyncio.to_thread(disk.undo_restore_db_disk, fed, ledger.entries()[0])
    ledger.remove(entry)
    assert not _mounted(cluster.data_dir) and not (cluster.root / disk.ASIDE).exists()
    conn = await asyncpg.connect(cluster.dsn())
    try:
        assert await conn.fetchval("SELECT pad FROM t WHERE n = -1") == "before the fault"
        await conn.execute("INSERT INTO t VALUES (-2, 'after')")  # space is back
        assert await conn.fetchval("SELECT count(*) FROM t WHERE n < 0") == 2
    finally:
        await conn.close()


async def test_a_full_disk_is_a_503_with_its_own_code():
    async def full(request):
        raise asyncpg.DiskFullError("could not extend file: No space left on device")

    app = web.Application(middlewares=[error_middleware])
    app.router.add_post("/x", full)
    async with TestClient(TestServer(app)) as client:
        resp = await client.post("/x")
        body = await resp.json()
    assert resp.status == 503
    assert body["error"]["code"] == "database.storage_full"
    assert body["error"]["message"].startswith("ノードのディスク")
