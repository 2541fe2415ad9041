"""Certificate state: issued, superseded by another certificate, or revoked with a reason.

Certificates themselves are immutable; their state changes through separate insert-only
events (a superseding certificate, a revocation). These pure functions say which changes
are allowed, so the service and the replication layer apply the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidInput, StateTransitionError
from .numbers import CertificateNumber


@dataclass(frozen=True)
class Issued:
    """The certificate is current."""

    kind = "issued"


@dataclass(frozen=True)
class Superseded:
    """A re-survey produced ``by``, which replaces this certificate."""

    by: CertificateNumber
    kind = "superseded"


@dataclass(frozen=True)
class Revoked:
    """Withdrawn (e.g. issued in error); ``reason`` is shown to verifiers."""

    reason: str
    kind = "revoked"


CertificateStatus = Issued | Superseded | Revoked


def supersede(status: CertificateStatus, number: CertificateNumber, by: CertificateNumber) -> Superseded:
    """State after certificate ``number`` is superseded by ``by``.

    Only a current certificate can be superseded: a revoked one was withdrawn, and a
    superseded one has a successor that must be superseded instead, so the chain stays linear.
    """
    if by == number:
        raise StateTransitionError("state.self_supersede", f"{number} cannot supersede itself", "supersedes")
    if by.town_code != number.town_code:
        raise StateTransitionError("state.other_town", f"{by} is not from the same town as {number}", "supersedes")
    if isinstance(status, Revoked):
        raise StateTransitionError("state.revoked", f"{number} is revoked and cannot be superseded", "supersedes")
    if isinstance(status, Superseded):
        if status.by == by:
            return status  # idempotent: the same event applied twice
        raise StateTransitionError(
            "state.already_superseded", f"{number} is already superseded by {status.by}", "supersedes"
        )
    return Superseded(by)


def revoke(status: CertificateStatus, reason: str) -> Revoked:
    """State after revocation. Revoking twice keeps the first reason (idempotent)."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("state.reason", "a revocation needs a reason", "reason")
    if isinstance(status, Revoked):
        return status
    return Revoked(reason.strip())
