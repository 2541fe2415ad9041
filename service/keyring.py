"""The node's keys and the trust list, loaded once at start-up.

The node key never leaves the node (DESIGN 5). It signs certificates in the name of each
town that delegated to it, and it signs replication event envelopes with its own town's
delegation kid, so peers check both against the same trust list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from certs.keys import SoftwareSigner
from certs.node_keys import load_node_signer, load_node_signers
from certs.pki import delegation_of
from certs.trust_list import TrustList, load_trust_list


@dataclass
class Keyring:
    """Signers by town code, and the current trust list (replaced when a newer one arrives)."""

    key_dir: Path
    own_town: str
    signers: dict[str, SoftwareSigner]
    trust_list: TrustList

    @classmethod
    def load(cls, key_dir: Path, trust_list_path: Path, root_cert: Path, own_town: str) -> "Keyring":
        anchor = x509.load_pem_x509_certificate(Path(root_cert).read_bytes())
        return cls(Path(key_dir), own_town, load_node_signers(key_dir),
                   load_trust_list(Path(trust_list_path), anchor))

    @property
    def event_signer(self) -> SoftwareSigner:
        """The signer for replication envelopes: the node key under its own town's kid."""
        return self.signers[self.own_town]

    def signer_for(self, town_code: str, now: datetime) -> SoftwareSigner:
        """The signer for issuing in town_code's name; KeyFileError if not delegated or expired."""
        return load_node_signer(self.key_dir, town_code, now)

    def key_owner(self, kid: bytes) -> str | None:
        """The node a kid's delegation was issued to, so an event signed by one node's key
        cannot claim to come from another node."""
        cert = self.trust_list.delegation(kid)
        return delegation_of(cert).node_id if cert is not None else None

    def key_lookup(self, kid: bytes) -> Any:
        """The public key for an envelope kid, or None if unknown or revoked."""
        cert = self.trust_list.delegation(kid)
        if cert is None or self.trust_list.key_revocation(kid) is not None:
            return None
        return cert.public_key()
