"""A campaign's after-action report (NIST SP 800-84 shape), as plain data (pure).

A campaign runs every scenario several times. Each run is summarised here into a
``RunResult`` (from its history and verdict); ``aggregate`` turns the runs into one row
per scenario (target and measured RPO and RTO, availability per node with min / median /
max over the runs, time to converge, invariants, what was lost); ``trend`` compares the
campaign with the previous one. No I/O: chaos/campaign.py runs the drills and writes
the files, chaos/aar_html.py renders the page.

Definitions (per run):
* RPO measured: acknowledged certificates missing on some node after healing (target 0).
* RTO measured: the longest time any node answered nothing (from its last answer before
  a failed request to its next answer), counted from the first fault on.
* Availability: the checker's share of requests answered during the fault window.
"""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import asdict, dataclass, field
from typing import Iterable

from chaos.checker import Verdict
from chaos.history import FAILED, History
from chaos.scenario import Scenario

ACKNOWLEDGED = "no acknowledged certificate lost"  # chaos.checker.acknowledged_everywhere


@dataclass(frozen=True)
class Evidence:
    """The first sign of a failed invariant: which request, at which node, when."""

    invariant: str
    problem: str
    request: str | None = None
    node: str | None = None
    t: float | None = None


@dataclass(frozen=True)
class RunResult:
    scenario: str
    run: int
    ok: bool
    invariants: tuple[tuple[str, bool], ...] = ()
    availability: dict[str, float] = field(default_factory=dict)  # per node, during the fault
    convergence_s: float | None = None
    rto_s: float = 0.0
    lost: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    issued: int = 0
    pending: int = 0
    error: str | None = None  # the drill could not run (the message)


def _finite(x: float | None) -> bool:
    return x is not None and not math.isnan(x)


def longest_outage(history: History, since: float) -> float:
    """The longest stretch, from ``since`` on, in which one node answered nothing."""
    worst = 0.0
    for node in {op.node for op in history.ops}:
        ops = sorted((o for o in history.ops if o.node == node), key=lambda o: o.start)
        last_answer, down_since = since, None
        for op in ops:
            if op.outcome == FAILED:
                if op.start >= since and down_since is None:
                    down_since = max(last_answer, since)
            else:
                if down_since is not None:
                    worst = max(worst, op.end - down_since)
                    down_since = None
                last_answer = op.end
        if down_since is not None and ops:
            worst = max(worst, max(o.end for o in ops) - down_since)
    return worst


def first_evidence(name: str, problems: Iterable[str], history: History) -> Evidence:
    """The first problem of a failed invariant, tied to the earliest request it names."""
    problems = list(problems)
    problem = problems[0] if problems else "(no detail)"
    tokens = set(re.findall(r"[\w:.-]{6,}", problem))
    named = [o for o in history.ops
             if (o.certificate and o.certificate in tokens) or (o.entity and o.entity in tokens)]
    if not named:
        return Evidence(name, problem)
    op = min(named, key=lambda o: o.start)
    what = f"{op.op} {op.certificate or op.entity or ''}".strip()
    return Evidence(name, problem, what, op.node, round(op.start, 1))


def summarise_run(scenario: Scenario, run: int, history: History, verdict: Verdict) -> RunResult:
    """One drill's figures for the campaign."""
    window = history.fault_window()
    since = window[0] if window else 0.0
    lost = next((i.problems for i in verdict.invariants if i.name == ACKNOWLEDGED), ())
    issued = [o for o in history.ops if o.op == "issue" and o.outcome == "ok"]
    return RunResult(
        scenario=scenario.name, run=run, ok=verdict.ok,
        invariants=tuple((i.name, i.ok) for i in verdict.invariants),
        availability={n: a["during"] for n, a in verdict.availability.items()},
        convergence_s=verdict.convergence_s, rto_s=round(longest_outage(history, since), 1),
        lost=tuple(lost), issued=len(issued),
        pending=sum(1 for o in issued if o.detail == "pending"),
        evidence=tuple(first_evidence(i.name, i.problems, history) for i in verdict.failed()))


def failed_run(scenario: Scenario, run: int, error: str) -> RunResult:
    """A run whose drill could not run at all (it counts as failed)."""
    return RunResult(scenario=scenario.name, run=run, ok=False, error=error)


