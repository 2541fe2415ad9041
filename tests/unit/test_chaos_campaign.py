"""The campaign's after-action report: aggregation over runs, verdict, trend (pure)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from chaos import aar, aar_html, scenario
from chaos.checker import Invariant, Verdict
from chaos.history import FAILED, OK, REJECTED, Fault, History, Op

SC = scenario.load("database-crash")
NODES = ("mashiki-1", "wajima-1")


def _history(outage: tuple[float, float] | None = None, cert: str = "C-1") -> History:
    """Requests every second at both nodes for 40 s; mashiki-1 fails inside ``outage``."""
    ops = []
    for t in range(40):
        for node in NODES:
            down = outage is not None and node == "mashiki-1" and outage[0] <= t < outage[1]
            ops.append(Op("c", node, "issue", t, t + 0.5, FAILED if down else OK,
                          certificate=None if down else f"{cert}-{node}-{t}", detail="acknowledged"))
    ops.append(Op("c", "wajima-1", "apply", 5, 5.2, REJECTED, 409))
    return History(ops=ops, faults=[Fault("kill_db:mashiki-1", "kill_db", "mashiki-1", 10, 22)],
                   marks={"healed": 22, "quiesced": 40, "converged": 45})


def _verdict(avail: dict[str, float], conv: float | None, problems: tuple[str, ...] = ()) -> Verdict:
    return Verdict((Invariant(aar.ACKNOWLEDGED, not problems, problems),
                    Invariant("all nodes converge", True)),
                   {n: {"during": a, "outside": 1.0, "requests": 40.0} for n, a in avail.items()},
                   conv)


def _runs():
    h1, h2 = _history((10, 14)), _history((10, 20), cert="D-1")
    lost = ("acknowledged certificate D-1-wajima-1-12 (issued by wajima-1 at t=12.0s) is missing "
            "on mashiki-1",)
    return [aar.summarise_run(SC, 1, h1, _verdict({"mashiki-1": 0.6, "wajima-1": 1.0}, 5.0)),
            aar.summarise_run(SC, 2, h2, _verdict({"mashiki-1": 0.2, "wajima-1": 1.0}, 9.0, lost)),
            aar.summarise_run(SC, 3, h1, _verdict({"mashiki-1": 0.5, "wajima-1": 0.9}, 7.0))], h2


def test_longest_outage_runs_from_the_last_answer_to_the_next():
    # mashiki-1 failed 10..13 and answered again at 14 (the answer ends at 14.5); the
    # outage is counted from the fault's start at 10, not from its last answer at 9.5.
    assert aar.longest_outage(_history((10, 14)), since=10) == pytest.approx(4.5)
    assert aar.longest_outage(_history((10, 14)), since=0) == pytest.approx(5.0)
    assert aar.longest_outage(_history(None), since=10) == 0.0
    # An outage that never ends lasts until the node's last request.
    assert aar.longest_outage(_history((30, 99)), since=10) == pytest.approx(39.5 - 29.5)


def test_aggregate_gives_min_median_max_per_node_and_the_worst_run():
    runs, _ = _runs()
    [row] = aar.aggregate(runs, {SC.name: SC})
    assert row["runs"] == 3 and row["passed"] == 2 and not row["ok"]
    assert row["availability"]["mashiki-1"] == {"min": 0.2, "median": 0.5, "max": 0.6}
    assert row["availability"]["wajima-1"] == {"min": 0.9, "median": 1.0, "max": 1.0}
    assert row["convergence_s"] == {"min": 5.0, "median": 7.0, "max": 9.0}
    assert row["rto"]["target_s"] == SC.convergence_bound_s
    assert (row["rto"]["min"], row["rto"]["median"], row["rto"]["max"]) == (4.5, 4.5, 10.5)
    assert row["rpo"] == {"target": 0, "measured_max": 1}
    assert row["invariants"][aar.ACKNOWLEDGED] == {"held": 2, "checked": 3}
    assert row["worst_run"] == 2
    assert row["issued"] == sum(r.issued for r in runs) and row["pending"] == 0
    [ev] = row["evidence"]
    assert (ev["run"], ev["node"], ev["t"]) == (2, "wajima-1", 12)
    assert ev["request"] == "issue D-1-wajima-1-12"


def test_verdict_names_what_failed_japanese_first():
    runs, _ = _runs()
    rows = aar.aggregate(runs, {SC.name: SC})
    v = aar.verdict(rows)
    assert not v["ok"] and v["failed"] == ["database-crash"] and v["ja"].startswith("不合格")
    good = aar.aggregate([runs[0], runs[2]], {SC.name: SC})
    assert aar.verdict(good)["ok"] and aar.verdict(good)["ja"].startswith("合格")
    assert not aar.verdict([])["ok"]


def test_a_run_that_could_not_run_counts_as_failed():
    rows = aar.aggregate([aar.failed_run(SC, 1, "not healthy")], {SC.name: SC})
    assert rows[0]["passed"] == 0 and rows[0]["errors"] == ["run 1: not healthy"]
    assert rows[0]["convergence_s"]["median"] is None


async def test_a_drill_whose_heal_failed_is_a_failed_run_and_the_campaign_goes_on(tmp_path):
    # The rolling-restart drill's heal raised DeployError (a node not ready in 120 s) and the
    # whole campaign ended there, 20 runs of 36 in.
    from types import SimpleNamespace

    from chaos.campaign import Campaign
    from deploy.processes import DeployError

    fed = SimpleNamespace(run_dir=tmp_path / "run", spec=SimpleNamespace(path="federation.toml"))
    tried = []

    async def runner(drill):
        tried.append(drill.scenario.name)
        raise DeployError("node rikuzentakata-1 not ready after 120s: no answer")
    other = scenario.load("disk-full")
    data = await Campaign(fed, [SC, other], 2, tmp_path / "out", tmp_path / "trend.json",
                          say=lambda _: None).run(runner)
    assert tried == [SC.name, other.name, SC.name, other.name]
    assert [r["ok"] for r in data["runs"]] == [False] * 4
    assert data["runs"][0]["error"] == "DeployError: node rikuzentakata-1 not ready after 120s: no answer"
    assert not data["verdict"]["ok"] and (tmp_path / "out" / "campaign.html").exists()


def test_trend_says_better_worse_same_or_new():
    runs, _ = _runs()
    before = aar.trend_entry("c1", aar.aggregate(runs, {SC.name: SC}))
    after = aar.trend_entry("c2", aar.aggregate([runs[0], runs[2]], {SC.name: SC}))
    changes = aar.trend(before, after)[SC.name]
    assert changes["availability_min"] == "better"  # 0.2 -> 0.5
    assert changes["convergence_median_s"] == "better"  # 7.0 -> 6.0
    assert changes["passed"] == "same"  # 2 of 3 -> 2 of 2
    assert aar.trend(None, after)[SC.name]["passed"] == "new"
    worse = aar.trend(after, before)[SC.name]
    assert worse["availability_min"] == "worse" and worse["rto_max_s"] == "worse"


def test_html_report_has_verdict_first_loss_evidence_and_a_timeline():
    runs, worst = _runs()
    rows = aar.aggregate(runs, {SC.name: SC})
    data = {"campaign": "c2", "started_jst": "2026-12-01 18:00 JST", "federation": "f.toml",
            "runs_per_scenario": 3, "took_s": 600, "verdict": aar.verdict(rows), "scenarios": rows,
            "trend": aar.trend(None, aar.trend_entry("c2", rows)), "previous": None,
            "not_run": ["duplicate-across-partition"]}
    json.dumps(data)  # the campaign.json is this data
    html = aar_html.render(data, {SC.name: worst})
    body = html[html.index("<body>"):]
    assert body.index("不合格") < body.index("FAIL: invariants") < body.index("Summary")
    assert "D-1-wajima-1-12" in html and "0.2" not in body.split("Summary")[0]
    assert "20.0% / 50.0% / 60.0%" in html
    svg = ET.fromstring(html[html.index("<svg"):html.index("</svg>") + 6])
    assert svg.get("id") == "timeline"
    assert "duplicate-across-partition" in html
