"""Printed boxes: text on the form that the QR binds by digest instead of carrying it.

Claims format 2 keeps the QR at version 15 or lower by leaving out the optional boxes of
the unified form (世帯構成員, その他の被害, the 交付場所 detail) and, only when the QR would
otherwise be too large, a householder address that differs from the dwelling's. The
signed claims carry a 16-byte digest of that text instead, so it is still covered by the
signature: anyone holding the printed text (the certificate record, the paper form) can
check it against the QR, and any change to it changes the digest.

Digest = SHA-256(canonical CBOR ``[label, householder address | null,
[[name, relation], ...], other damage | null, place | null]``)[:16], where the
householder address is null when the QR carries it (or it equals the dwelling's).
16 bytes (128 bits) leave a second preimage out of reach; the label separates this hash
from any other use of SHA-256 over CBOR.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

import cbor2

from .errors import InvalidInput
from .model import Certificate, HouseholdMember

DIGEST_LABEL = "JPRC printed boxes v2"
DIGEST_BYTES = 16
# What a decoded certificate holds for a householder address the QR does not carry:
# "see the printed certificate". It is never signed; verify() with the printed text, or
# decode_certificate(..., printed_boxes=...), replaces it with the real address.
PRINTED_ONLY = "（証明書面に記載）"


@dataclass(frozen=True)
class PrintedBoxes:
    """The text printed on the form that the QR may carry only as a digest.

    ``householder_address`` None means "as the QR says" (the dwelling's address, or the
    address carried in the QR); give it when checking a certificate whose QR left it out.
    """

    members: tuple[HouseholdMember, ...] = ()
    other_damage: str | None = None
    place: str | None = None
    householder_address: str | None = None

    @classmethod
    def of(cls, cert: Certificate) -> PrintedBoxes:
        """Everything ``cert`` prints that the QR may leave out (store this with the record)."""
        return cls(tuple(cert.members), cert.other_damage, cert.issuing.place, cert.householder_address)

    def apply(self, cert: Certificate) -> Certificate:
        """``cert`` (e.g. decoded from a QR) with these boxes filled in."""
        return replace(
            cert,
            members=tuple(self.members),
            other_damage=self.other_damage,
            issuing=replace(cert.issuing, place=self.place),
            householder_address=self.householder_address or cert.householder_address,
        )

    def to_record(self) -> dict[str, Any]:
        """JSON-ready form for the certificate record."""
        return {
            "members": [[m.name, m.relation] for m in self.members],
            "other_damage": self.other_damage,
            "place": self.place,
            "householder_address": self.householder_address,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> PrintedBoxes:
        """Inverse of to_record; raise InvalidInput if the record is malformed."""
        try:
            members = tuple(HouseholdMember(name, relation) for name, relation in record.get("members") or ())
            return cls(members, record.get("other_damage"), record.get("place"), record.get("householder_address"))
        except (TypeError, ValueError, AttributeError):
            raise InvalidInput("boxes.record", "printed boxes record is malformed", "printed_boxes") from None


def householder_in_qr_default(cert: Certificate) -> bool:
    """True when the householder address needs no room of its own (same as the dwelling)."""
    return cert.householder_address == cert.dwelling_address


def boxes_digest(cert: Certificate, householder_in_qr: bool) -> bytes | None:
    """Digest of the text of ``cert`` that the QR leaves out, or None if it leaves out nothing."""
    address = None if householder_in_qr or householder_in_qr_default(cert) else cert.householder_address
    members = [[m.name, m.relation] for m in cert.members]
    if address is None and not members and cert.other_damage is None and cert.issuing.place is None:
        return None
    data = cbor2.dumps([DIGEST_LABEL, address, members, cert.other_damage, cert.issuing.place], canonical=True)
    return hashlib.sha256(data).digest()[:DIGEST_BYTES]
