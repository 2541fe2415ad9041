"""Errors raised by certs/: named kinds of the federation's one error type (risai_errors).

Codes are stable and dotted (``town_code.check_digit``); the node's middleware renders them
as ``{"error": {"code", "message", "fields"}}`` and picks the HTTP status from the kind.
"""

from __future__ import annotations

from risai_errors import Error, FieldProblem, Kind


class CertsError(Error):
    """Base error of the certs package: ``CertsError(code, message, field=None)``.

    ``field`` names the input field at fault (it becomes the error's one field problem).
    """

    kind, code = Kind.INVALID, "certs.error"

    def __init__(self, code: str | None, message: str, field: str | None = None) -> None:
        code = code or type(self).code
        super().__init__(message, code=code, fields=[FieldProblem(field, message, code)] if field else [])


class InvalidInput(CertsError):
    """Bad domain input: town code, damage ratio, certificate content, number (HTTP 422)."""

    kind, code = Kind.INVALID, "certs.invalid_input"


class StateTransitionError(CertsError):
    """A certificate state change that the rules forbid (e.g. superseding a revoked one)."""

    kind, code = Kind.CONFLICT, "certs.state"


class KeyFileError(CertsError):
    """Key files missing, unreadable, or with permissions that expose the private key."""

    # FORBIDDEN: a request that needs this node's key is refused while the key is unusable.
    kind, code = Kind.FORBIDDEN, "certs.key"


class PkiError(CertsError):
    """Certificate authority, delegation or ceremony failure."""

    kind, code = Kind.FORBIDDEN, "certs.pki"


class TrustListError(CertsError):
    """A trust list that is missing, malformed, or whose signature does not verify."""

    kind, code = Kind.INVALID, "certs.trust_list"


class VerificationError(CertsError):
    """Malformed certificate input (QR string or COSE bytes).

    This is the only exception the decoding path lets escape for untrusted input.
    """

    kind, code = Kind.INVALID, "certs.malformed"
