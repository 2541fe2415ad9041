"""A real chaos drill end to end: a federation on free ports with each region in its own
network namespace, a short drill (a partition and a database crash under load), the
checker's verdict, and nothing left behind afterwards (namespaces, nftables tables,
stopped processes, the ledger).

Needs root (namespaces, nftables) and the federation's Java and PostgreSQL; about two
minutes on two cores.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from chaos import report, scenario
from chaos.drill import Drill
from chaos.faults.ledger import Ledger
from deploy import netns
from tests.support.federation import launched_federation

pytestmark = pytest.mark.integration

DRILL = """
title = "short drill (test)"
duration_s = 24
convergence_bound_s = 60
[workload]
counters_per_node = 1
kiosks_per_node = 1
max_requests = 1500
[[faults]]
kind = "partition"
target = "hokuriku"
at_s = 4
for_s = 10
[[faults]]
kind = "kill_db"
target = "rikuzentakata-1"
at_s = 8
for_s = 8
"""


def _ours_left() -> list[str]:
    """Namespaces and nftables tables of a federation or drill, in the root namespace."""
    left = [ns for ns in netns.namespaces() if ns.startswith("risai-")]
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    return left + [t for t in ("risai_net", "risai_chaos") if t in tables]


def _stopped_processes(run_dir: Path) -> list[str]:
    """The federation's processes in state T (stopped by a signal), e.g. a frozen node."""
    out = subprocess.run(["ps", "-eo", "pid=,stat=,args="], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.split()[1].startswith("T") and str(run_dir) in line]


@pytest.fixture
def federation():
    if os.geteuid() != 0 or shutil.which("nft") is None:
        pytest.skip("network namespaces and nftables need root and nft")
    if _ours_left():
        pytest.skip(f"another federation's namespaces or tables exist: {_ours_left()}")
    with launched_federation(use_netns=True) as fed:
        yield fed


def test_short_drill_holds_every_invariant_and_leaves_no_fault(federation, tmp_path):
    path = tmp_path / "short.toml"
    path.write_text(DRILL)
    sc = scenario.load(str(path))
    history, states, verdict = asyncio.run(Drill(federation, sc, say=lambda _: None).run())
    html = report.write(tmp_path / "report", sc, history, states, verdict)

    assert verdict.ok, [(i.name, i.problems[:3]) for i in verdict.failed()]
    assert {f.kind for f in history.faults} == {"partition", "kill_db"}
    issued = [op for op in history.ops if op.op == "issue" and op.acknowledged]
    assert len(issued) >= 10, "the workload issued too few certificates to mean anything"
    during = verdict.availability["rikuzentakata-1"]["during"]
    assert during < 1.0, "killing a node's database must show in its availability"
    assert verdict.convergence_s is not None and verdict.convergence_s <= sc.convergence_bound_s
    assert "<svg" in html.read_text() and (html.parent / "report.json").exists()

    # No fault left in place: the ledger is empty, the only nftables table is the
    # federation's own NAT, nothing is stopped, and every process answers.
    assert Ledger.for_run_dir(federation.run_dir).entries() == []
    for region in federation.layout.regions:
        tables = netns.run(["nft", "list", "tables"], ns=region.ns)
        assert "risai_chaos" not in tables, region.ns
    assert _stopped_processes(federation.run_dir) == []
    assert all(row["pid"] for row in federation.status())

    federation.down(say=lambda _: None)
    assert _ours_left() == [], "down must remove the namespaces and every table"
