"""`risai-chaos list | run NAME | campaign | cleanup`: chaos drills against a running federation.

Exit status: 0 when every invariant held, 1 when one failed, 2 when the drill could not
run (no federation, a bad scenario, a fault that could not be undone), 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from pathlib import Path

from chaos import faults, report, scenario
from chaos.campaign import run_campaign
from chaos.drill import Drill, report_dir_for
from chaos.faults.ledger import Ledger
from deploy.federation_spec import DEFAULT_FILE, load_spec
from deploy.launcher import Federation


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="risai-chaos", description="Chaos drills for the federation.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the scenarios")
    run = sub.add_parser("run", help="run one scenario against a running federation")
    run.add_argument("name")
    camp = sub.add_parser("campaign", help="every scenario N times, one after-action report")
    camp.add_argument("--runs", type=int, default=3, help="runs per scenario (default 3)")
    camp.add_argument("--scenarios", default="", help="comma-separated names (default: all)")
    camp.add_argument("--trend", type=Path, default=None,
                      help="trend file to append to (default: REPORT_DIR/trend.json)")
    clean = sub.add_parser("cleanup", help="undo every fault a drill left in place")
    for p in (run, clean, camp):
        p.add_argument("--run-dir", type=Path, default=Path("run"))
        p.add_argument("--config", type=Path, default=DEFAULT_FILE)
    for p in (run, camp):
        p.add_argument("--report-dir", type=Path, default=Path("chaos-reports"))
    return parser.parse_args(argv)


def _list() -> int:
    for name in scenario.names():
        sc = scenario.load(name)
        kinds = ", ".join(sorted({f.kind for f in sc.faults}))
        print(f"{name:<22} {sc.duration_s:>4.0f}s  {sc.title}  [{kinds}]")
    return 0


async def _run_drill(drill: Drill):
    """Run the drill as a task that SIGINT/SIGTERM cancel; its finally undoes the faults."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    interrupted = []

    def stop(signame: str) -> None:
        if not interrupted:
            drill.say(f"{signame}: stopping the drill and undoing its faults …")
            task.cancel()
        interrupted.append(signame)  # a second Ctrl-C must not cut the cleanup short
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop, sig.name)
    try:
        return await drill.run()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _run(args: argparse.Namespace) -> int:
    sc = scenario.load(args.name)
    fed = Federation(load_spec(args.config), args.run_dir)
    drill = Drill(fed, sc)
    try:
        history, states, verdict = asyncio.run(_run_drill(drill))
    except asyncio.CancelledError:
        print("drill interrupted; every fault was undone", file=sys.stderr)
        return 130
    html = report.write(report_dir_for(args.report_dir, sc), sc, history, states, verdict)
    for inv in verdict.invariants:
        print(f"{'PASS' if inv.ok else 'FAIL'}  {inv.name}")
        for problem in inv.problems[:10]:
            print(f"        {problem}")
    for node, a in verdict.availability.items():
        print(f"availability {node:<18} during {a['during']:.1%}  outside {a['outside']:.1%}  ({int(a['requests'])} requests)")
    conv = "never" if verdict.convergence_s is None else f"{verdict.convergence_s:.1f}s"
    print(f"converged: {conv} (bound {sc.convergence_bound_s:.0f}s)\nreport: {html}")
    return 0 if verdict.ok else 1


def _campaign(args: argparse.Namespace) -> int:
    names = [n for n in args.scenarios.split(",") if n] or scenario.names()
    scenarios = [scenario.load(n) for n in names]
    if args.runs < 1:
        raise scenario.ScenarioError("--runs must be at least 1")
    fed = Federation(load_spec(args.config), args.run_dir)
    out = args.report_dir / f"campaign-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        data = run_campaign(fed, scenarios, args.runs, out, args.trend or args.report_dir / "trend.json",
                            drill_runner=_run_drill)
    except asyncio.CancelledError:
        print(f"campaign interrupted; every fault was undone; partial report in {out}", file=sys.stderr)
        return 130
    print(f"{data['verdict']['ja']}\n{data['verdict']['en']}")
    for r in data["scenarios"]:
        lo = min((a["min"] for a in r["availability"].values() if a["min"] is not None), default=None)
        median = r["convergence_s"]["median"]
        lo_text = "-" if lo is None else f"{lo:.1%}"
        conv_text = "-" if median is None else f"{median:.1f}s"
        print(f"{r['scenario']:<22} {r['passed']}/{r['runs']} passed  min availability {lo_text}"
              f"  convergence median {conv_text}")
    print(f"report: {out / 'campaign.html'}")
    return 0 if data["verdict"]["ok"] else 1


def _cleanup(args: argparse.Namespace) -> int:
    fed = Federation(load_spec(args.config), args.run_dir)
    ledger = Ledger.for_run_dir(fed.run_dir)
    entries = ledger.entries()
    failures = faults.heal_all(fed, ledger)
    print(f"undid {len(entries) - len(failures)} fault(s)" + (f"; failed: {failures}" if failures else ""))
    return 2 if failures else 0


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        if args.command == "list":
            return _list()
        if args.command == "cleanup":
            return _cleanup(args)
        if args.command == "campaign":
            return _campaign(args)
        return _run(args)
    except (scenario.ScenarioError, RuntimeError) as exc:
        print(f"risai-chaos: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
