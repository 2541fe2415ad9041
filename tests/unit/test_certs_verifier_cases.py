"""The shared verifier cases (tests/vectors/verifier-cases.json) through certs.verify and risai-verify.

The offline web verifier (JavaScript) runs the same file and must give the same words.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from pathlib import Path

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from certs.bundle import BundleError, parse_bundle
from certs.verify import verify
from certs.verify_cli import main as verify_main

CASES = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "verifier-cases.json").read_text(encoding="utf-8"))
ROOT = x509.load_der_x509_certificate(base64.b64decode(CASES["root_der_b64"]))


def python_verdict(case: dict) -> tuple[str, str | None, bool]:
    """(verdict word, superseding number, bundle refused) as certs gives them."""
    try:
        bundle = parse_bundle(base64.b64decode(case["bundle"]), ROOT)
    except BundleError:
        return "無効", None, True
    verdict = verify(case["qr"], bundle.trust_list, datetime.fromisoformat(case["now"]), status_lists=bundle.status_lists)
    return verdict.word, verdict.superseded_by, False


@pytest.mark.parametrize("case", CASES["cases"], ids=[c["name"] for c in CASES["cases"]])
def test_every_shared_case_gives_the_expected_word(case):
    assert python_verdict(case) == (case["verdict"], case["superseded_by"], bool(case.get("bundle_error")))


def test_the_cases_cover_every_word():
    assert {c["verdict"] for c in CASES["cases"]} == set(CASES["verdicts"])


def _files(tmp_path: Path, case: dict) -> tuple[Path, Path]:
    bundle, root = tmp_path / "bundle.cbor", tmp_path / "root.pem"
    bundle.write_bytes(base64.b64decode(case["bundle"]))
    root.write_bytes(ROOT.public_bytes(Encoding.PEM))
    return bundle, root


def _case(name: str) -> dict:
    return next(c for c in CASES["cases"] if c["name"] == name)


def test_cli_with_a_bundle_prints_content_only_under_a_valid_verdict(tmp_path, capsys):
    valid = _case("valid")
    bundle, root = _files(tmp_path, valid)
    assert verify_main(["--bundle", str(bundle), "--now", valid["now"], valid["qr"]]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("結果 / Result: 有効 / VALID") and "熊本 太郎" in printed and "信頼できません" not in printed
    assert "状態リスト / Status list: wajima-1" in printed and "21.0時間前" in printed and "signed by mashiki-1" in printed
    superseded = _case("superseded")
    assert verify_main(["--bundle", str(bundle), "--root", str(root), "--now", superseded["now"], superseded["qr"]]) == 1
    printed = capsys.readouterr().out
    assert "差替え / SUPERSEDED → 434434-wajima-1-000005" in printed
    assert printed.index("NOT TRUSTWORTHY") < printed.index("熊本 太郎")


def test_cli_refuses_a_bundle_of_another_root_and_an_unpinned_trust_list(tmp_path, capsys):
    foreign = _case("bundle of another federation root")
    bundle, root = _files(tmp_path, foreign)
    assert verify_main(["--bundle", str(bundle), "--root", str(root), "--now", foreign["now"], foreign["qr"]]) == 2
    assert "pinned" in capsys.readouterr().err
    trust_list = tmp_path / "trust-list.cbor"
    trust_list.write_bytes(parse_bundle_bytes(_case("valid"))["trust_list"])
    qr = _case("valid")["qr"]
    assert verify_main(["--trust-list", str(trust_list), qr]) == 2
    assert "--root" in capsys.readouterr().err
    assert verify_main(["--trust-list", str(trust_list), "--insecure-no-root", "--now", foreign["now"], qr]) == 1
    printed = capsys.readouterr().out
    assert "ORIGIN IS UNCHECKED" in printed and "確認不能" in printed


def parse_bundle_bytes(case: dict) -> dict:
    return cbor2.loads(base64.b64decode(case["bundle"]))
