"""Key ceremony: create and maintain the federation PKI from a federation TOML.

Output folder::

    trust-list.cbor, root.pem     public: publish to every node and verifier
    offline/root.key.pem, offline/root.pem, offline/towns/<code>.key.pem, .pem
                                  the CA keys: keep this folder offline
    nodes/<node id>/              one node's key folder (see node_keys.py)
    tls/, offline/tls-ca.*        the transport PKI: TLS CA and certificates (see tls.py)

``init`` builds everything; ``renew`` re-issues delegations that expire soon; ``revoke``
revokes delegations or certificate numbers. Each writes a trust list with a bumped version.
Node keys are generated inside each node folder only if the node has not already put its
own ``node.pub.pem`` there (the development shortcut: on real nodes the key is generated
on the node and only the public key travels).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from .errors import CertsError, PkiError
from .federation import FederationConfig, load_federation
from .keys import ES256, generate_private_key, load_private_key, public_key_pem, save_private_key
from .node_keys import NODE_PUB, generate_node_key, install_delegation, node_public_key
from .pki import create_delegation, create_root_ca, create_town_ca, delegation_of, kid_of
from .tls import ensure_transport_pki
from .trust_list import Revocation, TownEntry, TrustList, load_trust_list, save_trust_list, sign_trust_list

ROOT_VALIDITY = timedelta(days=20 * 365)
TOWN_CA_VALIDITY = timedelta(days=10 * 365)
DELEGATION_VALIDITY = timedelta(days=30)
RENEW_BEFORE = timedelta(days=10)  # a third of the validity: weeks of slack if a town is down
TRUST_LIST = "trust-list.cbor"
Serials = Callable[[], int]


def build_federation_pki(
    config: FederationConfig, out_dir: Path, now: datetime, *, delegation_validity: timedelta = DELEGATION_VALIDITY,
    root_alg: str = ES256, serials: Serials = x509.random_serial_number,
) -> TrustList:
    """Create root, town CAs, node keys (unless present), delegations and trust list v1."""
    out = Path(out_dir)
    if (out / "offline" / "root.key.pem").exists():
        raise PkiError("pki.exists", f"{out} already holds a federation; use renew or revoke", "out_dir")
    root_key = generate_private_key(root_alg)
    save_private_key(out / "offline" / "root.key.pem", root_key)
    root = create_root_ca(root_key, config.name, now, ROOT_VALIDITY, serials())
    _write_cert(out / "offline" / "root.pem", root)
    _write_cert(out / "root.pem", root)
    towns = []
    for town in config.towns:
        town_key = generate_private_key(ES256)
        save_private_key(out / "offline" / "towns" / f"{town.code}.key.pem", town_key)
        ca = create_town_ca(root_key, root, town_key.public_key(), town.code, town.name, now, TOWN_CA_VALIDITY, serials())
        _write_cert(out / "offline" / "towns" / f"{town.code}.pem", ca)
        towns.append(TownEntry(town.code, town.name, town.mayor, ca))
    for node in config.nodes:
        if not (out / "nodes" / node.id / NODE_PUB).exists():
            generate_node_key(out / "nodes" / node.id, node.alg)
    trust_list = TrustList(1, now, config.name, root, tuple(towns), ())
    delegations = _delegate(config, out, now, delegation_validity, serials, lambda town, node: True)
    ensure_transport_pki(config, out, now, serials=serials)  # TLS CA, brokers, nodes, admin
    return _publish(out, replace(trust_list, delegations=delegations), root_key)


def renew_delegations(
    config: FederationConfig, out_dir: Path, now: datetime, *, renew_before: timedelta = RENEW_BEFORE,
    delegation_validity: timedelta = DELEGATION_VALIDITY, serials: Serials = x509.random_serial_number,
) -> TrustList:
    """Re-issue every delegation that is missing or expires within ``renew_before``."""
    out = Path(out_dir)
    current = _load(out)
    revoked = {r.subject for r in current.revoked_keys}
    newest: dict[tuple[str, str], datetime] = {}
    for cert in current.delegations:
        if kid_of(cert).hex() in revoked:
            continue
        grant = delegation_of(cert)
        key = (grant.town_code, grant.node_id)
        newest[key] = max(newest.get(key, cert.not_valid_after_utc), cert.not_valid_after_utc)

    # A node whose key was revoked gets nothing until it has a new key: re-delegating to
    # the same (compromised) key would undo the revocation.
    dead_keys = {public_key_pem(c.public_key()) for c in current.delegations if kid_of(c).hex() in revoked}

    def due(town: str, node: str) -> bool:
        if public_key_pem(node_public_key(out / "nodes" / node)) in dead_keys:
            return False
        expiry = newest.get((town, node))
        return expiry is None or expiry - now <= renew_before

    added = _delegate(config, out, now, delegation_validity, serials, due)
    ensure_transport_pki(config, out, now, serials=serials)  # TLS certificates due, too
    # Old delegations stay listed: certificates they signed must keep verifying.
    return _publish(out, replace(current, delegations=current.delegations + added), _root_key(out), now)


def revoke_delegations(out_dir: Path, now: datetime, reason: str, *, kid: bytes | None = None, node_id: str | None = None) -> TrustList:
    """Revoke one delegation by kid, or every delegation of a node (e.g. key compromise)."""
    out = Path(out_dir)
    current = _load(out)
    targets = [c for c in current.delegations if kid_of(c) == kid or delegation_of(c).node_id == node_id]
    if not targets:
        raise PkiError("pki.unknown_delegation", "no delegation matches the kid or node id", "kid")
    known = {r.subject for r in current.revoked_keys}
    new = tuple(Revocation(kid_of(c).hex(), reason, now) for c in targets if kid_of(c).hex() not in known)
    return _publish(out, replace(current, revoked_keys=current.revoked_keys + new), _root_key(out), now)


def revoke_certificate(out_dir: Path, now: datetime, number: str, reason: str) -> TrustList:
    """Put a certificate number on the trust list's revocation list."""
    from .numbers import CertificateNumber

    canonical = str(CertificateNumber.parse(number))
    out = Path(out_dir)
    current = _load(out)
    if current.certificate_revocation(canonical):
        return current
    rows = current.revoked_certificates + (Revocation(canonical, reason, now),)
    return _publish(out, replace(current, revoked_certificates=rows), _root_key(out), now)


