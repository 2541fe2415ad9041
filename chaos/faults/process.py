"""Process faults: SIGKILL a node, its PostgreSQL or a broker; wipe a broker's disk;
SIGSTOP/SIGCONT a node; stop a node gracefully (rolling restart). Restarts go back into the region's namespace.

Every process is found through the launcher's own records (pid plus kernel start time),
so a drill never signals a process the launcher did not start.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from chaos.faults.ledger import Ledger
from deploy.launcher import Federation, wait_node_ready
from deploy.processes import ProcessRecord, process_start_ticks, spawn, stop


def node_spec(fed: Federation, node_id: str):
    for node in fed.spec.nodes:
        if node.id == node_id:
            return node
    raise ValueError(f"no node {node_id!r} in the federation (have: {', '.join(n.id for n in fed.spec.nodes)})")


def start_node(fed: Federation, node_id: str, env: dict[str, str] | None = None) -> ProcessRecord:
    """Start a node in its region (as the launcher does), optionally with extra environment
    (faketime); wait until /readyz answers."""
    node = node_spec(fed, node_id)
    existing = fed.node_record(node)
    if existing is not None:
        return existing
    cfg = fed.write_node_config(node)
    with fed.in_region(node.region):
        record = spawn(f"node-{node.id}", [sys.executable, "-m", "service.main", "--config", str(cfg)],
                       fed.node_dir(node) / "node.log", env={**os.environ, **(env or {})} if env else None)
    (fed.node_dir(node) / "process.json").write_text(json.dumps(record.to_dict()))
    wait_node_ready(node, record, timeout=120, context=fed.http_context())
    return record


def _kill_postgres(fed: Federation, node) -> None:
    pid = fed.postgres(node).postmaster_pid()
    if pid is None or process_start_ticks(pid) is None:
        return
    # The postmaster leads its own session (pg_ctl setsid()s it); its backends are its
    # children. Kill the group and any child outside it, as a power cut would.
    children = _children_of(pid)
    _quietly(os.killpg, pid, signal.SIGKILL)
    for child in children:
        _quietly(os.kill, child, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process_start_ticks(pid) is not None:
        time.sleep(0.05)


def _quietly(send, pid: int, sig: int) -> None:
    try:
        send(pid, sig)
    except ProcessLookupError:
        pass  # already gone: that is what we wanted


def _children_of(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _start_postgres(fed: Federation, node_id: str) -> None:
    node = node_spec(fed, node_id)
    cluster = fed.postgres(node)
    with fed.in_region(node.region):
        cluster.start(timeout=60)


def kill_node(fed: Federation, ledger: Ledger, target: str, params: dict) -> str:
    """SIGKILL a node (and, with with_db, its PostgreSQL): the town hall goes dark."""
    node = node_spec(fed, target)
    with_db = bool(params.get("with_db", True))
    entry = ledger.add("restart_node", node=target, with_db=with_db)
    record = fed.node_record(node)
    if record is not None:
        stop(record, timeout=0, first=signal.SIGKILL)
    if with_db:
        _kill_postgres(fed, node)
    return entry


def stop_node(fed: Federation, ledger: Ledger, target: str, params: dict) -> str:
    """Stop a node gracefully (SIGTERM, as an operator's restart does)."""
    node = node_spec(fed, target)
    entry = ledger.add("restart_node", node=target, with_db=False)
    record = fed.node_record(node)
    if record is not None:
        stop(record, timeout=30)
    return entry


def kill_db(fed: Federation, ledger: Ledger, target: str, params: dict) -> str:
    """SIGKILL a node's PostgreSQL while the node keeps running."""
    entry = ledger.add("restart_db", node=target)
    _kill_postgres(fed, node_spec(fed, target))
    return entry


def freeze_node(fed: Federation, ledger: Ledger, target: str, params: dict) -> str:
    """SIGSTOP a node's process group: it holds its sockets but answers nothing."""
    record = fed.node_record(node_spec(fed, target))
    if record is None:
        raise RuntimeError(f"node {target} is not running; cannot freeze it")
    entry = ledger.add("thaw", record=record.to_dict())
    os.killpg(record.pid, signal.SIGSTOP)
    return entry


def kill_brokers(fed: Federation, ledger: Ledger, target: str, params: dict) -> str:
    """SIGKILL one broker ("2") or several ("1,2,3" or "all")."""
    ids = list(fed.kafka.brokers) if target == "all" else [int(t) for t in str(target).split(",")]
    entry = ledger.add("restart_brokers", brokers=ids)
    for broker_id in ids:
        fed.kafka.kill_broker(broker_id)
    return entry


def wipe_broker(fed: Federation, ledger: Ledger, target: str, params: dict) -> str:
    """SIGKILL one broker and delete its data folder (the disk is lost).

    The undo formats empty storage with the cluster's id and starts the broker: it must
    rejoin the controller quorum and re-replicate every partition from the others.
    """
    broker_id = int(target)
    if broker_id not in fed.kafka.brokers:
        raise ValueError(f"no broker {broker_id} (have: {', '.join(map(str, fed.kafka.brokers))})")
    entry = ledger.add("restore_broker_disk", broker=broker_id)
    fed.kafka.kill_broker(broker_id)
    deadline = time.monotonic() + 10
    while fed.kafka.record(broker_id) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    shutil.rmtree(fed.kafka.broker_dir(broker_id) / "data", ignore_errors=True)
    return entry


def undo_restore_broker_disk(fed: Federation, entry: dict) -> None:
    fed.kafka.format()  # only unformatted storage: the wiped broker's, same cluster id
    undo_restart_brokers(fed, {"brokers": [entry["broker"]]})


def undo_restart_node(fed: Federation, entry: dict) -> None:
    if entry.get("with_db"):
        _start_postgres(fed, entry["node"])
    start_node(fed, entry["node"])


def undo_restart_db(fed: Federation, entry: dict) -> None:
    _start_postgres(fed, entry["node"])


def undo_thaw(fed: Federation, entry: dict) -> None:
    record = ProcessRecord.from_dict(entry["record"])
    if record.is_alive():  # only while the pid is still the process we froze
        os.killpg(record.pid, signal.SIGCONT)


def undo_restart_brokers(fed: Federation, entry: dict) -> None:
    """Start the brokers again, without waiting for them to listen.

    The fault ends when the broker is restarted; how long the JVM and log recovery take
    (20-40 s on a busy two-core machine) is the system's recovery, which the drill
    measures, not part of the fault. Waiting here would also hold up every later step of
    the schedule (a broker-lost drill once killed "all" 40 s late, after the workload).
    """
    for broker_id in entry["brokers"]:
        with fed.in_region(fed.kafka.brokers[broker_id].region):
            fed.kafka.start_broker(broker_id, wait=False)
    time.sleep(1.0)
    for broker_id in entry["brokers"]:
        if fed.kafka.record(broker_id) is None:
            raise RuntimeError(f"Kafka broker {broker_id} exited at once; see {fed.kafka.broker_dir(broker_id)}")


INJECT = {"kill_node": kill_node, "stop_node": stop_node, "kill_db": kill_db,
          "freeze_node": freeze_node, "kill_brokers": kill_brokers, "wipe_broker": wipe_broker}
UNDO = {"restart_node": undo_restart_node, "restart_db": undo_restart_db, "thaw": undo_thaw,
        "restart_brokers": undo_restart_brokers, "restore_broker_disk": undo_restore_broker_disk}
