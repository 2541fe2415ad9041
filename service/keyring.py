"""The node's keys and the trust list, loaded once at start-up.

The node key never leaves the node (DESIGN 5). It signs certificates in the name of each
town that delegated to it, and it signs replication event envelopes with its own town's
delegation kid, so peers check both against the same trust list.

Issuing signers and their delegations are kept in memory and reloaded when a file of the
key folder changes (a renewed delegation is installed with an atomic rename): the folder's
modification times are looked at no more than once a second, so an issuance no longer
re-reads and re-parses PEM files (issue 10: that cost about nine signatures' worth).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from cryptography import x509

from certs.errors import KeyFileError
from certs.keys import Signer, SoftwareSigner
from certs.node_keys import DELEGATIONS, load_delegations, load_node_signers
from certs.pki import delegation_of, within_validity
from certs.trust_list import TrustList, load_trust_list


@dataclass
class Keyring:
    """Signers by town code, and the current trust list (replaced when a newer one arrives)."""

    key_dir: Path
    own_town: str
    signers: dict[str, SoftwareSigner]
    trust_list: TrustList
    _issuing: "KeyFolderCache" = field(default_factory=lambda: KeyFolderCache(), repr=False)

    @classmethod
    def load(cls, key_dir: Path, trust_list_path: Path, root_cert: Path, own_town: str) -> "Keyring":
        anchor = x509.load_pem_x509_certificate(Path(root_cert).read_bytes())
        return cls(Path(key_dir), own_town, load_node_signers(key_dir),
                   load_trust_list(Path(trust_list_path), anchor))

    @property
    def event_signer(self) -> SoftwareSigner:
        """The signer for replication envelopes: the node key under its own town's kid."""
        return self.signers[self.own_town]

    def signer_for(self, town_code: str, now: datetime) -> Signer:
        """The signer for issuing in town_code's name; KeyFileError if not delegated or expired.

        Same answers as certs.node_keys.load_node_signer, from the cached key folder.
        """
        delegations, signers = self._issuing.current(self.key_dir)
        cert = delegations.get(town_code)
        if cert is None:
            raise KeyFileError("key.no_delegation", f"this node holds no delegation from town {town_code}",
                               "town_code")
        if not within_validity(cert, now):
            raise KeyFileError(
                "key.delegation_expired",
                f"delegation from {town_code} is valid {cert.not_valid_before_utc} .. {cert.not_valid_after_utc}",
                "town_code")
        return signers[town_code]

    def delegation_expiries(self) -> dict[str, datetime]:
        """When each delegation this node holds ends, by town code (for the expiry gauge)."""
        delegations, _ = self._issuing.current(self.key_dir)
        return {town: cert.not_valid_after_utc for town, cert in delegations.items()}

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


class KeyFolderCache:
    """Delegations and signers of a key folder, reloaded when one of its files changes.

    The check (a stat of the folder's files) runs at most every ``check_every`` seconds;
    a load that fails is not kept, so the error is raised again until the folder is fixed.
    """

    def __init__(self, *, check_every: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.check_every, self.clock = check_every, clock
        self._stamp: tuple | None = None
        self._checked_at = float("-inf")
        self._loaded: tuple[dict[str, x509.Certificate], dict[str, Signer]] | None = None

    def current(self, key_dir: Path) -> tuple[dict[str, x509.Certificate], dict[str, Signer]]:
        """(delegations by town, signers by town) as the folder holds them now."""
        if self._loaded is not None and self.clock() - self._checked_at < self.check_every:
            return self._loaded
        stamp = _folder_stamp(key_dir)
        self._checked_at = self.clock()
        if self._loaded is None or stamp != self._stamp:
            self._loaded = None
            loaded = (load_delegations(key_dir), load_node_signers(key_dir))
            self._loaded, self._stamp = loaded, stamp
        return self._loaded


def _folder_stamp(key_dir: Path) -> tuple:
    """What changes when a key file is replaced: names, sizes and modification times."""
    paths = [*Path(key_dir).glob("*"), *(Path(key_dir) / DELEGATIONS).glob("*.pem")]
    stamp = []
    for path in sorted(paths):
        try:
            st = path.stat()
        except FileNotFoundError:  # replaced between glob and stat: the next check sees it
            continue
        stamp.append((str(path), st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(stamp)
