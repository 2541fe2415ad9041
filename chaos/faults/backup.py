"""A stale restore: a node's database comes back from an older backup (issue 17).

Inject: take a backup of the node's database (``pg_dump``, a consistent snapshot while the
node keeps issuing). Undo: SIGKILL the node, drop its database, restore the backup
(``pg_restore``) and start the node again. Everything the node wrote after the backup is
then missing from its database; the node must take it back from its own Kafka topic before
serving (replication.own_topic), or it would hand out the same 整理番号 again, and the
drill's checker (acknowledged everywhere, no duplicate 整理番号) says so.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess

import asyncpg

from chaos.faults.ledger import Ledger
from chaos.faults.process import node_spec, start_node
from deploy.launcher import NODE_DB, Federation
from deploy.postgres import find_pg_bin
from deploy.processes import stop


def _dump_path(fed: Federation, node_id: str):
    folder = fed.run_dir / "chaos" / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{node_id}.dump"


def backup_then_restore(fed: Federation, ledger: Ledger, target: str, params: dict) -> str:
    """Back the node's database up now; the undo restores it (the stale restore)."""
    node = node_spec(fed, target)
    dump = _dump_path(fed, target)
    with fed.in_region(node.region):  # the database listens in the node's region
        subprocess.run([str(find_pg_bin() / "pg_dump"), "-Fc", "-f", str(dump), fed.postgres(node).dsn(NODE_DB)],
                       check=True, capture_output=True, timeout=120)
    return ledger.add("restore_backup", node=target, dump=str(dump))


async def _drop(admin_dsn: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{NODE_DB}" WITH (FORCE)')
    finally:
        await conn.close()


def undo_restore_backup(fed: Federation, entry: dict) -> None:
    node = node_spec(fed, entry["node"])
    record = fed.node_record(node)
    if record is not None:
        stop(record, timeout=0, first=signal.SIGKILL)
    cluster = fed.postgres(node)
    with fed.in_region(node.region):
        asyncio.run(_drop(cluster.dsn()))
        subprocess.run([str(find_pg_bin() / "pg_restore"), "--create", "-d", cluster.dsn(), entry["dump"]],
                       check=True, capture_output=True, timeout=300)
    start_node(fed, entry["node"])


INJECT = {"restore_stale_backup": backup_then_restore}
UNDO = {"restore_backup": undo_restore_backup}
