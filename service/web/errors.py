"""The one middleware that renders every error as JSON, and the one table kind → HTTP status.

Every error reaches the client as {"error": {"code", "message", "fields"}} where fields is
a list of {"field", "reason", "code"}. Errors of every package are risai_errors.Error and
keep their stable codes; only here is a kind turned into a status. Anything unexpected (and
every INTERNAL error) becomes a 500 that leaks nothing but a request id that staff can
quote; the traceback goes to the log only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Awaitable, Callable

import asyncpg
from aiohttp import web

from risai_errors import Error, Kind

log = logging.getLogger("service.errors")

STATUS: dict[Kind, int] = {
    Kind.INVALID: 422,
    Kind.BAD_REQUEST: 400,
    Kind.UNAUTHENTICATED: 401,
    Kind.FORBIDDEN: 403,
    Kind.NOT_FOUND: 404,
    Kind.CONFLICT: 409,
    Kind.UNSUPPORTED_MEDIA_TYPE: 415,
    Kind.THROTTLED: 429,
    Kind.UNAVAILABLE: 503,
}  # Kind.INTERNAL is absent on purpose: it is rendered as the 500 that leaks nothing.


def _json_error(status: int, code: str, message: str,
                fields: list[dict[str, str]] | None = None,
                headers: dict[str, str] | None = None) -> web.Response:
    body = {"error": {"code": code, "message": message, "fields": fields or []}}
    return web.json_response(body, status=status, headers=headers,
                             dumps=lambda o: json.dumps(o, ensure_ascii=False))


def _internal(request: web.Request) -> web.Response:
    incident = uuid.uuid4().hex[:12]
    log.exception("unhandled error", extra={"incident": incident, "path": request.path})
    return _json_error(500, "internal", f"internal error; quote incident {incident}")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render every error as the JSON error body; never leak a traceback."""
    try:
        return await handler(request)
    except Error as exc:
        status = STATUS.get(exc.kind)
        if status is None:
            return _internal(request)
        retry = getattr(exc, "retry_after", None)
        return _json_error(status, exc.code, exc.message, exc.fields,
                           {"Retry-After": str(retry)} if retry is not None else None)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status, "http_error")
        return _json_error(exc.status, code, exc.reason)
    except asyncpg.DiskFullError:
        # The node's disk is full (a chaos drill's disk_full, or real): no write can land,
        # nothing half-written stays (the transaction rolled back). Retry once space returns.
        log.warning("database disk full", extra={"path": request.path})
        return _json_error(503, "database.storage_full",
                           "ノードのディスクが満杯です。しばらくして再試行してください / "
                           "the node's database disk is full; retry later")
    except Exception as exc:  # noqa: BLE001 - the last line of defence: log, never leak
        if database_unavailable(exc):
            # The node's own database is down or restarting (a crash, a failover): that is a
            # temporary unavailability the client may retry, not an internal error.
            log.warning("database unavailable", extra={"path": request.path, "error": type(exc).__name__})
            return _json_error(503, "database.unavailable",
                               "the node's database is not reachable right now; retry shortly")
        return _internal(request)


# The database went away or is not there yet: a restart ("the database system is starting
# up", 57P03), an administrator or crash shutdown (57P01/57P02), too many connections, a
# connection lost mid-transaction (asyncpg then says "connection is closed" when the
# transaction block rolls back).
# A full disk also makes PostgreSQL refuse new connections at start-up with "could not write
# init file" (XX000, InternalServerError) and fail I/O (58xxx, PostgresSystemError); both
# pass once space returns (the disk-full drill), so they are unavailability, not a 500.
_DB_GONE = (OSError, asyncio.TimeoutError, asyncpg.PostgresConnectionError,
            asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError, asyncpg.CrashShutdownError,
            asyncpg.InsufficientResourcesError, asyncpg.PostgresSystemError, asyncpg.InternalServerError)


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether ``exc`` means the database is unreachable (an asyncpg InterfaceError raised
    while cleaning up after a lost connection counts by what it was raised from)."""
    if isinstance(exc, _DB_GONE):
        return True
    if isinstance(exc, asyncpg.InterfaceError):
        return "connection is closed" in str(exc) or database_unavailable(exc.__cause__ or exc.__context__)
    return False
