"""Clock skew: restart one node under libfaketime, minutes ahead or behind.

Only the wall clock is skewed (FAKETIME_DONT_FAKE_MONOTONIC): asyncio's timers and the
node's timeouts run on the monotonic clock, as they would on a real machine whose NTP is
off. The node's HLC, certificate timestamps and validity checks all see the skewed time.
Healing restarts the node without faketime.
"""

from __future__ import annotations

import signal
from pathlib import Path

from chaos.faults.ledger import Ledger
from chaos.faults.process import node_spec, start_node
from deploy.launcher import Federation
from deploy.processes import stop

LIBFAKETIME = ("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
               "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1")


def libfaketime() -> str:
    for path in LIBFAKETIME:
        if Path(path).exists():
            return path
    raise RuntimeError("libfaketime not found; install it with: apt-get install -y faketime")


def faketime_env(offset_s: int) -> dict[str, str]:
    """Environment that shifts a process's wall clock by offset_s seconds."""
    return {"LD_PRELOAD": libfaketime(), "FAKETIME": f"{offset_s:+d}s",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1", "FAKETIME_NO_CACHE": "1"}


def skew_clock(fed: Federation, ledger: Ledger, target: str, params: dict) -> str:
    """Restart a node with its wall clock offset_s seconds off (negative: behind)."""
    offset = int(params.get("offset_s", 300))
    node = node_spec(fed, target)
    entry = ledger.add("unskew", node=target, offset_s=offset)
    record = fed.node_record(node)
    if record is not None:
        stop(record, timeout=30, first=signal.SIGTERM)
    start_node(fed, target, env=faketime_env(offset))
    return entry


def undo_unskew(fed: Federation, entry: dict) -> None:
    node = node_spec(fed, entry["node"])
    record = fed.node_record(node)
    if record is not None:
        stop(record, timeout=30, first=signal.SIGTERM)
    start_node(fed, entry["node"])


INJECT = {"clock_skew": skew_clock}
UNDO = {"unskew": undo_unskew}