def _delegate(config, out: Path, now, validity, serials, wanted) -> tuple[x509.Certificate, ...]:
    issued = []
    for town in config.towns:
        town_key = load_private_key(out / "offline" / "towns" / f"{town.code}.key.pem")
        ca = x509.load_pem_x509_certificate((out / "offline" / "towns" / f"{town.code}.pem").read_bytes())
        for node in config.delegates_of(town.code):
            if wanted(town.code, node.id):
                node_dir = out / "nodes" / node.id
                cert = create_delegation(town_key, ca, node_public_key(node_dir), node.id, now, validity, serials())
                install_delegation(node_dir, cert)
                issued.append(cert)
    return tuple(issued)


def _publish(out: Path, trust_list: TrustList, root_key, now: datetime | None = None) -> TrustList:
    if now is not None:  # a change: bump the version so caches can tell new from old
        trust_list = replace(trust_list, version=trust_list.version + 1, issued_at=now)
    trust_list = replace(trust_list, status_list_signers=status_list_signers(trust_list.delegations))
    save_trust_list(out / TRUST_LIST, sign_trust_list(trust_list, root_key))
    return trust_list


def status_list_signers(delegations: tuple[x509.Certificate, ...]) -> tuple[bytes, ...]:
    """Every delegated node may sign status lists: any node can build them for the whole
    federation (it holds every revocation), so a verifier can take the list from whichever
    node it reaches. Written out per kid, so a future policy can narrow it without a format
    change; a revoked key is still refused by the verifier through ``revoked_keys``."""
    return tuple(kid_of(cert) for cert in delegations)


def _load(out: Path) -> TrustList:
    try:
        root = x509.load_pem_x509_certificate((out / "offline" / "root.pem").read_bytes())
    except (OSError, ValueError) as exc:
        raise PkiError("pki.no_federation", f"{out} holds no federation root: {exc}", "out_dir") from None
    return load_trust_list(out / TRUST_LIST, anchor=root)


def _root_key(out: Path):
    return load_private_key(out / "offline" / "root.key.pem")


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert.public_bytes(Encoding.PEM))


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="risai-ceremony", description="Federation PKI ceremony")
    parser.add_argument("--now", help="ISO time to use instead of the clock (drills, tests)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("init", "renew"):
        p = sub.add_parser(name)
        p.add_argument("--config", type=Path, required=True, help="federation TOML")
        p.add_argument("--out", type=Path, required=True, help="ceremony output folder")
        p.add_argument("--delegation-days", type=int, default=DELEGATION_VALIDITY.days)
    p = sub.add_parser("revoke", help="revoke a delegation (--kid or --node) or a certificate (--number)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--reason", required=True)
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--kid", help="delegation kid, hex")
    group.add_argument("--node", help="revoke every delegation of this node")
    group.add_argument("--number", help="certificate number (整理番号)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``risai-ceremony``."""
    args = _parse_args(argv)
    now = datetime.fromisoformat(args.now) if args.now else datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    try:
        if args.command in ("init", "renew"):
            config = load_federation(args.config)
            validity = timedelta(days=args.delegation_days)
            run = build_federation_pki if args.command == "init" else renew_delegations
            result = run(config, args.out, now, delegation_validity=validity)
        elif args.number:
            result = revoke_certificate(args.out, now, args.number, args.reason)
        else:
            kid = bytes.fromhex(args.kid) if args.kid else None
            result = revoke_delegations(args.out, now, args.reason, kid=kid, node_id=args.node)
    except (CertsError, ValueError) as exc:
        print(f"risai-ceremony: {getattr(exc, 'code', 'error')}: {exc}", file=sys.stderr)
        return 1
    print(f"trust list v{result.version}: {len(result.towns)} towns, {len(result.delegations)} delegations, "
          f"{len(result.revoked_keys)} revoked keys, {len(result.revoked_certificates)} revoked certificates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
