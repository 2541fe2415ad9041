"""The drill report: JSON and a self-contained HTML page whose SVG timeline shows every
fault, each node's request outcomes and the replication lag."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from chaos import report, scenario
from chaos.checker import NodeState, check
from chaos.history import FAILED, OK, Fault, History, LagSample, Op

SVG = "{http://www.w3.org/2000/svg}"


def _drill():
    sc = scenario.load("broker-lost")
    history = History(
        ops=[Op("c", "mashiki-1", "apply", 1, 1.1, OK, 201), Op("c", "wajima-1", "issue", 30, 35, FAILED)],
        faults=[Fault("kill_brokers:1", "kill_brokers", "1", 6, 21), Fault("kill_brokers:all", "kill_brokers", "all", 26, 46)],
        lag=[LagSample(t, "wajima-1", "mashiki-1", float(t % 7)) for t in range(0, 50, 2)],
        marks={"healed": 46, "quiesced": 60, "converged": 63})
    states = [NodeState(n, "d", 3, ()) for n in ("mashiki-1", "wajima-1")]
    return sc, history, states, check(history, states, lambda qr: None, convergence_bound_s=90)


def test_html_has_timeline_with_every_fault_and_node(tmp_path):
    sc, history, states, verdict = _drill()
    html_path = report.write(tmp_path, sc, history, states, verdict)
    html = html_path.read_text()
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    svg = ET.fromstring(html[html.index("<svg"):html.index("</svg>") + 6])
    assert svg.get("id") == "timeline"
    titles = " ".join(t.text or "" for t in svg.iter(f"{SVG}title"))
    texts = " ".join(t.text or "" for t in svg.iter(f"{SVG}text"))
    for fault in history.faults:
        assert fault.name in titles and fault.name in texts
    assert "mashiki-1" in texts and "wajima-1" in texts and "consumer lag" in texts and "outbox" in texts
    assert list(svg.iter(f"{SVG}polyline")), "the lag line is drawn"
    assert "PASS" in html and "converged 3.0s" in html


def test_json_report_round_trips_the_history(tmp_path):
    sc, history, states, verdict = _drill()
    report.write(tmp_path, sc, history, states, verdict)
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["ok"] is True and data["convergence_s"] == 3.0
    assert History.from_json(data["history"]) == history
    assert {i["name"] for i in data["invariants"]} >= {"no acknowledged certificate lost", "all nodes converge"}
