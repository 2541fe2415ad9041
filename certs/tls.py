"""Transport PKI: a TLS CA under the federation root, and the TLS certificates of brokers,
nodes and the launcher; plus the ssl contexts built from those files.

Why one TLS CA under the root (not one per town): the brokers and every HTTPS client need
one trust anchor, and a town CA's job is to delegate signing rights. Trusting the town CAs
for transport would let any town's CA key mint a Kafka identity for any node. The TLS CA
is the only anchor of every TLS trust store, and it chains to the published root, so an
operator can check it and the root can replace it. See docs/security.md.

Layout under the ceremony's output folder::

    offline/tls-ca.key.pem, offline/tls-ca.pem   the TLS CA (keep offline, like the town CAs)
    tls/ca.pem                                  the TLS CA certificate: the trust anchor
    tls/brokers/broker-<id>/                    broker (server and inter-broker client)
    tls/admin/                                  the launcher: the one Kafka super user
    nodes/<node id>/tls/server/                 the node's HTTPS certificate
    nodes/<node id>/tls/client/                 the node's Kafka identity, User:CN=<node id>

Every identity folder holds ``cert.pem`` (leaf, then the TLS CA), ``key.pem`` (mode 0600)
and ``ca.pem``; brokers also ``keystore.pem`` (key and chain: Kafka's PEM keystore).
Certificates are short-lived and renewed ahead of expiry over the same key, as delegations.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .keys import ES256, generate_private_key, load_private_key, save_private_key
from .numbers import validate_node_id
from .pki import _base, _ca_usage, _sign, issued_by

TLS_CA_VALIDITY = timedelta(days=10 * 365)
TLS_VALIDITY = timedelta(days=30)
TLS_RENEW_BEFORE = timedelta(days=10)  # as delegations: weeks of slack for a rolling restart
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
ADMIN_SUBJECT = x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "operators"),
                           x509.NameAttribute(NameOID.COMMON_NAME, "risai-admin")])
Serials = Callable[[], int]


@dataclass(frozen=True)
class Identity:
    """One TLS end entity: where its files live, its subject, and what it may do."""

    folder: str  # relative to the PKI folder
    subject: x509.Name
    server: bool
    client: bool
    hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class TlsFiles:
    """The files of one identity folder."""

    folder: Path

    @property
    def cert(self) -> Path:
        return self.folder / "cert.pem"

    @property
    def key(self) -> Path:
        return self.folder / "key.pem"

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def keystore(self) -> Path:
        return self.folder / "keystore.pem"

    def certificate(self) -> x509.Certificate:
        """The leaf certificate (the first in cert.pem)."""
        return x509.load_pem_x509_certificate(self.cert.read_bytes())


def broker_identity(broker_id: int, hosts: tuple[str, ...] = ()) -> Identity:
    """A broker: server for clients, client of its peers (inter-broker and controller)."""
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "kafka-brokers"),
                         x509.NameAttribute(NameOID.COMMON_NAME, f"broker-{int(broker_id)}")])
    return Identity(f"tls/brokers/broker-{int(broker_id)}", subject, True, True, LOOPBACK_HOSTS + hosts)


def node_client_identity(node_id: str) -> Identity:
    """A node's Kafka identity: subject CN=<node id> only, so its principal is User:CN=<node id>."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, validate_node_id(node_id))])
    return Identity(f"nodes/{node_id}/tls/client", subject, False, True)


def node_server_identity(node_id: str, hosts: tuple[str, ...] = ()) -> Identity:
    """A node's HTTPS certificate (OU=https: never a Kafka principal of the node)."""
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "https"),
                         x509.NameAttribute(NameOID.COMMON_NAME, validate_node_id(node_id))])
    return Identity(f"nodes/{node_id}/tls/server", subject, True, False, LOOPBACK_HOSTS + hosts)


def admin_identity() -> Identity:
    """The launcher's client identity: creates topics and ACLs (the only super user)."""
    return Identity("tls/admin", ADMIN_SUBJECT, False, True)


def principal(subject: x509.Name) -> str:
    """The Kafka principal of a certificate subject (Kafka's DEFAULT mapping: the RFC 2253 DN)."""
    return "User:" + subject.rfc4514_string()


def node_principal(node_id: str) -> str:
    return principal(node_client_identity(node_id).subject)


def broker_principal(broker_id: int) -> str:
    return principal(broker_identity(broker_id).subject)


