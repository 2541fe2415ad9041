"""The service's error hierarchy and the one middleware that renders every error as JSON.

Every error reaches the client as {"error": {"code", "message", "fields"}} where fields is
a list of {"field", "reason", "code"}. Domain errors from certs/ and service/records keep
their stable codes. Anything unexpected becomes a 500 that leaks nothing but a request id
that staff can quote; the traceback goes to the log only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any, Awaitable, Callable

import asyncpg
from aiohttp import web

from certs.errors import CertsError, InvalidInput, KeyFileError, PkiError, StateTransitionError
from service.records import RecordError

log = logging.getLogger("service.errors")


class ServiceError(Exception):
    """Base of the service's own errors: an HTTP status, a stable code and field problems."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None,
                 fields: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or []

    @classmethod
    def field(cls, field: str, reason: str, code: str | None = None) -> "ServiceError":
        """An error about one input field."""
        return cls(f"{field}: {reason}", code=code,
                   fields=[{"field": field, "reason": reason, "code": code or cls.code}])


class InvalidRequest(ServiceError):
    status, code = 422, "invalid"


class Unauthenticated(ServiceError):
    status, code = 401, "unauthenticated"


class Forbidden(ServiceError):
    status, code = 403, "forbidden"


class NotFound(ServiceError):
    status, code = 404, "not_found"


class Conflict(ServiceError):
    status, code = 409, "conflict"


class Unavailable(ServiceError):
    status, code = 503, "unavailable"


def error_body(code: str, message: str, fields: list[dict[str, str]] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or []}}


def _json_error(status: int, code: str, message: str,
                fields: list[dict[str, str]] | None = None) -> web.Response:
    return web.json_response(error_body(code, message, fields), status=status,
                             dumps=lambda o: json.dumps(o, ensure_ascii=False))


def _from_certs(exc: CertsError) -> web.Response:
    fields = [{"field": exc.field, "reason": exc.message, "code": exc.code}] if exc.field else []
    if isinstance(exc, (InvalidInput, StateTransitionError)):
        status = 422 if isinstance(exc, InvalidInput) else 409
        return _json_error(status, exc.code, exc.message, fields)
    if isinstance(exc, (KeyFileError, PkiError)):
        return _json_error(403, exc.code, exc.message, fields)
    return _json_error(422, exc.code, exc.message, fields)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render every error as the JSON error body; never leak a traceback."""
    try:
        return await handler(request)
    except ServiceError as exc:
        return _json_error(exc.status, exc.code, exc.message, exc.fields)
    except CertsError as exc:
        return _from_certs(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status, "http_error")
        return _json_error(exc.status, code, exc.reason)
    except RecordError as exc:
        return _json_error(422, exc.code, str(exc), exc.fields())
    except asyncpg.DiskFullError:
        # The node's disk is full (a chaos drill's disk_full, or real): no write can land,
        # nothing half-written stays (the transaction rolled back). Retry once space returns.
        log.warning("database disk full", extra={"path": request.path})
        return _json_error(503, "database.storage_full",
                           "ノードのディスクが満杯です。しばらくして再試行してください / "
                           "the node's database disk is full; retry later")
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresConnectionError) as exc:
        # The node's own database is down or restarting (a crash, a failover): that is a
        # temporary unavailability the client may retry, not an internal error.
        log.warning("database unavailable", extra={"path": request.path, "error": type(exc).__name__})
        return _json_error(503, "database.unavailable",
                           "the node's database is not reachable right now; retry shortly")
    except Exception:  # noqa: BLE001 - the last line of defence: log, never leak
        incident = uuid.uuid4().hex[:12]
        log.exception("unhandled error", extra={"incident": incident, "path": request.path})
        return _json_error(500, "internal", f"internal error; quote incident {incident}")


def parse_json_object(raw: Any) -> dict[str, Any]:
    """The request body must be one JSON object."""
    if not isinstance(raw, dict):
        raise InvalidRequest.field("body", "must be a JSON object", "invalid.type")
    return raw
