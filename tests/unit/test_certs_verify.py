"""Verification: cross-town issuance and every failure reason, offline from the trust list."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certs import ceremony
from certs.boxes import PrintedBoxes
from certs.encoding import PREFIX, encode_certificate
from certs.keys import SoftwareSigner, generate_private_key
from certs.node_keys import load_node_signer
from certs.pki import create_town_ca
from certs.state import Issued, Revoked, Superseded
from certs.status_list import sign_status_list
from certs.trust_list import TownEntry, load_trust_list
from certs.verify import Status, verify
from certs.verify_cli import main as verify_main
from tests.unit.certs_fixtures import MASHIKI, NOW, RIKUZENTAKATA, WAJIMA, at, build_pki, certificate

B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


@pytest.fixture(scope="module")
def fed(tmp_path_factory):
    out = tmp_path_factory.mktemp("fed")
    build_pki(out)
    # Verifiers get nothing but the saved trust list file.
    return out, load_trust_list(out / "trust-list.cbor")


def signer(out, node, town=MASHIKI.code, when=NOW):
    return load_node_signer(out / "nodes" / node, town, when)


@pytest.fixture(scope="module")
def issued(fed):
    out, _ = fed
    return encode_certificate(certificate(), signer(out, "wajima-1"), NOW)


def test_cross_town_certificate_verifies_offline(fed, issued):
    _, trust_list = fed
    verdict = verify(issued, trust_list, at(2))
    assert verdict.ok, verdict.checks
    cert = verdict.certificate
    assert cert.competent_town == MASHIKI and cert.competent_town.mayor == "山田 太郎"
    assert cert.issuing.town_name == WAJIMA.name and cert.on_behalf
    assert {c.name: c.status for c in verdict.checks}["superseded"] is Status.SKIPPED
    assert verdict.to_dict()["number"] == "434434-wajima-1-000042"


def test_ed25519_node_verifies(fed):
    out, trust_list = fed
    cert = certificate(node="rikuzentakata-1", issuing_town=RIKUZENTAKATA)
    key = signer(out, "rikuzentakata-1")
    assert key.alg == "EdDSA"
    verdict = verify(encode_certificate(cert, key, NOW), trust_list, at())
    assert verdict.ok and "EdDSA" in verdict.check("signature").en


def test_every_changed_character_fails(fed, issued):
    _, trust_list = fed
    for position in range(len(PREFIX), len(issued)):
        replacement = B45[(B45.index(issued[position]) + 1) % 45]
        tampered = issued[:position] + replacement + issued[position + 1:]
        verdict = verify(tampered, trust_list, at())
        assert not verdict.ok and set(verdict.failures) & {"format", "signature"}, position


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_changed_character_fails(fed, issued, data):
    _, trust_list = fed
    position = data.draw(st.integers(min_value=len(PREFIX), max_value=len(issued) - 1))
    char = data.draw(st.sampled_from(B45).filter(lambda c: c != issued[position]))
    assert not verify(issued[:position] + char + issued[position + 1:], trust_list, at()).ok


def test_node_without_delegation_from_the_competent_town(fed):
    out, trust_list = fed
    # uto-1 holds only its own town's delegation; it is not a partner of 益城町.
    uto = signer(out, "uto-1", "432113")
    verdict = verify(encode_certificate(certificate(node="uto-1"), uto, NOW), trust_list, at())
    assert verdict.failures == ("delegation",)
    assert "432113" in verdict.check("delegation").en


def test_delegation_of_another_node_is_refused(fed):
    out, trust_list = fed
    verdict = verify(encode_certificate(certificate(), signer(out, "mashiki-1"), NOW), trust_list, at())
    assert verdict.failures == ("delegation",) and "mashiki-1" in verdict.check("delegation").en


def test_unknown_key_fails_signature_and_delegation(fed):
    _, trust_list = fed
    rogue = SoftwareSigner(generate_private_key(), b"\x01" * 8)
    verdict = verify(encode_certificate(certificate(), rogue, NOW), trust_list, at())
    assert set(verdict.failures) == {"signature", "delegation"}


def test_expired_delegation(fed):
    out, trust_list = fed
    late = NOW + timedelta(days=31)
    qr = encode_certificate(certificate(), signer(out, "wajima-1"), late)
    verdict = verify(qr, trust_list, late, max_trust_list_age=timedelta(days=60))
    assert verdict.failures == ("validity",)


def test_signed_in_the_future(fed):
    out, trust_list = fed
    qr = encode_certificate(certificate(), signer(out, "wajima-1"), at(5))
    assert verify(qr, trust_list, at(1)).failures == ("validity",)


def test_old_certificate_stays_valid_after_its_delegation_expires(fed, issued):
    _, trust_list = fed
    assert verify(issued, trust_list, NOW + timedelta(days=300), max_trust_list_age=timedelta(days=400)).ok


def test_revoked_delegation_and_revoked_number(tmp_path):
    build_pki(tmp_path)
    key = signer(tmp_path, "wajima-1")
    qr = encode_certificate(certificate(), key, NOW)
    ceremony.revoke_delegations(tmp_path, at(), "鍵の漏えい", kid=key.kid)
    verdict = verify(qr, load_trust_list(tmp_path / "trust-list.cbor"), at(2))
    assert verdict.failures == ("revoked",) and "鍵の漏えい" in verdict.check("revoked").ja
    other = encode_certificate(certificate(node="mashiki-1", issuing_town=MASHIKI, sequence=7), signer(tmp_path, "mashiki-1"), NOW)
    ceremony.revoke_certificate(tmp_path, at(), "434434-mashiki-1-000007", "誤発行")
    verdict = verify(other, load_trust_list(tmp_path / "trust-list.cbor"), at(2))
    assert verdict.failures == ("revoked",) and "誤発行" in verdict.check("revoked").en


def test_status_lookup_reports_supersession_and_revocation(fed, issued):
    _, trust_list = fed
    newer = certificate(sequence=43).number
    verdict = verify(issued, trust_list, at(), status_lookup=lambda n: Superseded(newer))
    assert verdict.failures == ("superseded",) and str(newer) in verdict.check("superseded").en
    assert verify(issued, trust_list, at(), status_lookup=lambda n: Revoked("再調査")).failures == ("revoked",)
    current = verify(issued, trust_list, at(), status_lookup=lambda n: Issued())
    assert current.ok and current.check("superseded").status is Status.PASS


def test_stale_or_future_trust_list(fed, issued):
    _, trust_list = fed
    assert verify(issued, trust_list, NOW + timedelta(days=8)).failures == ("trust_list_age",)
    assert verify(issued, trust_list, NOW - timedelta(days=1)).failures[-1] == "trust_list_age"


def test_rogue_town_ca_breaks_the_chain(fed, issued):
    _, trust_list = fed
    # A town CA with the right name and code, but not signed by the federation root.
    rogue_key = generate_private_key()
    entry = trust_list.town(MASHIKI.code)
    rogue_ca = create_town_ca(rogue_key, entry.ca, entry.ca.public_key(), MASHIKI.code, MASHIKI.name, NOW, timedelta(days=1), 9)
    towns = tuple(TownEntry(t.code, t.name, t.mayor, rogue_ca) if t.code == MASHIKI.code else t for t in trust_list.towns)
    verdict = verify(issued, replace(trust_list, towns=towns), at())
    assert "chain" in verdict.failures


@settings(max_examples=400, deadline=None)
@given(st.one_of(
    st.text(),
    st.text(alphabet=B45).map(lambda s: PREFIX + s),
    st.binary(max_size=300),
    st.binary(max_size=300).map(lambda b: PREFIX.encode() + b),
))
def test_fuzzed_input_gives_a_failed_verdict(fed, data):
    _, trust_list = fed
    verdict = verify(data, trust_list, at())
    assert not verdict.ok and "format" in verdict.failures


def test_verify_cli(fed, issued, capsys, tmp_path):
    out, trust_list = fed
    status = tmp_path / "wajima-1.cwt"
    status.write_bytes(sign_status_list("wajima-1", {42: 0}, {}, signer(out, "wajima-1", WAJIMA.code), "wajima-1", at(0.5)))
    args = ["--trust-list", str(out / "trust-list.cbor"), "--root", str(out / "root.pem"), "--now", at().isoformat()]
    assert verify_main([*args, "--status-list", str(status), issued]) == 0
    printed = capsys.readouterr().out
    assert "有効 / VALID" in printed and "益城町長 山田 太郎" in printed and "輪島市 (代行" in printed
    assert "0.5時間前" in printed  # the status list's age is always shown
    assert verify_main([*args, "--status-list", str(status), issued[:-3] + "AAA"]) == 1
    assert "無効 / INVALID" in capsys.readouterr().out
    assert verify_main([*args, issued]) == 1  # authentic, but no status list: never valid
    printed = capsys.readouterr().out
    assert "確認不能 / STATUS_UNKNOWN" in printed and "信頼できません" in printed and "none" in printed
    assert verify_main(["--trust-list", str(out / "nothing"), "--root", str(out / "root.pem"), issued]) == 2


def test_printed_boxes_are_checked_against_the_qr(fed):
    out, trust_list = fed
    cert = certificate(other_damage="車庫の倒壊")
    qr = encode_certificate(cert, signer(out, "wajima-1"), NOW)
    unchecked = verify(qr, trust_list, at())
    assert unchecked.ok and unchecked.check("boxes").status is Status.SKIPPED
    assert unchecked.boxes_digest and unchecked.to_dict()["boxes_digest"] == unchecked.boxes_digest.hex()
    assert unchecked.certificate.members == ()
    checked = verify(qr, trust_list, at(), printed_boxes=PrintedBoxes.of(cert))
    assert checked.ok and checked.check("boxes").status is Status.PASS and checked.certificate == cert
    forged = replace(PrintedBoxes.of(cert), other_damage="全壊（車庫・母屋）")
    verdict = verify(qr, trust_list, at(), printed_boxes=forged)
    assert verdict.failures == ("boxes",) and verdict.certificate.other_damage is None


def test_a_qr_without_boxes_needs_no_printed_text(fed):
    out, trust_list = fed
    qr = encode_certificate(certificate(members=()), signer(out, "wajima-1"), NOW)
    verdict = verify(qr, trust_list, at())
    assert verdict.ok and verdict.check("boxes").status is Status.PASS and verdict.boxes_digest is None