ADMIN_PRINCIPAL = principal(ADMIN_SUBJECT)


# -- the CA and issuing -------------------------------------------------------------------

def ensure_tls_ca(out: Path, now: datetime, root_key, root: x509.Certificate,
                  serials: Serials = x509.random_serial_number):
    """The TLS CA's (key, certificate); created under ``root`` the first time."""
    key_path, cert_path = out / "offline" / "tls-ca.key.pem", out / "offline" / "tls-ca.pem"
    if key_path.exists() and cert_path.exists():
        return load_private_key(key_path), x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = generate_private_key(ES256)
    save_private_key(key_path, key)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Federation TLS CA")])
    builder = _base(subject, root.subject, key.public_key(), now, TLS_CA_VALIDITY, serials())
    # Path length 0: the TLS CA issues end entities only, never another CA.
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
    builder = builder.add_extension(_ca_usage(), critical=True)
    cert = _sign(builder, root_key)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    _write(out / "tls" / "ca.pem", cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


def issue(ca_key, ca: x509.Certificate, identity: Identity, public_key, now: datetime,
          validity: timedelta, serial: int) -> x509.Certificate:
    """A TLS end-entity certificate for ``identity`` (serverAuth and/or clientAuth)."""
    builder = _base(identity.subject, ca.subject, public_key, now, validity, serial)
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    builder = builder.add_extension(
        x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True)
    purposes = ([ExtendedKeyUsageOID.SERVER_AUTH] if identity.server else []) + \
               ([ExtendedKeyUsageOID.CLIENT_AUTH] if identity.client else [])
    builder = builder.add_extension(x509.ExtendedKeyUsage(purposes), critical=False)
    if identity.hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName(_names(identity.hosts)), critical=False)
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()), critical=False)
    return _sign(builder, ca_key)


def ensure_identity(out: Path, ca_key, ca: x509.Certificate, identity: Identity, now: datetime, *,
                    validity: timedelta = TLS_VALIDITY, renew_before: timedelta = TLS_RENEW_BEFORE,
                    serials: Serials = x509.random_serial_number) -> tuple[TlsFiles, bool]:
    """The identity's files; (re)issued when missing, expiring within ``renew_before``, or
    not from ``ca``. Returns (files, whether a certificate was issued now)."""
    files = TlsFiles(Path(out) / identity.folder)
    if files.cert.exists() and not _due(files.certificate(), ca, now, renew_before):
        return files, False
    if files.key.exists():
        key = load_private_key(files.key)  # renewal keeps the key, as delegations do
    else:
        key = generate_private_key(ES256)
        save_private_key(files.key, key)
    cert = issue(ca_key, ca, identity, key.public_key(), now, validity, serials())
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    chain = cert.public_bytes(serialization.Encoding.PEM) + ca_pem
    _write(files.ca, ca_pem)
    _write(files.cert, chain)
    if identity.server and identity.client and identity.folder.startswith("tls/brokers/"):
        _write(files.keystore, files.key.read_bytes() + chain, mode=0o600)
    return files, True


def _due(cert: x509.Certificate, ca: x509.Certificate, now: datetime, renew_before: timedelta) -> bool:
    return cert.not_valid_after_utc - now <= renew_before or issued_by(cert, ca) is not None


def _names(hosts: tuple[str, ...]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):  # keep order, drop repeats
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    # Atomic: a broker or node starting meanwhile reads the old file or the new, never half.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


# -- ssl contexts -------------------------------------------------------------------------

def client_context(ca: Path, files: TlsFiles | None = None) -> ssl.SSLContext:
    """A TLS client context that trusts only the TLS CA, with a client certificate if given."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca))
    _anchor_at_tls_ca(ctx)
    if files is not None:
        ctx.load_cert_chain(str(files.cert), str(files.key))
    return ctx


def server_context(files: TlsFiles, *, require_client_cert: bool = False) -> ssl.SSLContext:
    """A TLS server context for ``files`` (HTTPS of a node)."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(files.cert), str(files.key))
    if require_client_cert:
        ctx.load_verify_locations(str(files.ca))
        _anchor_at_tls_ca(ctx)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def _anchor_at_tls_ca(ctx: ssl.SSLContext) -> None:
    # The TLS CA is not self-signed (it chains to the federation root). Trusting it as the
    # anchor needs PARTIAL_CHAIN; trusting the root instead would also trust whatever a
    # town CA signs, which must never authenticate to a broker.
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN


