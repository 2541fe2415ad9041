"""PKI: ceremony output, key files, delegations, renewal, revocation, trust list."""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509

from certs import ceremony
from certs.errors import KeyFileError, PkiError, TrustListError
from certs.keys import generate_private_key, load_private_key, save_private_key
from certs.node_keys import load_node_signer, load_node_signers
from certs.pki import delegation_of, issued_by, kid_of
from certs.trust_list import load_trust_list, parse_trust_list
from tests.unit.certs_fixtures import NOW, build_pki, federation_config


@pytest.fixture(scope="module")
def fed(tmp_path_factory):
    out = tmp_path_factory.mktemp("fed")
    return out, build_pki(out)


def test_layout_keeps_private_keys_apart(fed):
    out, _ = fed
    node = out / "nodes" / "wajima-1"
    assert sorted(p.name for p in node.iterdir()) == ["delegations", "node.key.pem", "node.pub.pem", "tls"]
    assert sorted(p.name for p in (node / "delegations").iterdir()) == ["172049.pem", "434434.pem"]
    private = [p for p in out.rglob("*.key.pem")]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in private)
    tls_keys = list(out.rglob("key.pem")) + list(out.rglob("keystore.pem"))  # certs/tls.py
    assert tls_keys and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in tls_keys)
    assert {p.parent.name for p in private} == {"offline", "towns", "mashiki-1", "wajima-1", "rikuzentakata-1", "uto-1"}
    assert not list((out / "nodes").rglob("*root*")) and not list((out / "nodes").rglob("towns"))


def test_each_town_delegates_to_own_and_partner_nodes(fed):
    _, trust_list = fed
    grants = {(delegation_of(c).town_code, delegation_of(c).node_id) for c in trust_list.delegations}
    assert grants == {
        ("434434", "mashiki-1"), ("434434", "wajima-1"), ("434434", "rikuzentakata-1"),
        ("172049", "wajima-1"), ("172049", "mashiki-1"),
        ("032107", "rikuzentakata-1"), ("032107", "mashiki-1"),
        ("432113", "uto-1"),
    }


def test_chain_links(fed):
    _, trust_list = fed
    mashiki = trust_list.town("434434")
    for cert in trust_list.delegations:
        town = trust_list.town(delegation_of(cert).town_code)
        assert issued_by(cert, town.ca) is None
        assert issued_by(town.ca, trust_list.root) is None
    other = next(c for c in trust_list.delegations if delegation_of(c).town_code == "172049")
    assert issued_by(other, mashiki.ca) is not None
    leaf = trust_list.delegations[0]
    assert issued_by(trust_list.delegations[1], leaf) == "issuer is not a CA"


def test_node_signer_selects_the_town(fed):
    out, trust_list = fed
    node = out / "nodes" / "wajima-1"
    signers = load_node_signers(node)
    assert set(signers) == {"172049", "434434"}
    signer = load_node_signer(node, "434434", NOW)
    assert trust_list.delegation(signer.kid) is not None and signer.alg == "ES256"
    with pytest.raises(KeyFileError) as info:
        load_node_signer(node, "032107", NOW)
    assert info.value.code == "key.no_delegation"
    with pytest.raises(KeyFileError) as info:
        load_node_signer(node, "434434", NOW + timedelta(days=31))
    assert info.value.code == "key.delegation_expired"
    assert "key" not in repr(signer).replace("kid", "")  # no key material in repr


def test_key_files_refuse_overwrite_and_loose_permissions(tmp_path):
    path = tmp_path / "k.pem"
    save_private_key(path, generate_private_key())
    with pytest.raises(KeyFileError, match="overwrite"):
        save_private_key(path, generate_private_key())
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError) as info:
        load_private_key(path)
    assert info.value.code == "key.permissions"
    with pytest.raises(KeyFileError) as info:
        load_private_key(tmp_path / "missing.pem")
    assert info.value.code == "key.unreadable"


def test_init_refuses_to_overwrite(fed):
    out, _ = fed
    with pytest.raises(PkiError) as info:
        build_pki(out)
    assert info.value.code == "pki.exists"


def test_renew_and_revoke_bump_the_version(tmp_path):
    config = federation_config()
    first = build_pki(tmp_path)
    later = NOW + timedelta(days=25)
    unchanged = ceremony.renew_delegations(config, tmp_path, NOW + timedelta(days=1))
    assert unchanged.version == 2 and len(unchanged.delegations) == len(first.delegations)
    renewed = ceremony.renew_delegations(config, tmp_path, later)
    assert renewed.version == 3 and len(renewed.delegations) == 2 * len(first.delegations)
    assert load_node_signer(tmp_path / "nodes" / "wajima-1", "434434", NOW + timedelta(days=40)).kid not in {
        kid_of(c) for c in first.delegations}
    revoked = ceremony.revoke_delegations(tmp_path, later, "鍵の漏えい", node_id="wajima-1")
    assert revoked.version == 4 and len(revoked.revoked_keys) == 4
    numbered = ceremony.revoke_certificate(tmp_path, later, "434434-wajima-1-000001", "誤発行")
    assert numbered.version == 5 and numbered.certificate_revocation("434434-wajima-1-000001").reason == "誤発行"
    assert load_trust_list(tmp_path / "trust-list.cbor").version == 5
    # The revoked node's key gets no new delegation; other nodes are renewed as usual.
    again = ceremony.renew_delegations(config, tmp_path, later + timedelta(days=25))
    fresh = [delegation_of(c).node_id for c in again.delegations[len(renewed.delegations):]]
    assert sorted(set(fresh)) == ["mashiki-1", "rikuzentakata-1", "uto-1"]


def test_trust_list_signature_detects_tampering(fed):
    out, trust_list = fed
    data = (out / "trust-list.cbor").read_bytes()
    assert parse_trust_list(data).version == trust_list.version
    for position in range(0, len(data), max(1, len(data) // 150)):
        tampered = bytearray(data)
        tampered[position] ^= 0x01
        with pytest.raises(TrustListError):
            parse_trust_list(bytes(tampered))


def test_trust_list_must_match_the_pinned_root(fed, tmp_path):
    out, _ = fed
    other = build_pki(tmp_path)
    with pytest.raises(TrustListError) as info:
        load_trust_list(out / "trust-list.cbor", anchor=other.root)
    assert info.value.code == "trust_list.anchor"
    root = x509.load_pem_x509_certificate((out / "root.pem").read_bytes())
    assert load_trust_list(out / "trust-list.cbor", anchor=root).root == root


def test_ceremony_cli(tmp_path, capsys):
    config = tmp_path / "federation.toml"
    config.write_bytes(Path("deploy/federation.toml").read_bytes())
    out = tmp_path / "out"
    assert ceremony.main(["--now", "2024-01-10T09:00:00+00:00", "init", "--config", str(config), "--out", str(out)]) == 0
    assert "trust list v1: 3 towns, 9 delegations" in capsys.readouterr().out
    assert ceremony.main(["revoke", "--out", str(out), "--node", "wajima-1", "--reason", "drill"]) == 0
    assert ceremony.main(["revoke", "--out", str(out), "--kid", "00", "--reason", "x"]) == 1
    assert "pki.unknown_delegation" in capsys.readouterr().err
