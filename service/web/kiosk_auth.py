"""Kiosk requests (DESIGN 6, issue 13): the kiosks' own pool, the signature middleware, and who
is at the kiosk.

Every kiosk request is signed (``X-Kiosk-Id``, ``X-Kiosk-Timestamp``, ``X-Kiosk-Nonce``,
``X-Kiosk-Signature``; service.kiosk.devices checks them) and may carry a kiosk session
(``X-Kiosk-Session``) bound to that kiosk and one resident. Header credentials are never sent
by browsers on their own, so kiosk requests need no CSRF token.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, AsyncIterator

from aiohttp import web

from service.errors import Unauthenticated
from service.kiosk.devices import SignedRequest, check_freshness, signed_message, verify_signed
from service.kiosk.self_service import KioskActor, Resident
from service.kiosk.sessions import KioskSession
from service.storage.db import acquire, create_pool
from service.storage.kiosk_audit_queue import draining
from service.web.appkeys import POOL, SETTINGS
from service.web.auth import AUTH_POLICY

KIOSK_POOL_SIZE = 3
KIOSK_POOL: web.AppKey[Any] = web.AppKey("kiosk_pool", object)
KIOSK_DEVICE: web.RequestKey[str | None] = web.RequestKey("kiosk_device")
KIOSK_CENTRE: web.RequestKey[str] = web.RequestKey("kiosk_centre")
KIOSK: web.RequestKey[KioskSession | None] = web.RequestKey("kiosk_session")


# ---- the kiosks' own connections ----------------------------------------------------------
# Kiosk requests use a small pool of their own, beside the node's: a resident at a kiosk
# must not queue behind a busy counter for a connection (issue 13: a kiosk screen answers in
# under 300 ms while the counter API is under load). Waiting for one is bounded as for the
# counter (503 node.busy), never a request that hangs.

async def kiosk_pool_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: open the kiosks' pool after the node's (same database), close it before."""
    settings = app[SETTINGS]
    pool = await create_pool(settings.database.dsn, min_size=1, max_size=KIOSK_POOL_SIZE)
    app[KIOSK_POOL] = pool
    try:
        # The kiosks' audit records reach the replicated trail through their queue.
        async with draining(app[POOL], node_id=settings.node.id, town=settings.node.town_code):
            yield
    finally:
        await pool.close()


def kiosk_pool(app: web.Application) -> Any:
    """The kiosks' pool (the node's own if it was not started, e.g. in a bare test app)."""
    return app.get(KIOSK_POOL) or app[POOL]


def kiosk_connection(request: web.Request) -> Any:
    """One connection of the kiosks' pool, or 503 node.busy after the acquire timeout."""
    return acquire(kiosk_pool(request.app), request.app[SETTINGS].database.acquire_timeout_s)


def request_time(request: web.Request) -> dt.datetime:
    """The node's clock (AuthPolicy's, injectable in tests)."""
    return request.app[AUTH_POLICY].clock()


# ---- who is at the kiosk -----------------------------------------------------------------

async def _verify(request: web.Request, kiosk_id: str, token: str | None) -> KioskSession | None:
    """Check the request's signature, freshness and nonce, and load its kiosk session (if a
    token is given), on one pooled connection: a kiosk screen queues for the pool once here,
    not three times, when the counter keeps the pool busy (issue 13)."""
    now, headers = request_time(request), request.headers
    signed = SignedRequest(kiosk_id, headers.get("X-Kiosk-Timestamp", ""), headers.get("X-Kiosk-Nonce", ""),
                           headers.get("X-Kiosk-Signature", ""))
    check_freshness(signed, now)
    message, signature = signed_message(signed, request.method, request.raw_path, await request.read())
    async with kiosk_connection(request) as conn:
        centre, session = await verify_signed(conn, signed, message, signature, token, now)
    request[KIOSK_CENTRE] = centre
    return session


@web.middleware
async def kiosk_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Verify a signed kiosk request and load its resident session, if any."""
    request[KIOSK_DEVICE], request[KIOSK] = None, None
    kiosk_id = request.headers.get("X-Kiosk-Id")
    token = request.headers.get("X-Kiosk-Session")
    if kiosk_id:
        request[KIOSK] = await _verify(request, kiosk_id, token)
        request[KIOSK_DEVICE] = kiosk_id
    elif token:
        raise Unauthenticated("a kiosk session needs a signed kiosk request", code="kiosk.signature")
    return await handler(request)


def current_device(request: web.Request) -> str:
    """The signing kiosk's id, or 401 ``kiosk.required``."""
    kiosk_id = request.get(KIOSK_DEVICE)
    if kiosk_id is None:
        raise Unauthenticated("only a registered kiosk can call this", code="kiosk.required")
    return kiosk_id


def current_kiosk(request: web.Request) -> KioskSession:
    """The kiosk's identified resident, or 401 ``kiosk.required``."""
    session = request.get(KIOSK)
    if session is None:
        raise Unauthenticated("identify the resident at the kiosk first", code="kiosk.required")
    return session


def kiosk_party(request: web.Request) -> tuple[KioskActor, Resident]:
    """(the kiosk as actor, its identified resident), or 401 ``kiosk.required``."""
    session = current_kiosk(request)
    device = KioskActor(session.kiosk_id, request[KIOSK_CENTRE], request.app[SETTINGS].node.town_code)
    return device, Resident(session.town_code, session.resident_id, session.method)


def setup_kiosk_requests(app: web.Application) -> None:
    """Register the kiosk middleware (after the staff one) and the kiosks' pool."""
    app.middlewares.append(kiosk_middleware)
    app.cleanup_ctx.append(kiosk_pool_ctx)