def kafka_options(files: TlsFiles) -> dict[str, Any]:
    """aiokafka keyword arguments for SSL with ``files``' client certificate."""
    return {"security_protocol": "SSL", "ssl_context": client_context(files.ca, files)}


def http_client_context(folder: Path) -> ssl.SSLContext:
    """A client context that verifies the federation's HTTPS nodes (no client certificate).

    ``folder`` is a run dir (``<run dir>/pki``), a PKI folder, or a node's TLS folder: the
    one helper every HTTP client in tests, chaos and the launcher uses.
    """
    folder = Path(folder)
    for candidate in (folder / "pki" / "tls" / "ca.pem", folder / "tls" / "ca.pem",
                      folder / "ca.pem", folder / "server" / "ca.pem"):
        if candidate.exists():
            return client_context(candidate)
    raise FileNotFoundError(f"no TLS CA (tls/ca.pem) under {folder}")


# -- the federation's transport PKI --------------------------------------------------------

def federation_identities(config) -> list[Identity]:
    """Every TLS identity of a federation: brokers, admin, and per node server and client."""
    hosts = tuple(config.tls_hosts)
    out = [broker_identity(b, hosts) for b in config.broker_ids] + [admin_identity()]
    for node in config.nodes:
        out += [node_server_identity(node.id, hosts), node_client_identity(node.id)]
    return out


def ensure_transport_pki(config, out: Path, now: datetime, *, validity: timedelta = TLS_VALIDITY,
                         renew_before: timedelta = TLS_RENEW_BEFORE,
                         serials: Serials = x509.random_serial_number) -> list[str]:
    """Create the TLS CA if needed and issue or renew every identity that is missing or due.

    Idempotent: the ceremony's init and renew and the launcher's ``up`` all call it, so
    certificates are renewed ahead of expiry as delegations are. Returns the renewed folders.
    """
    out = Path(out)
    root_key = load_private_key(out / "offline" / "root.key.pem")
    root = x509.load_pem_x509_certificate((out / "offline" / "root.pem").read_bytes())
    ca_key, ca = ensure_tls_ca(out, now, root_key, root, serials)
    issued = []
    for identity in federation_identities(config):
        _, fresh = ensure_identity(out, ca_key, ca, identity, now, validity=validity,
                                   renew_before=renew_before, serials=serials)
        if fresh:
            issued.append(identity.folder)
    return issued


def broker_files(out: Path, broker_id: int) -> TlsFiles:
    return TlsFiles(Path(out) / broker_identity(broker_id).folder)


def admin_files(out: Path) -> TlsFiles:
    return TlsFiles(Path(out) / admin_identity().folder)


def node_tls_dir(out: Path, node_id: str) -> Path:
    """A node's TLS folder (``server/`` and ``client/``), what its ``tls.dir`` names."""
    return Path(out) / "nodes" / node_id / "tls"


def create_transport_pki(out: Path, now: datetime, broker_ids, *, name: str = "test federation") -> Path:
    """A root, TLS CA, broker and admin identities in an empty folder, without towns: for
    a Kafka cluster that is not part of a federation run (test fixtures, benchmarks)."""
    from .pki import create_root_ca

    out = Path(out)
    root_key = generate_private_key(ES256)
    save_private_key(out / "offline" / "root.key.pem", root_key)
    root = create_root_ca(root_key, name, now, TLS_CA_VALIDITY, x509.random_serial_number())
    _write(out / "offline" / "root.pem", root.public_bytes(serialization.Encoding.PEM))
    ca_key, ca = ensure_tls_ca(out, now, root_key, root)
    for identity in [broker_identity(b) for b in broker_ids] + [admin_identity()]:
        ensure_identity(out, ca_key, ca, identity, now)
    return out


def ensure_node_tls(out: Path, node_id: str, now: datetime) -> Path:
    """A node's server and client identities under an existing TLS CA (issued once, then
    reused); returns the node's TLS folder (what its ``tls.dir`` setting names)."""
    out = Path(out)
    ca_key = load_private_key(out / "offline" / "tls-ca.key.pem")
    ca = x509.load_pem_x509_certificate((out / "offline" / "tls-ca.pem").read_bytes())
    for identity in (node_server_identity(node_id), node_client_identity(node_id)):
        ensure_identity(out, ca_key, ca, identity, now)
    return node_tls_dir(out, node_id)
