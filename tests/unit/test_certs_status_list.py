"""Status lists and verifier bundles (certs/status_list.py, certs/bundle.py)."""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import cbor2
import pytest
from cryptography import x509
from hypothesis import given
from hypothesis import strategies as st

from certs.bundle import BundleError, build_bundle, parse_bundle
from certs.cose import parse_sign1, sign1
from certs.errors import VerificationError
from certs.keys import SoftwareSigner, generate_private_key, load_private_key
from certs.node_keys import load_node_signers
from certs.numbers import CertificateNumber
from certs.pki import kid_of
from certs.status_list import (
    CertStatus,
    Outcome,
    StatusListError,
    federation_statuses,
    lookup,
    pack,
    parse_status_list,
    sign_status_list,
    status_at,
    stronger,
)
from certs.trust_list import load_trust_list, parse_trust_list
from tests.unit.certs_fixtures import NOW, at, build_pki
from tests.vectors import make_status_vectors as vectors

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    out = tmp_path_factory.mktemp("pki")
    trust_list = build_pki(out)
    root = x509.load_pem_x509_certificate((out / "root.pem").read_bytes())
    signers = {node: next(iter(load_node_signers(out / "nodes" / node).values()))
               for node in ("wajima-1", "mashiki-1", "rikuzentakata-1")}
    return {"out": out, "trust_list": trust_list, "root": root, "signers": signers}


def _signed(pki, statuses=None, superseded_by=None, signer="mashiki-1", issued_at=NOW, **kwargs) -> bytes:
    statuses = {1: 0, 2: 1, 9: 3} if statuses is None else statuses
    superseded_by = {9: "434434-wajima-1-000010"} if superseded_by is None else superseded_by
    return sign_status_list("wajima-1", statuses, superseded_by, pki["signers"][signer], signer, issued_at, **kwargs)


@given(st.dictionaries(st.integers(1, 5000), st.sampled_from(list(CertStatus)), max_size=200))
def test_pack_then_read_gives_every_status_back(statuses):
    bits = pack(statuses)
    assert len(bits) == max(statuses, default=0) // 4 + 1
    for index in range(len(bits) * 4):
        assert status_at(bits, index) == statuses.get(index, CertStatus.VALID)
    assert status_at(bits, len(bits) * 4) is None


def test_bit_order_is_the_drafts_least_significant_first():
    # index 1 → byte 0 bits 2..3; index 6 → byte 1 bits 4..5 (draft-ietf-oauth-status-list §4.1)
    assert pack({1: CertStatus.REVOKED, 6: CertStatus.SUPERSEDED}) == bytes([0b0000_0100, 0b0011_0000])


def test_precedence_revoked_then_superseded_then_review():
    assert stronger(CertStatus.SUPERSEDED, CertStatus.REVOKED) is CertStatus.REVOKED
    assert stronger(CertStatus.UNDER_REVIEW, CertStatus.SUPERSEDED) is CertStatus.SUPERSEDED
    assert stronger(CertStatus.VALID, CertStatus.UNDER_REVIEW) is CertStatus.UNDER_REVIEW


def test_a_list_signed_by_any_delegated_node_verifies_and_reads_back(pki):
    for signer in ("mashiki-1", "rikuzentakata-1"):  # ES256 and EdDSA keys
        parsed = parse_status_list(_signed(pki, signer=signer), pki["trust_list"])
        assert (parsed.node_id, parsed.signer_node, parsed.issued_at) == ("wajima-1", signer, NOW)
        assert parsed.expires_at - parsed.issued_at == timedelta(days=2) and parsed.ttl == timedelta(hours=1)
        assert parsed.superseded_by == {9: "434434-wajima-1-000010"}
        assert [status_at(parsed.bits, i) for i in (1, 2, 9)] == [CertStatus.VALID, CertStatus.REVOKED,
                                                                 CertStatus.SUPERSEDED]


def test_the_header_names_the_content_type_so_a_list_is_never_read_as_a_certificate(pki):
    signed = _signed(pki)
    assert cbor2.loads(cbor2.loads(signed).value[0])[16] == "application/statuslist+cwt"
    with pytest.raises(VerificationError, match="alg and kid"):
        parse_sign1(signed, 1 << 20)


