"""The service's named errors: kinds of the one error type (risai_errors) with default codes.

No HTTP here: service.web.errors decides every status from the error's kind. Use cases and
handlers raise these (or certs/ and replication/ errors); all are risai_errors.Error, and
a raise may override the code (``NotFound("...", code="application.not_found")``).
"""

from __future__ import annotations

from typing import Any

from risai_errors import Error, Kind


# One line per kind (a table, not logic); the base is a request the node does not understand.
class ServiceError(Error): kind, code = Kind.BAD_REQUEST, "bad_request"
class InvalidRequest(ServiceError): kind, code = Kind.INVALID, "invalid"
class Unauthenticated(ServiceError): kind, code = Kind.UNAUTHENTICATED, "unauthenticated"
class Forbidden(ServiceError): kind, code = Kind.FORBIDDEN, "forbidden"
class NotFound(ServiceError): kind, code = Kind.NOT_FOUND, "not_found"
class Conflict(ServiceError): kind, code = Kind.CONFLICT, "conflict"


class Unavailable(ServiceError):
    """Temporary: retry later. ``retry_after`` (seconds) goes out as Retry-After when known."""

    kind, code = Kind.UNAVAILABLE, "unavailable"

    def __init__(self, message: str, *, retry_after: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class NodeBusy(Unavailable):
    """Every pooled database connection stayed in use for the acquire timeout: the node is
    overloaded, not broken. A clean 503 with Retry-After, never a request that hangs."""

    code = "node.busy"
