"""PostgreSQL restart after its postmaster was SIGKILLed (issue 17, recovery defect 1).

An outside kill test found that `risai-federation up` skipped the restart: the dead
postmaster stays a zombie for a moment, `pg_ctl status` still says it runs (kill(pid, 0)
succeeds on a zombie), and the next connection failed with a bare ConnectionRefusedError.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time

import asyncpg
import pytest

from deploy import launcher
from deploy.postgres import PG_USER, PostgresCluster, process_alive
from deploy.processes import DeployError, free_port
from tests.support.postgres import service_root, throwaway_cluster


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


def _wait_dead(pid: int) -> str:
    for _ in range(500):  # bounded: a signalled or finished process dies at once
        if _state(pid) in ("Z", "gone"):
            return _state(pid)
        time.sleep(0.01)
    raise AssertionError(f"process {pid} did not die")


def _zombie_of_postgres() -> subprocess.Popen:
    """A child process of ours, run as the postgres user, that exited and was not reaped."""
    child = subprocess.Popen(["true"], user=PG_USER, group=PG_USER)
    assert _wait_dead(child.pid) == "Z"
    return child


def test_a_zombie_postmaster_is_not_running():
    root = service_root("zombie")
    cluster = PostgresCluster.at(root / "cluster", free_port())
    cluster.data_dir.mkdir(parents=True)
    (cluster.data_dir / "PG_VERSION").write_text("15\n")
    zombie = _zombie_of_postgres()
    try:
        (cluster.data_dir / "postmaster.pid").write_text(f"{zombie.pid}\n{cluster.data_dir}\n")
        assert not process_alive(zombie.pid)
        assert not cluster.running()
    finally:
        zombie.wait()
    assert not process_alive(zombie.pid)
    assert process_alive(os.getpid())


@pytest.fixture
def own_cluster():
    with throwaway_cluster("restart") as cluster:
        yield cluster


async def test_start_after_sigkill_restarts_the_postmaster(own_cluster):
    conn = await asyncpg.connect(own_cluster.dsn())  # a backend that outlives its postmaster
    try:
        pid = own_cluster.postmaster_pid()
        os.kill(pid, signal.SIGKILL)
        _wait_dead(pid)
        # At once, as `up` would: the dead postmaster may still be a zombie, its pid file
        # stays behind, and its orphaned backends may still hold the shared memory.
        await asyncio.to_thread(own_cluster.start)
        assert own_cluster.postmaster_pid() != pid
        fresh = await asyncpg.connect(own_cluster.dsn())
        assert await fresh.fetchval("SELECT 1") == 1
        await fresh.close()
    finally:
        conn.terminate()


async def test_a_database_that_does_not_answer_is_a_deploy_error():
    with pytest.raises(DeployError, match="PostgreSQL .* did not accept a connection"):
        await launcher._ensure_database(f"postgresql://risai:x@127.0.0.1:{free_port()}/postgres",
                                        "node")