def test_lookup_outcomes(pki):
    lists = {"wajima-1": parse_status_list(_signed(pki, {1: 0, 2: 1, 3: 2, 9: 3}), pki["trust_list"])}
    now = at(1)
    got = {seq: lookup(lists, CertificateNumber("434434", "wajima-1", seq), now) for seq in (1, 2, 3, 9, 13)}
    assert {s: r.outcome for s, r in got.items()} == {1: Outcome.VALID, 2: Outcome.REVOKED, 3: Outcome.UNDER_REVIEW,
                                                      9: Outcome.SUPERSEDED, 13: Outcome.UNKNOWN}
    assert got[9].superseded_by == "434434-wajima-1-000010"
    other_node = lookup(lists, CertificateNumber("434434", "mashiki-1", 1), now)
    assert other_node.outcome is Outcome.UNKNOWN and "mashiki-1" in other_node.reason
    expired = lookup(lists, CertificateNumber("434434", "wajima-1", 1), NOW + timedelta(days=2, seconds=1))
    assert expired.outcome is Outcome.UNKNOWN and "expired" in expired.reason
    newer = lookup(lists, CertificateNumber("434434", "wajima-1", 1), now, signed_at=NOW + timedelta(seconds=1))
    assert newer.outcome is Outcome.UNKNOWN and "newer" in newer.reason


def test_a_key_the_trust_list_does_not_allow_is_refused(pki):
    stranger = SoftwareSigner(generate_private_key(), pki["signers"]["mashiki-1"].kid)
    forged = sign_status_list("wajima-1", {1: 1}, {}, stranger, "mashiki-1", NOW)
    with pytest.raises(StatusListError) as err:
        parse_status_list(forged, pki["trust_list"])
    assert err.value.code == "status_list.signature"
    narrowed = replace(pki["trust_list"], status_list_signers=())
    with pytest.raises(StatusListError) as err:
        parse_status_list(_signed(pki), narrowed)
    assert err.value.code == "status_list.signer"
    with pytest.raises(StatusListError) as err:  # the key is mashiki-1's, the claim says another node
        parse_status_list(sign_status_list("wajima-1", {}, {}, pki["signers"]["mashiki-1"], "wajima-1", NOW),
                          pki["trust_list"])
    assert err.value.code == "status_list.signer_node"


def test_malformed_lists_are_refused_with_one_error_type(pki):
    signed = _signed(pki)
    for bad in (b"", b"\xff" * 10, signed[:-1], signed + b"\x00", cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b"", b""]))):
        with pytest.raises(StatusListError):
            parse_status_list(bad, pki["trust_list"])
    with pytest.raises(StatusListError, match="superseded"):
        sign_status_list("wajima-1", {3: 3}, {}, pki["signers"]["mashiki-1"], "mashiki-1", NOW)


def test_a_decompression_bomb_is_refused(pki, monkeypatch):
    import certs.status_list as module

    monkeypatch.setattr(module, "MAX_BITSTRING_BYTES", 1000)
    claims = cbor2.loads(parse_sign1(_signed(pki), 1 << 20, typ=module.TYP).payload)
    claims[65533]["lst"] = zlib.compress(bytes(5000))
    with pytest.raises(ValueError, match="size bound"):  # a valid shape, but it inflates past the bound
        module._bitstring(claims[65533])


def test_ceremony_names_every_delegation_as_status_list_signer_and_old_lists_still_parse(pki):
    trust_list = load_trust_list(pki["out"] / "trust-list.cbor", pki["root"])
    assert len(trust_list.status_list_signers) == len(trust_list.delegations) > 0
    old = cbor2.loads(parse_sign1((pki["out"] / "trust-list.cbor").read_bytes(), 1 << 24).payload)
    del old["status_list_signers"]  # what a trust list written before this field looks like
    key = load_private_key(pki["out"] / "offline" / "root.key.pem")
    signed = sign1(cbor2.dumps(old, canonical=True), SoftwareSigner(key, kid_of(pki["root"])))
    legacy = parse_trust_list(signed, pki["root"])
    assert legacy.status_list_signers == () and legacy.delegations == trust_list.delegations
    with pytest.raises(StatusListError):  # nobody may sign status lists under an old trust list
        parse_status_list(_signed(pki), legacy)


