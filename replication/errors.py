"""Replication errors: named kinds of the federation's one error type, with stable codes.

The codes are what ends up in the quarantine table's ``reason`` column and in metric
labels, so they must never be renamed once released. Retired: ``clock_drift`` (events
stamped too far ahead used to be quarantined; they are applied now, see hlc.receive), so
older quarantine rows may still carry it.
"""

from __future__ import annotations

from risai_errors import Error, Kind


class ReplicationError(Error):
    """Base class of refused events (kind INTERNAL: they never reach a client)."""

    kind, code = Kind.INTERNAL, "replication_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)

    def reason(self) -> str:
        """The text stored in quarantine.reason: ``"<code>: <message>"``."""
        return f"{self.code}: {self.message}"


class MalformedEvent(ReplicationError):
    """The payload is not a well-formed event (bad JSON, missing or mistyped field)."""

    code = "malformed"


class UnknownSchemaVersion(ReplicationError):
    """The event's schema_version is newer than this node understands (or has no upcaster)."""

    code = "unknown_schema_version"


class BadSignature(ReplicationError):
    """The envelope is unsigned, its signature does not verify, or its kid is unknown."""

    code = "bad_signature"


class OriginMismatch(ReplicationError):
    """The event claims an origin node other than the owner of the topic it came from."""

    code = "origin_mismatch"


class InsertOnlyViolation(ReplicationError):
    """A second, different insert for an insert-only entity (certificate, revocation, audit)."""

    code = "insert_only_violation"
