"""Same answers from both verifiers: every case of tests/vectors/verifier-cases.json, and
the verifier app's own scenario (tests/support/verifier_bundle.py), run through the
JavaScript verifier (under node: verifier/tools/run-cases.mjs) and through certs.verify
(with certs.bundle), must give identical verdict words, the same superseding number, and
for 無効 the same first failed check.

The Python side runs in a subprocess over the certs package of RISAI_CERTS_ROOT (default:
this checkout), so the JavaScript can be checked against another branch's certs/ before
a merge, e.g. RISAI_CERTS_ROOT=/work/wt/status.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.support.node_js import VERIFIER, node_or_skip

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
CERTS_ROOT = Path(os.environ.get("RISAI_CERTS_ROOT", REPO))
CASES = CERTS_ROOT / "tests" / "vectors" / "verifier-cases.json"

PYTHON_SIDE = """
import base64, json, sys
from datetime import datetime
from cryptography import x509
from certs.bundle import BundleError, parse_bundle
from certs.verify import verify

data = json.load(sys.stdin)
root = x509.load_der_x509_certificate(base64.b64decode(data["root_der_b64"]))
out = []
for case in data["cases"]:
    try:
        bundle = parse_bundle(base64.b64decode(case["bundle"]), root)
    except BundleError as exc:
        out.append({"name": case["name"], "verdict": "無効", "bundle_error": exc.code, "superseded_by": None, "failed": None})
        continue
    v = verify(case["qr"], bundle.trust_list, datetime.fromisoformat(case["now"]), status_lists=bundle.status_lists)
    out.append({"name": case["name"], "verdict": v.word, "bundle_error": None, "superseded_by": v.superseded_by,
                "failed": v.failures[0] if v.failures else None})
json.dump(out, sys.stdout, ensure_ascii=False)
"""


def python_verdicts(cases: dict) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(CERTS_ROOT)}
    result = subprocess.run([sys.executable, "-c", PYTHON_SIDE], input=json.dumps(cases), capture_output=True,
                            text=True, cwd=CERTS_ROOT, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def js_verdicts(cases: dict) -> list[dict]:
    result = subprocess.run([node_or_skip(), "tools/run-cases.mjs"], input=json.dumps(cases), capture_output=True,
                            text=True, cwd=VERIFIER, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def scenario_cases(tmp_path: Path) -> dict:
    from tests.support.verifier_bundle import scenario

    data = scenario(tmp_path)
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    cases = [{"name": f"scenario {name}", "qr": qr, "bundle": b64(data.current_bundle), "now": now}
             for name, qr in data.qr.items()]
    cases.append({"name": "scenario expired list", "qr": data.qr["valid"], "bundle": b64(data.expired_bundle.read_bytes()),
                  "now": now})
    cases.append({"name": "scenario other root", "qr": data.qr["valid"], "bundle": b64(data.other_root_bundle.read_bytes()),
                  "now": now})
    return {"root_der_b64": b64(data.fed.root_der), "cases": cases}


def compare(cases: dict) -> None:
    js, py = js_verdicts(cases), python_verdicts(cases)
    assert [c["name"] for c in js] == [c["name"] for c in py] == [c["name"] for c in cases["cases"]]
    for a, b, case in zip(js, py, cases["cases"]):
        assert (a["verdict"], a["superseded_by"]) == (b["verdict"], b["superseded_by"]), case["name"]
        assert bool(a["bundle_error"]) == bool(b["bundle_error"]), case["name"]
        if a["verdict"] == "無効" and not a["bundle_error"]:
            assert a["failed"] == b["failed"], case["name"]
        if "verdict" in case:
            assert a["verdict"] == case["verdict"], case["name"]


def test_vectors_give_the_same_verdicts_in_both_verifiers():
    if not CASES.exists():
        pytest.skip(f"{CASES} is not on this branch yet (issue 11 writes it)")
    cases = json.loads(CASES.read_text())
    assert len(cases["cases"]) >= 10 and set(cases["verdicts"]) == {"有効", "無効", "失効", "差替え", "確認中", "確認不能"}
    assert {c["verdict"] for c in cases["cases"]} == set(cases["verdicts"])  # every word is exercised
    compare(cases)


def test_app_scenario_gives_the_same_verdicts_in_both_verifiers(tmp_path):
    if not (CERTS_ROOT / "certs" / "bundle.py").exists():
        pytest.skip("certs/bundle.py (issue 11) is not on this branch yet")
    cases = scenario_cases(tmp_path)
    compare(cases)
    js = {c["name"]: c["verdict"] for c in js_verdicts(cases)}
    assert js == {"scenario valid": "有効", "scenario revoked": "失効", "scenario superseded": "差替え",
                  "scenario under_review": "確認中", "scenario tampered": "無効",
                  "scenario expired list": "確認不能", "scenario other root": "無効"}
