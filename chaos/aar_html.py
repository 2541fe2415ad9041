"""The campaign's after-action report as one self-contained HTML page (Japanese first).

Shape after NIST SP 800-84's after-action report: the verdict at the top, then per
scenario the objective (target RPO and RTO) against what was measured, availability
per node over the runs, time to converge, the invariants checked, what was lost, the
first evidence of every failure, the trend against the previous campaign, and a timeline
of the worst run of each scenario.
"""

from __future__ import annotations

from html import escape

from chaos import report
from chaos.history import History

ARROWS = {"better": "▲ 改善 better", "worse": "▼ 悪化 worse", "same": "＝ 同等 same", "new": "– 初回 new"}


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def _s(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}s"


def _spread(sp: dict, fmt=_s) -> str:
    return f"{fmt(sp['min'])} / {fmt(sp['median'])} / {fmt(sp['max'])}"


def _summary_rows(rows: list[dict]) -> str:
    out = []
    for r in rows:
        avail = "<br>".join(f"{escape(n)}: {_spread(a, _pct)}" for n, a in r["availability"].items())
        invs = "<br>".join(f"{escape(k)}: {v['held']}/{v['checked']}" for k, v in r["invariants"].items())
        ok = '<span class="pass">合格 PASS</span>' if r["ok"] else '<span class="fail">不合格 FAIL</span>'
        out.append(
            f"<tr><td>{ok}</td><td><b>{escape(r['scenario'])}</b><br>{escape(r['title'])}</td>"
            f"<td>{r['passed']}/{r['runs']}</td>"
            f"<td>目標 target {r['rpo']['target']}<br>実績 measured {r['rpo']['measured_max']}</td>"
            f"<td>目標 target {_s(r['rto']['target_s'])}<br>実績 measured {_spread(r['rto'])}</td>"
            f"<td>{avail}</td><td>{_spread(r['convergence_s'])}</td><td>{invs}</td>"
            f"<td>{r['issued']} ({r['pending']} pending)</td></tr>")
    return "".join(out)


def _lost(rows: list[dict]) -> str:
    lost = [(r["scenario"], x) for r in rows for x in r["lost"]]
    if not lost:
        return "<p><b>なし</b> — 確認済み（acknowledged）の証明書は一件も失われていません。 / <b>Nothing</b>: no acknowledged certificate was lost.</p>"
    return "<ul>" + "".join(f"<li>{escape(s)}: {escape(x)}</li>" for s, x in lost) + "</ul>"


def _evidence(rows: list[dict]) -> str:
    items = [(r["scenario"], e) for r in rows for e in r["evidence"]]
    errors = [(r["scenario"], x) for r in rows for x in r["errors"]]
    if not items and not errors:
        return "<p>違反なし / no invariant failed.</p>"
    body = "".join(
        f"<tr><td>{escape(s)}</td><td>{e['run']}</td><td>{escape(e['invariant'])}</td>"
        f"<td>{escape(e['request'] or '–')}</td><td>{escape(e['node'] or '–')}</td>"
        f"<td>{_s(e['t'])}</td><td>{escape(e['problem'])}</td></tr>" for s, e in items)
    errs = "".join(f"<li>{escape(s)} {escape(x)}</li>" for s, x in errors)
    return ("<table><tr><th>シナリオ scenario</th><th>回 run</th><th>不変条件 invariant</th>"
            "<th>要求 request</th><th>ノード node</th><th>時刻 time</th><th>内容 problem</th></tr>"
            f"{body}</table>" + (f"<p>実行できなかった回 / runs that could not run:</p><ul>{errs}</ul>" if errs else ""))