def test_bundle_round_trip_and_refusals(pki):
    trust_bytes = (pki["out"] / "trust-list.cbor").read_bytes()
    forged = sign_status_list("wajima-1", {}, {}, SoftwareSigner(generate_private_key(), b"12345678"), "wajima-1", NOW)
    newer = _signed(pki, {1: 1}, {}, issued_at=at(1))
    data = build_bundle(pki["root"], trust_bytes, [newer, _signed(pki), forged], NOW)
    bundle = parse_bundle(data, pki["root"])
    assert set(bundle.status_lists) == {"wajima-1"} and bundle.status_lists["wajima-1"].issued_at == at(1)
    assert [pos for pos, _ in bundle.rejected] == [2]
    assert parse_bundle(data, None).trust_list.version == bundle.trust_list.version
    other = build_pki(pki["out"].parent / "other")
    with pytest.raises(BundleError) as err:
        parse_bundle(data, other.root)
    assert err.value.code == "bundle.anchor"
    mixed = build_bundle(other.root, trust_bytes, [], NOW)  # root and trust list disagree
    with pytest.raises(BundleError) as err:
        parse_bundle(mixed, None)
    assert err.value.code == "bundle.trust_list"
    for bad in (b"", b"\x00", cbor2.dumps({"format": 2}), data[:-3]):
        with pytest.raises(BundleError):
            parse_bundle(bad, pki["root"])


def test_the_vector_files_are_what_the_script_writes_today(tmp_path, monkeypatch):
    monkeypatch.setattr(vectors, "HERE", tmp_path)
    vectors.main()
    for name in ("status-lists.json", "verifier-cases.json", "verifier-bundle.cbor"):
        assert (tmp_path / name).read_bytes() == (VECTORS / name).read_bytes(), name


def test_the_project_reads_the_status_list_vectors_as_documented():
    data = json.loads((VECTORS / "status-lists.json").read_text(encoding="utf-8"))
    root = x509.load_der_x509_certificate(base64.b64decode(data["root_der_b64"]))
    trust_list = parse_trust_list(base64.b64decode(data["trust_list_b64"]), root)
    now = datetime.fromisoformat(data["verify_at"])
    for vector in data["vectors"]:
        try:
            parsed = parse_status_list(bytes.fromhex(vector["cose_hex"]), trust_list)
        except StatusListError:
            assert vector["expected"] == "refused", vector["name"]
            continue
        assert vector["expected"] == ("expired" if parsed.expired(now) else "usable"), vector["name"]
        assert {str(i): int(status_at(parsed.bits, int(i))) for i in vector["statuses"]} == vector["statuses"]


def test_federation_statuses_cover_every_node_and_apply_precedence():
    lists = federation_statuses(
        {"wajima-1": 12, "mashiki-1": 0},
        revoked=["434434-wajima-1-000002", "434434-wajima-1-000003", "not-a-number"],
        superseded=[("434434-wajima-1-000003", "434434-wajima-1-000004"),
                    ("434434-wajima-1-000005", "434434-wajima-1-000006"),
                    ("032107-rikuzentakata-1-000001", "032107-rikuzentakata-1-000002")],
        under_review=["434434-wajima-1-000005", "434434-wajima-1-000007"])
    statuses, successors = lists["wajima-1"]
    assert statuses == {12: CertStatus.VALID, 2: CertStatus.REVOKED, 3: CertStatus.REVOKED,
                        5: CertStatus.SUPERSEDED, 7: CertStatus.UNDER_REVIEW}
    assert successors == {5: "434434-wajima-1-000006"}  # 3 is revoked: no successor listed
    assert lists["mashiki-1"] == ({}, {}) and lists["rikuzentakata-1"][1] == {1: "032107-rikuzentakata-1-000002"}
