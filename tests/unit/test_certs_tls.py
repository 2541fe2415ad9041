"""Transport PKI (certs/tls.py): the TLS CA, who gets which certificate, renewal, contexts;
the per-node Kafka ACLs; and the node config the launcher writes."""

from __future__ import annotations

import ssl
import stat
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from certs import tls
from certs.ceremony import build_federation_pki
from certs.pki import issued_by
from deploy.kafka_acl import Operation, Pattern, Resource, node_acls
from tests.unit.certs_fixtures import NOW, federation_config


@pytest.fixture(scope="module")
def fed(tmp_path_factory):
    out = tmp_path_factory.mktemp("tls")
    config = replace(federation_config(), broker_ids=(1, 2), tls_hosts=("node.example.jp", "10.0.0.5"))
    build_federation_pki(config, out, NOW)  # the init ceremony issues the transport PKI too
    return out, config


def _load(out, folder):
    return tls.TlsFiles(out / folder).certificate()


def _ca(out):
    return x509.load_pem_x509_certificate((out / "tls" / "ca.pem").read_bytes())


def test_tls_ca_is_under_the_root_and_issues_end_entities_only(fed):
    out, _ = fed
    root = x509.load_pem_x509_certificate((out / "root.pem").read_bytes())
    ca = _ca(out)
    assert issued_by(ca, root) is None
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0


def test_every_identity_has_its_certificate_purpose_and_names(fed):
    out, config = fed
    ca = _ca(out)
    expected = {"tls/brokers/broker-1": ("CN=broker-1,OU=kafka-brokers", {"server", "client"}),
                "tls/admin": ("CN=risai-admin,OU=operators", {"client"}),
                "nodes/wajima-1/tls/client": ("CN=wajima-1", {"client"}),
                "nodes/wajima-1/tls/server": ("CN=wajima-1,OU=https", {"server"})}
    oids = {"server": ExtendedKeyUsageOID.SERVER_AUTH, "client": ExtendedKeyUsageOID.CLIENT_AUTH}
    for folder, (subject, purposes) in expected.items():
        cert = _load(out, folder)
        assert issued_by(cert, ca) is None, folder
        assert cert.subject.rfc4514_string() == subject
        eku = set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
        assert eku == {oids[p] for p in purposes}, folder
        assert cert.not_valid_after_utc - NOW == tls.TLS_VALIDITY
    server = _load(out, "nodes/wajima-1/tls/server")
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "10.0.0.5"]
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "node.example.jp"]
    assert len(list((out / "tls" / "brokers").iterdir())) == len(config.broker_ids)


def test_private_tls_files_are_owner_only_and_the_keystore_holds_key_and_chain(fed):
    out, _ = fed
    keys = list(out.rglob("key.pem")) + list(out.rglob("keystore.pem"))
    assert keys and all(stat.S_IMODE(k.stat().st_mode) == 0o600 for k in keys)
    keystore = (out / "tls/brokers/broker-2/keystore.pem").read_text()
    assert keystore.startswith("-----BEGIN PRIVATE KEY-----") and keystore.count("BEGIN CERTIFICATE") == 2


def test_principals_are_what_the_acls_name():
    assert tls.node_principal("mashiki-1") == "User:CN=mashiki-1"
    assert tls.broker_principal(3) == "User:CN=broker-3,OU=kafka-brokers"
    assert tls.ADMIN_PRINCIPAL == "User:CN=risai-admin,OU=operators"


def test_renewal_reissues_only_what_is_due_and_keeps_the_keys(fed, tmp_path):
    out, config = fed
    assert tls.ensure_transport_pki(config, out, NOW + timedelta(days=1)) == []
    key_before = (out / "nodes/wajima-1/tls/client/key.pem").read_bytes()
    later = NOW + tls.TLS_VALIDITY - tls.TLS_RENEW_BEFORE + timedelta(hours=1)
    renewed = tls.ensure_transport_pki(config, out, later)
    assert set(renewed) == {i.folder for i in tls.federation_identities(config)}
    cert = _load(out, "nodes/wajima-1/tls/client")
    assert cert.not_valid_before_utc == later
    assert (out / "nodes/wajima-1/tls/client/key.pem").read_bytes() == key_before
    assert issued_by(cert, _ca(out)) is None


def test_contexts_verify_a_node_server_and_refuse_another_ca(tmp_path):
    now = datetime.now(timezone.utc)  # a real handshake checks validity against the clock
    out = tls.create_transport_pki(tmp_path / "ours", now, [1])
    node_dir = tls.ensure_node_tls(out, "wajima-1", now)
    assert _handshake(tls.http_client_context(out), tls.server_context(tls.TlsFiles(node_dir / "server")))
    foreign = tls.create_transport_pki(tmp_path / "foreign", now, [])
    stranger = tls.ensure_node_tls(foreign, "wajima-1", now)
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(tls.http_client_context(out), tls.server_context(tls.TlsFiles(stranger / "server")))
    options = tls.kafka_options(tls.TlsFiles(node_dir / "client"))
    assert options["security_protocol"] == "SSL" and options["ssl_context"].verify_mode == ssl.CERT_REQUIRED


def _handshake(client: ssl.SSLContext, server: ssl.SSLContext) -> bool:
    """A TLS handshake in memory (no sockets), as 127.0.0.1; raises on failure."""
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    c = client.wrap_bio(c_in, c_out, server_hostname="127.0.0.1")
    s = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        done = 0
        for side, out_bio, peer_in in ((c, c_out, s_in), (s, s_out, c_in)):
            try:
                side.do_handshake()
                done += 1
            except ssl.SSLWantReadError:
                pass
            peer_in.write(out_bio.read())
        if done == 2:
            return True
    return False


def test_a_node_writes_only_its_own_topic_and_reads_under_the_prefix():
    acls = node_acls("risai.events", "wajima-1")
    assert {a.principal for a in acls} == {"User:CN=wajima-1"}
    writes = [a for a in acls if a.operation == Operation.WRITE]
    assert [(w.resource, w.name, w.pattern) for w in writes] == [
        (Resource.TOPIC, "risai.events.wajima-1", Pattern.LITERAL)]
    reads = {(a.resource, a.name, a.pattern) for a in acls if a.operation == Operation.READ}
    assert reads == {(Resource.TOPIC, "risai.events.", Pattern.PREFIXED),
                     (Resource.GROUP, "risai.events.wajima-1", Pattern.LITERAL)}
    assert not any(a.operation in (Operation.CREATE, Operation.ALL, Operation.IDEMPOTENT_WRITE)
                   or a.resource == Resource.CLUSTER for a in acls)


def test_launcher_node_config_escapes_values_and_loads_back(tmp_path):
    from deploy.federation_spec import load_spec
    from deploy.launcher import Federation
    from service.config import load_settings
    from tests.support.federation import federation_file

    run_dir = tmp_path / 'run "quoted" \\ dir'
    federation = Federation(load_spec(federation_file(tmp_path)), run_dir)
    node = federation.spec.nodes[0]
    settings = load_settings(federation.write_node_config(node), {})
    assert settings.tls.dir == run_dir.resolve() / "pki" / "nodes" / node.id / "tls"
    assert settings.tls.http and settings.tls.kafka and settings.secure_cookies
    assert settings.keys.key_dir == run_dir.resolve() / "pki" / "nodes" / node.id
