"""Drill reports: report.json (everything) and report.html (one self-contained page with an
inline SVG timeline of faults, request outcomes per node and replication lag)."""

from __future__ import annotations

import dataclasses
import json
import math
from html import escape
from pathlib import Path

from chaos.checker import NodeState, Verdict
from chaos.history import FAILED, OK, REJECTED, History
from chaos.observe import OUTBOX
from chaos.scenario import Scenario

WIDTH, LEFT, LANE = 960, 150, 26
COLOURS = {OK: "#2e7d32", REJECTED: "#f9a825", FAILED: "#c62828"}
STYLE = """
body{font-family:sans-serif;margin:1.5em;color:#222} table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:3px 8px;vertical-align:top;font-size:13px}
.pass{color:#2e7d32;font-weight:bold} .fail{color:#c62828;font-weight:bold}
.lab{font-size:12px} .flab{font-size:11px;fill:#fff} .fault{fill:#8e24aa;opacity:.8}
.tick{stroke:#eee} .tl{font-size:10px;fill:#666} .tr{font-size:10px;fill:#666;text-anchor:end}
.frame{fill:none;stroke:#ccc}"""


def to_json(scenario: Scenario, history: History, states: list[NodeState], verdict: Verdict) -> dict:
    return {
        "scenario": dataclasses.asdict(scenario), "ok": verdict.ok,
        "invariants": [dataclasses.asdict(i) for i in verdict.invariants],
        "availability": verdict.availability, "convergence_s": verdict.convergence_s,
        "nodes": {s.node: {"digest": s.digest, "rows": s.rows, "certificates": len(s.certificates),
                           "conflicts": sorted(s.conflicts)} for s in states},
        "requests": len(history.ops), "history": history.to_json(),
    }


def write(out_dir: Path, scenario: Scenario, history: History, states: list[NodeState],
          verdict: Verdict) -> Path:
    """Write report.json, report.html and history.json; returns the HTML path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = to_json(scenario, history, states, verdict)
    (out_dir / "report.json").write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str))
    history.save(out_dir / "history.json")
    html = out_dir / "report.html"
    html.write_text(render_html(scenario, history, verdict))
    return html


def _x(t: float, span: float) -> float:
    return LEFT + (WIDTH - LEFT - 10) * (t / span if span else 0)


def timeline_svg(history: History, nodes: list[str], span: float) -> str:
    """Fault bars, one lane of request outcomes per node, and a lag chart per node."""
    rows = ['<text x="4" y="16" class="lab">faults</text>']
    y = 24
    for f in history.faults:
        x0, x1 = _x(f.start, span), _x(f.end if f.end is not None else span, span)
        rows.append(f'<rect x="{x0:.1f}" y="{y}" width="{max(2, x1 - x0):.1f}" height="16" class="fault">'
                    f'<title>{escape(f.name)} {escape(f.detail)} {f.start:.1f}–{(f.end or span):.1f}s</title></rect>'
                    f'<text x="{x0 + 3:.1f}" y="{y + 12}" class="flab">{escape(f.name)}</text>')
        y += 20
    y += 8
    for node in nodes:
        rows.append(f'<text x="4" y="{y + 14}" class="lab">{escape(node)}</text>')
        for op in (o for o in history.ops if o.node == node):
            x0, x1 = _x(op.start, span), _x(op.end, span)
            rows.append(f'<rect x="{x0:.1f}" y="{y + 2}" width="{max(1.0, x1 - x0):.1f}" height="{LANE - 8}" '
                        f'fill="{COLOURS.get(op.outcome, "#999")}" opacity="0.55">'
                        f'<title>{escape(op.op)} {escape(op.outcome)} {op.status or ""} {escape(op.detail)}</title></rect>')
        y += LANE
    y += 10
    consumer = [s for s in history.lag if s.origin != OUTBOX]
    outbox = [s for s in history.lag if s.origin == OUTBOX]
    for label, samples, what in (("consumer lag", consumer, "offsets behind, summed over origins"),
                                 ("outbox", outbox, "rows not yet acknowledged by Kafka")):
        rows.append(f'<text x="4" y="{y + 12}" class="lab">{label}</text>'
                    f'<text x="4" y="{y + 26}" class="tl">{what}</text>')
        rows.append(_series_chart(samples, nodes, span, y, 70, what))
        y += 90
    ticks = "".join(f'<line x1="{_x(t, span):.1f}" y1="0" x2="{_x(t, span):.1f}" y2="{y}" class="tick"/>'
                    f'<text x="{_x(t, span) + 2:.1f}" y="{y + 12}" class="tl">{t:.0f}s</text>'
                    for t in range(0, int(span) + 1, max(5, int(span // 12) or 1)))
    return (f'<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{y + 20}" '
            f'viewBox="0 0 {WIDTH} {y + 20}">{ticks}{"".join(rows)}</svg>')


def _series_chart(samples: list, nodes: list[str], span: float, top: float, height: float,
                  what: str) -> str:
    """One line per node: the samples' values at each time, summed (e.g. over origins)."""
    per_node: dict[str, dict[float, float]] = {n: {} for n in nodes}
    for s in samples:
        per_node.setdefault(s.node, {})
        per_node[s.node][s.t] = per_node[s.node].get(s.t, 0.0) + s.lag
    peak = max([v for pts in per_node.values() for v in pts.values()] + [1.0])
    palette = ["#1565c0", "#6a1b9a", "#00838f", "#ef6c00", "#4e342e"]
    out = [f'<rect x="{LEFT}" y="{top}" width="{WIDTH - LEFT - 10}" height="{height}" class="frame"/>',
           f'<text x="{LEFT - 4}" y="{top + 10}" class="tr">{peak:.0f}</text>',
           f'<text x="{LEFT - 4}" y="{top + height}" class="tr">0</text>']
    for i, node in enumerate(nodes):
        pts = sorted(per_node.get(node, {}).items())
        if pts:
            path = " ".join(f"{_x(t, span):.1f},{top + height - height * v / peak:.1f}" for t, v in pts)
            out.append(f'<polyline points="{path}" fill="none" stroke="{palette[i % 5]}" stroke-width="1.5">'
                       f'<title>{escape(node)}: {escape(what)}</title></polyline>')
        out.append(f'<text x="{LEFT + 6 + 130 * i}" y="{top + height + 10}" fill="{palette[i % 5]}" '
                   f'class="tl">— {escape(node)}</text>')
    return "".join(out)


