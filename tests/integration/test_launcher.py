"""The federation launcher end to end: up, status, down, and refusals of bad set-ups."""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import shutil
import socket
import ssl
import time
import urllib.error
import urllib.request

import asyncpg
import pytest
from cryptography import x509

from certs.pki import issued_by
from deploy.federation_spec import load_spec
from deploy.launcher import NODE_DB, Federation, main
from deploy.processes import DeployError, process_start_ticks
from tests.support.federation import federation_file, service_folder

pytestmark = pytest.mark.integration


@pytest.fixture
def run_dir():
    folder = service_folder("risai-launch-")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _get(federation: Federation, port: int, path: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(f"https://127.0.0.1:{port}{path}", timeout=10,
                                context=federation.http_context()) as resp:
        return resp.status, resp.read()


def _check_https(federation: Federation, node) -> None:
    """The node's certificate verifies against the federation's TLS CA, nothing else works."""
    tls_ca = x509.load_pem_x509_certificate((federation.pki_dir / "tls" / "ca.pem").read_bytes())
    with socket.create_connection(("127.0.0.1", node.http_port), timeout=10) as raw:
        with federation.http_context().wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            served = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
    assert issued_by(served, tls_ca) is None
    assert served.subject.rfc4514_string() == f"CN={node.id},OU=https"
    # The machine's usual CAs do not know the federation's TLS CA: verification fails.
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(f"https://127.0.0.1:{node.http_port}/healthz", timeout=10,
                               context=ssl.create_default_context())
    # Plain HTTP is refused in the default configuration: no HTTP answer at all.
    with pytest.raises((OSError, http.client.HTTPException)):
        urllib.request.urlopen(f"http://127.0.0.1:{node.http_port}/healthz", timeout=10)


def _check_secure_login(federation: Federation, node, secret) -> None:
    """A staff login over HTTPS sets a Secure cookie, and the answer carries HSTS."""
    password = re.search(r"password: (\S+)", secret.read_text()).group(1)
    body = json.dumps({"town_code": node.town, "username": "demo", "password": password}).encode()
    request = urllib.request.Request(f"https://127.0.0.1:{node.http_port}/api/v1/auth/login", data=body,
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10, context=federation.http_context()) as resp:
        assert resp.status == 200
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
        cookie = resp.headers["Set-Cookie"]
    assert "risai_session=" in cookie and "Secure" in cookie and "HttpOnly" in cookie


async def _resident_counts(federation: Federation) -> dict[str, int]:
    counts = {}
    for node in federation.spec.nodes:
        conn = await asyncpg.connect(federation.postgres(node).dsn(NODE_DB))
        try:
            counts[node.id] = await conn.fetchval(
                "SELECT count(*) FROM entities WHERE entity_type = 'resident'")
        finally:
            await conn.close()
    return counts


def _wait_replicated(federation: Federation, expected: int, timeout: float = 60) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        counts = asyncio.run(_resident_counts(federation))
        if set(counts.values()) == {expected} or time.monotonic() > deadline:
            return counts
        time.sleep(0.5)


def test_up_serves_three_ready_nodes_and_down_leaves_nothing(run_dir, capsys):
    config = federation_file(run_dir)
    argv = ["--config", str(config), "--run-dir", str(run_dir / "run")]
    assert main(["up", *argv, "--seed-residents", "150"]) == 0
    federation = Federation(load_spec(config), run_dir / "run")
    pids = []
    try:
        for node in federation.spec.nodes:
            status, body = _get(federation, node.http_port, "/readyz")
            assert status == 200 and json.loads(body)["ready"] is True
            status, body = _get(federation, node.http_port, "/metrics")
            assert status == 200 and b"risai_node_info" in body
            expiry = re.search(rb'risai_tls_cert_expiry_seconds\{cert="server"\} (\S+)', body)
            assert expiry and 20 * 86400 < float(expiry.group(1)) <= 30 * 86400
            _check_https(federation, node)
        _check_secure_login(federation, federation.spec.nodes[0], run_dir / "run" / "demo-staff.txt")
        # Each town's residents were imported at its own node only; replication over the
        # real three-broker cluster brings every town's residents to every node.
        counts = _wait_replicated(federation, 3 * 150)
        assert set(counts.values()) == {450}, counts
        assert "password" in (run_dir / "run" / "demo-staff.txt").read_text()
        rows = federation.status()
        assert len(rows) == 9 and all(r["pid"] for r in rows)
        pids = [r["pid"] for r in rows]
        # up is idempotent: a second run starts nothing new.
        assert main(["up", *argv]) == 0
        assert [r["pid"] for r in federation.status()] == pids
        out = capsys.readouterr().out
        assert all(f"https://127.0.0.1:{n.http_port}/" in out for n in federation.spec.nodes)
    finally:
        assert main(["down", *argv]) == 0
    assert all(process_start_ticks(pid) is None for pid in pids), "down left a process behind"
    assert all(r["pid"] is None for r in federation.status())


def test_unknown_town_is_named(run_dir, capsys):
    config = federation_file(run_dir, **{'town = "172049"': 'town = "999999"'})
    assert main(["up", "--config", str(config), "--run-dir", str(run_dir / "run")]) == 2
    err = capsys.readouterr().err
    assert "999999" in err and "nodes.town" in err


def test_port_taken_by_another_program_is_named_and_nothing_starts(run_dir, capsys):
    config = federation_file(run_dir)
    spec = load_spec(config)
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", spec.nodes[1].pg_port))
    blocker.listen()
    try:
        assert main(["up", "--config", str(config), "--run-dir", str(run_dir / "run")]) == 2
    finally:
        blocker.close()
    err = capsys.readouterr().err
    assert str(spec.nodes[1].pg_port) in err and "already in use" in err and "pg_port" in err
    assert not (run_dir / "run" / "kafka").exists(), "a refused start must not start anything"


def test_missing_java_and_postgres_name_the_fix(run_dir, monkeypatch):
    federation = Federation(load_spec(federation_file(run_dir)), run_dir / "run")
    monkeypatch.setenv("PATH", str(run_dir))  # no java on this PATH
    with pytest.raises(DeployError, match="java not found.*openjdk-17"):
        federation.preflight()
    monkeypatch.undo()
    monkeypatch.setenv("RISAI_PG_BIN", str(run_dir / "no-postgres-here"))
    with pytest.raises(DeployError, match="PostgreSQL 15 server binaries not found.*postgresql-15"):
        federation.preflight()
