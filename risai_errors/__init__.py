"""One error type for the whole federation: a kind, a stable code, a message, field problems.

Modelled on letsencrypt/boulder's errors package: every error any package raises for a
caller to handle is an :class:`Error` (or a named subclass that only picks a default kind
and code). The *kind* says what went wrong in words every layer understands (bad input, not
found, conflict, ...); the *code* is the stable, dotted, machine-readable reason
(``town_code.check_digit``, ``auth.role``, ``bad_signature``) that clients, quarantine rows
and metric labels carry and that must never be renamed once released.

Nothing here knows about HTTP: the node's middleware (service.web.errors) owns the one table
kind → status. This package imports nothing of the project, so certs/, replication/ and
service/ may all import it.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, ClassVar, Iterable, Mapping


class Kind(enum.Enum):
    """What went wrong, in the words of the caller (boulder's ErrorType)."""

    INVALID = "invalid"                # input that breaks a rule or a format
    BAD_REQUEST = "bad_request"        # a request that is not understood at all
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"            # not allowed, or this node holds no usable key for it
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"              # the current state forbids it (a rule, a race)
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    THROTTLED = "throttled"
    UNAVAILABLE = "unavailable"        # temporary: retry later
    INTERNAL = "internal"              # a fault of the system, never shown to a client


@dataclasses.dataclass(frozen=True, slots=True)
class FieldProblem:
    """One failing field: which field, why (for people), and a stable code (for programs).

    ``detail`` holds further JSON members of the problem (a CSV error's row and column).
    """

    field: str
    reason: str
    code: str
    detail: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False)

    def as_json(self) -> dict[str, Any]:
        """The problem as one member of an error body's ``fields``."""
        return {"field": self.field, "reason": self.reason, "code": self.code, **self.detail}


class Error(Exception):
    """The federation's one error type.

    ``kind`` and ``code`` default to the class's; ``problems`` lists the failing fields (may
    be empty). Subclasses exist only to name a default kind and code.
    """

    kind: ClassVar[Kind] = Kind.INTERNAL
    code: str = "internal"

    def __init__(self, message: str, *, code: str | None = None, kind: Kind | None = None,
                 fields: Iterable[FieldProblem | Mapping[str, str]] = ()) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if kind is not None:
            self.kind = kind  # type: ignore[misc] - an instance may override its class's kind
        self.problems: tuple[FieldProblem, ...] = tuple(_problem(p) for p in fields)

    @classmethod
    def about(cls, field: str, reason: str, code: str | None = None, **kwargs: Any) -> "Error":
        """An error about one input field (the message names the field and the reason)."""
        code = code or cls.code
        return cls(f"{field}: {reason}", code=code, fields=[FieldProblem(field, reason, code)], **kwargs)

    @property
    def field(self) -> str | None:
        """The first failing field, or None when the error is not about a field."""
        return self.problems[0].field if self.problems else None

    @property
    def fields(self) -> list[dict[str, str]]:
        """The problems as JSON-ready dicts, for the ``fields`` member of an error body."""
        return [p.as_json() for p in self.problems]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kind={self.kind.value}, code={self.code!r}, message={self.message!r})"


def _problem(p: FieldProblem | Mapping[str, str]) -> FieldProblem:
    if isinstance(p, FieldProblem):
        return p
    detail = {k: v for k, v in p.items() if k not in ("field", "reason", "code")}
    return FieldProblem(p["field"], p["reason"], p["code"], detail)