def _fmt(v: float | None) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f}%"


def render_html(scenario: Scenario, history: History, verdict: Verdict) -> str:
    nodes = sorted({o.node for o in history.ops} | set(verdict.availability))
    span = max([o.end for o in history.ops] + [f.end or f.start for f in history.faults] +
               [history.marks.get("converged", 0.0), scenario.duration_s, 1.0])
    inv = "".join(f'<tr><td class="{"pass" if i.ok else "fail"}">{"PASS" if i.ok else "FAIL"}</td>'
                  f'<td>{escape(i.name)}</td><td>{"<br>".join(escape(p) for p in i.problems[:20])}</td></tr>'
                  for i in verdict.invariants)
    avail = "".join(f'<tr><td>{escape(n)}</td><td>{_fmt(a.get("during"))}</td><td>{_fmt(a.get("outside"))}</td>'
                    f'<td>{int(a.get("requests", 0))}</td></tr>' for n, a in verdict.availability.items())
    faults = "".join(f"<li>{escape(f.name)} ({escape(f.kind)}) {f.start:.1f}s – {(f.end or 0):.1f}s "
                     f"{escape(f.detail)}</li>" for f in history.faults)
    conv = "never" if verdict.convergence_s is None else f"{verdict.convergence_s:.1f}s"
    return f"""<!doctype html><html lang="ja"><head><meta charset="utf-8">
<title>防災訓練レポート: {escape(scenario.title)}</title><style>{STYLE}</style></head><body>
<h1>{escape(scenario.title)} <span class="{"pass" if verdict.ok else "fail"}">{"PASS" if verdict.ok else "FAIL"}</span></h1>
<p>{escape(scenario.description)}</p>
<p>scenario <code>{escape(scenario.name)}</code>; {len(history.ops)} requests; converged {conv} after the
last fault was undone and the workload stopped (bound {scenario.convergence_bound_s:.0f}s).</p>
<h2>Faults</h2><ul>{faults}</ul>
<h2>Timeline</h2><p>green: answered; amber: refused (4xx); red: unavailable (5xx, refused, timeout).</p>
{timeline_svg(history, nodes, span)}
<h2>Invariants</h2><table><tr><th></th><th>invariant</th><th>problems</th></tr>{inv}</table>
<h2>Availability</h2><table><tr><th>node</th><th>during faults</th><th>outside faults</th><th>requests</th></tr>{avail}</table>
</body></html>
"""
