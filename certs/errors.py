"""Errors raised by certs/.

One small hierarchy with stable, dotted codes (``town_code.check_digit``) so the service
layer can render every error as ``{"error": {"code", "message", "fields"}}`` and map the
input errors to HTTP 422 without parsing messages.
"""

from __future__ import annotations


class CertsError(Exception):
    """Base error of the certs package.

    ``code`` is stable and machine-readable; ``message`` is for people; ``field`` names the
    input field at fault, or is None when the error is not about one field.
    """

    default_code = "certs.error"

    def __init__(self, code: str | None, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code or self.default_code
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, field={self.field!r})"


class InvalidInput(CertsError):
    """Bad domain input: town code, damage ratio, certificate content, number (HTTP 422)."""

    default_code = "certs.invalid_input"


class StateTransitionError(CertsError):
    """A certificate state change that the rules forbid (e.g. superseding a revoked one)."""

    default_code = "certs.state"


class KeyFileError(CertsError):
    """Key files missing, unreadable, or with permissions that expose the private key."""

    default_code = "certs.key"


class PkiError(CertsError):
    """Certificate authority, delegation or ceremony failure."""

    default_code = "certs.pki"


class TrustListError(CertsError):
    """A trust list that is missing, malformed, or whose signature does not verify."""

    default_code = "certs.trust_list"


class VerificationError(CertsError):
    """Malformed certificate input (QR string or COSE bytes).

    This is the only exception the decoding path lets escape for untrusted input.
    """

    default_code = "certs.malformed"