def spread(values: Iterable[float | None]) -> dict[str, float | None]:
    """min / median / max of the finite values (None when there are none)."""
    xs = [float(v) for v in values if _finite(v)]
    if not xs:
        return {"min": None, "median": None, "max": None}
    return {"min": min(xs), "median": statistics.median(xs), "max": max(xs)}


def worst_run(runs: list[RunResult]) -> RunResult:
    """Failed runs first, then the lowest availability, then the slowest convergence."""
    def badness(r: RunResult) -> tuple:
        avail = [a for a in r.availability.values() if _finite(a)]
        conv = r.convergence_s if r.convergence_s is not None else math.inf
        return (not r.ok, -(min(avail) if avail else 0.0), conv)
    return max(runs, key=badness)


def aggregate(runs: list[RunResult], scenarios: dict[str, Scenario]) -> list[dict]:
    """One row per scenario, in the order the scenarios first ran."""
    rows = []
    for name in dict.fromkeys(r.scenario for r in runs):
        mine = [r for r in runs if r.scenario == name]
        sc = scenarios[name]
        nodes = sorted({n for r in mine for n in r.availability})
        invariants: dict[str, list[int]] = {}
        for r in mine:
            for inv, ok in r.invariants:
                tally = invariants.setdefault(inv, [0, 0])
                tally[0] += ok
                tally[1] += 1
        rows.append({
            "scenario": name, "title": sc.title, "runs": len(mine),
            "passed": sum(r.ok for r in mine), "ok": all(r.ok for r in mine),
            "rpo": {"target": 0, "measured_max": max(len(r.lost) for r in mine)},
            "rto": {"target_s": sc.convergence_bound_s, **spread(r.rto_s for r in mine)},
            "availability": {n: spread(r.availability.get(n) for r in mine) for n in nodes},
            "convergence_s": spread(r.convergence_s for r in mine),
            "invariants": {inv: {"held": t[0], "checked": t[1]} for inv, t in invariants.items()},
            "lost": sorted({x for r in mine for x in r.lost}),
            "evidence": [asdict(e) | {"run": r.run} for r in mine for e in r.evidence],
            "errors": [f"run {r.run}: {r.error}" for r in mine if r.error],
            "issued": sum(r.issued for r in mine), "pending": sum(r.pending for r in mine),
            "worst_run": worst_run(mine).run,
        })
    return rows


def verdict(rows: list[dict]) -> dict:
    """The line at the top of the report."""
    failed = [r["scenario"] for r in rows if not r["ok"]]
    lost = sum(len(r["lost"]) for r in rows)
    if not rows:
        return {"ok": False, "ja": "実施なし", "en": "nothing ran", "failed": []}
    if not failed:
        return {"ok": True, "ja": "合格：全シナリオ・全回で不変条件を満たし、確認済みデータの損失なし",
                "en": "PASS: every invariant held in every run; no acknowledged data lost",
                "failed": []}
    return {"ok": False,
            "ja": f"不合格：{len(failed)} シナリオで不変条件違反（確認済み証明書の欠落 {lost} 件）",
            "en": f"FAIL: invariants failed in {len(failed)} scenario(s) ({lost} acknowledged "
                  "certificate(s) missing)", "failed": failed}


def trend_entry(campaign_id: str, rows: list[dict]) -> dict:
    """What the trend file keeps of one campaign: per scenario the figures to compare."""
    return {"campaign": campaign_id, "scenarios": {r["scenario"]: {
        "passed": r["passed"], "runs": r["runs"],
        "availability_min": min((a["min"] for a in r["availability"].values()
                                 if a["min"] is not None), default=None),
        "convergence_median_s": r["convergence_s"]["median"],
        "rto_max_s": r["rto"]["max"]} for r in rows}}


def trend(previous: dict | None, current: dict) -> dict[str, dict[str, str]]:
    """Per scenario and figure: 'better', 'worse', 'same' or 'new' against the previous campaign."""
    out: dict[str, dict[str, str]] = {}
    higher_is_better = {"passed": True, "availability_min": True,
                        "convergence_median_s": False, "rto_max_s": False}
    for name, figures in current["scenarios"].items():
        before = (previous or {}).get("scenarios", {}).get(name)
        out[name] = {}
        for key, up_good in higher_is_better.items():
            now, then = figures.get(key), (before or {}).get(key)
            if before is None or now is None or then is None:
                out[name][key] = "new"
            elif math.isclose(now, then, rel_tol=0.05, abs_tol=0.05):
                out[name][key] = "same"
            else:
                out[name][key] = "better" if (now > then) == up_good else "worse"
    return out
