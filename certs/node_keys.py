"""A node's key folder: its private key (never leaves the node) and its delegations.

Layout of ``<key dir>``::

    node.key.pem                 private key, mode 0600
    node.pub.pem                 public key (sent to the ceremony)
    delegations/<town code>.pem  current delegation from that town's CA
    pkcs11.toml                  instead of node.key.pem: the key is in a PKCS#11 token
                                 (see pkcs11_keys.py)

The service loads one Signer per town it may sign for; the kid of each Signer is the kid
of the delegation certificate, so a verifier finds that delegation in the trust list.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .errors import KeyFileError, PkiError
from .keys import (
    ES256,
    PublicKey,
    Signer,
    SoftwareSigner,
    generate_private_key,
    load_private_key,
    public_key_pem,
    save_private_key,
)
from .pkcs11_keys import Pkcs11Config, token_public_key, token_signer
from .pki import delegation_of, kid_of, within_validity

NODE_KEY = "node.key.pem"
NODE_PUB = "node.pub.pem"
DELEGATIONS = "delegations"


def generate_node_key(key_dir: Path, alg: str = ES256) -> PublicKey:
    """Create the node's key pair in ``key_dir`` (run on the node itself)."""
    key = generate_private_key(alg)
    save_private_key(Path(key_dir) / NODE_KEY, key)
    (Path(key_dir) / NODE_PUB).write_bytes(public_key_pem(key))
    return key.public_key()


def node_public_key(key_dir: Path) -> PublicKey:
    """The node's public key, as the ceremony reads it."""
    try:
        return serialization.load_pem_public_key((Path(key_dir) / NODE_PUB).read_bytes())
    except (OSError, ValueError) as exc:
        raise KeyFileError("key.public_missing", f"no usable {NODE_PUB} in {key_dir}: {exc}", "key_dir") from None


def install_delegation(key_dir: Path, cert: x509.Certificate) -> Path:
    """Write a delegation into the node's folder, replacing the one for the same town."""
    town = delegation_of(cert).town_code
    folder = Path(key_dir) / DELEGATIONS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{town}.pem"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp, path)  # atomic: the signer never reads a half-written certificate
    return path


def load_delegations(key_dir: Path) -> dict[str, x509.Certificate]:
    """Current delegations of the node, by town code."""
    result = {}
    for path in sorted((Path(key_dir) / DELEGATIONS).glob("*.pem")):
        try:
            cert = x509.load_pem_x509_certificate(path.read_bytes())
        except ValueError:
            raise KeyFileError("key.delegation_malformed", f"{path} is not a PEM certificate", "key_dir") from None
        result[delegation_of(cert).town_code] = cert
    return result


def load_node_signers(key_dir: Path) -> dict[str, Signer]:
    """One Signer per town this node holds a delegation for (validity not checked).

    A SoftwareSigner over ``node.key.pem``, or a Pkcs11Signer when the folder holds
    ``pkcs11.toml`` (the key then never leaves the token).
    """
    token = Pkcs11Config.load(key_dir)
    key = None if token else load_private_key(Path(key_dir) / NODE_KEY)
    own = public_key_pem(token_public_key(token) if token else key)
    signers: dict[str, Signer] = {}
    for town, cert in load_delegations(key_dir).items():
        if public_key_pem(cert.public_key()) != own:
            raise PkiError("pki.key_mismatch", f"delegation for {town} is for another key", "key_dir")
        signers[town] = token_signer(token, kid_of(cert)) if token else SoftwareSigner(key, kid_of(cert))
    return signers


def load_node_signer(key_dir: Path, town_code: str, now: datetime) -> Signer:
    """The Signer for issuing in ``town_code``'s name at ``now``.

    Raises KeyFileError ``key.no_delegation`` if the node may not sign for that town, or
    ``key.delegation_expired`` if the delegation is not valid at ``now`` (renew it).
    """
    delegations = load_delegations(key_dir)
    cert = delegations.get(town_code)
    if cert is None:
        raise KeyFileError("key.no_delegation", f"this node holds no delegation from town {town_code}", "town_code")
    if not within_validity(cert, now):
        raise KeyFileError(
            "key.delegation_expired",
            f"delegation from {town_code} is valid {cert.not_valid_before_utc} .. {cert.not_valid_after_utc}",
            "town_code",
        )
    return load_node_signers(key_dir)[town_code]