def _trend(changes: dict[str, dict[str, str]], previous_id: str | None) -> str:
    if previous_id is None:
        return "<p>初回のキャンペーン（比較対象なし） / first campaign: nothing to compare with.</p>"
    body = "".join(f"<tr><td>{escape(name)}</td>" + "".join(f"<td>{ARROWS[c[k]]}</td>" for k in
                   ("passed", "availability_min", "convergence_median_s", "rto_max_s")) + "</tr>"
                   for name, c in changes.items())
    return (f"<p>前回 previous: <code>{escape(previous_id)}</code></p><table><tr><th>scenario</th>"
            "<th>合格回数 runs passed</th><th>最低可用性 min availability</th>"
            f"<th>収束 median convergence</th><th>最長停止 max RTO</th></tr>{body}</table>")


def render(data: dict, worst: dict[str, History]) -> str:
    """The page for campaign ``data`` (campaign.to_json), with the worst runs' histories."""
    v = data["verdict"]
    cls = "pass" if v["ok"] else "fail"
    timelines = []
    for r in data["scenarios"]:
        history = worst.get(r["scenario"])
        if history is None or not history.ops:
            continue
        nodes = sorted({o.node for o in history.ops})
        span = max([o.end for o in history.ops] + [history.marks.get("converged", 0.0), 1.0])
        timelines.append(f"<h3>{escape(r['scenario'])} — 最悪の回 worst run {r['worst_run']}</h3>"
                         + report.timeline_svg(history, nodes, span))
    return f"""<!doctype html><html lang="ja"><head><meta charset="utf-8">
<title>事後評価報告書（訓練キャンペーン） / After-action report: {escape(data['campaign'])}</title>
<style>{report.STYLE} .verdict{{font-size:20px;padding:.6em;border:2px solid}}</style></head><body>
<h1>事後評価報告書 — 障害訓練キャンペーン<br><small>After-action report — chaos drill campaign</small></h1>
<p class="verdict {cls}">{escape(v['ja'])}<br>{escape(v['en'])}</p>
<p>キャンペーン campaign <code>{escape(data['campaign'])}</code> (開始 started {escape(data['started_jst'])});
各シナリオ {data['runs_per_scenario']} 回 / every scenario {data['runs_per_scenario']} run(s), a fresh
workload each time, one federation (<code>{escape(data['federation'])}</code>). 所要 took {data['took_s'] / 60:.0f} min.
{'<b>途中で中断 / interrupted: the run counts below are what ran.</b>' if data.get('interrupted') else ''}</p>
<h2>1. 概要 Summary</h2>
<p>可用性＝障害中に応答（2xx/4xx）した要求の割合、最小/中央値/最大（全回）。RPO＝確認済みで失われた証明書の件数。
RTO＝障害開始以降、あるノードが何も応答しなかった最長時間。収束＝最後の復旧（と負荷停止）から全ノードのダイジェスト一致まで。<br>
Availability = share of requests answered during the fault, min / median / max over the runs. RPO = acknowledged
certificates lost. RTO = the longest time a node answered nothing from the first fault on. Convergence = from the
last undo (and the workload stopping) to equal digests on every node.</p>
<table><tr><th>判定 verdict</th><th>シナリオ scenario</th><th>合格 passed</th><th>RPO</th>
<th>RTO 最小/中央値/最大 min/median/max</th><th>可用性 availability (min/median/max)</th>
<th>収束 convergence (min/median/max)</th><th>不変条件 invariants held</th><th>発行 issued</th></tr>
{_summary_rows(data['scenarios'])}</table>
<h2>2. 失われたもの What was lost</h2>{_lost(data['scenarios'])}
<h2>3. 不変条件違反の最初の証拠 First evidence of each failed invariant</h2>{_evidence(data['scenarios'])}
<h2>4. 傾向 Trend against the previous campaign</h2>{_trend(data['trend'], data.get('previous'))}
<h2>5. 時系列（各シナリオの最悪の回） Timelines of each scenario's worst run</h2>
<p>緑：応答 answered; 黄：拒否 refused (4xx); 赤：応答なし unavailable (5xx, refused, timeout).</p>
{''.join(timelines)}
<h2>6. 実施しなかったもの Not exercised</h2><ul>{''.join(f'<li>{escape(x)}</li>' for x in data.get('not_run', []))}</ul>
</body></html>
"""
