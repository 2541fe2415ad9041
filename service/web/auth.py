"""Staff authentication on requests (DESIGN 6): the session cookie, CSRF, role checks.

- The session token travels in the ``risai_session`` cookie (HttpOnly, SameSite=Strict,
  Secure unless settings.secure_cookies is off); service.staff.sessions holds the rules.
- CSRF: every unsafe request on a cookie session must carry ``X-CSRF-Token`` equal to the
  session's token (a synchronizer token, returned by login and /auth/me). Login is exempt
  but only takes ``application/json`` from the node's own origin (service.api.sessions),
  which a cross-site form cannot send, so login CSRF is refused.
- Roles: ``require_role("supervisor", "admin")`` on a handler; 401 ``auth.required`` when
  nobody is logged in, 403 ``auth.role`` naming the roles needed.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
from typing import Any, AsyncIterator, Awaitable, Callable

from aiohttp import web

from service.errors import Forbidden, Unauthenticated
from service.staff.accounts import ROLES, Staff
from service.staff.sessions import AuthPolicy, LoginThrottle, Session, SessionCache, load_session
from service.storage.staff_changes import listen_for_staff_changes
from service.web.appkeys import POOL, SETTINGS

COOKIE_NAME = "risai_session"
CSRF_HEADER = "X-CSRF-Token"
LOGIN_PATH = "/api/v1/auth/login"
KIOSK_ID_HEADER = "X-Kiosk-Id"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

AUTH_POLICY: web.AppKey[AuthPolicy] = web.AppKey("auth_policy", AuthPolicy)
SESSIONS: web.AppKey[SessionCache] = web.AppKey("staff_session_cache", SessionCache)
LOGIN_THROTTLE: web.AppKey[LoginThrottle] = web.AppKey("login_failures", LoginThrottle)
STAFF: web.RequestKey[Staff | None] = web.RequestKey("staff")
SESSION: web.RequestKey[Session | None] = web.RequestKey("staff_session")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _check_csrf(request: web.Request, session: Session) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        raise Forbidden(f"missing {CSRF_HEADER} header", code="csrf.missing")
    if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
        raise Forbidden(f"{CSRF_HEADER} does not match this session", code="csrf.mismatch")


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Load the staff session from the cookie; enforce CSRF on unsafe methods."""
    request[STAFF] = None
    request[SESSION] = None
    token = request.cookies.get(COOKIE_NAME)
    # A signed kiosk request is never a staff request, even from a browser holding a staff
    # cookie: kiosk_middleware authenticates it, and no cookie can add staff rights to it.
    if token and KIOSK_ID_HEADER not in request.headers:
        session = await load_session(request.app[POOL], token, request.app[AUTH_POLICY],
                                     cache=request.app[SESSIONS],
                                     acquire_timeout=request.app[SETTINGS].database.acquire_timeout_s)
        if session is not None:
            request[STAFF], request[SESSION] = session.staff, session
            if request.method in UNSAFE_METHODS and request.path != LOGIN_PATH:
                _check_csrf(request, session)
    return await handler(request)


def current_staff(request: web.Request) -> Staff:
    """The logged-in staff, or 401 ``auth.required``."""
    staff = request.get(STAFF)
    if staff is None:
        raise Unauthenticated("log in as staff first", code="auth.required")
    return staff


def require_role(*roles: str) -> Callable[[Handler], Handler]:
    """Decorate a handler: staff must hold at least one of ``roles`` (none: any staff)."""
    unknown = set(roles) - ROLES
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def checked(*args: Any) -> web.StreamResponse:
            request = args[-1] if isinstance(args[-1], web.Request) else args[0].request
            staff = current_staff(request)
            if roles and not staff.has_any(roles):
                needed = ", ".join(roles)
                raise Forbidden(f"this needs one of the roles: {needed}", code="auth.role",
                                fields=[{"field": "roles", "reason": needed, "code": "auth.role"}])
            return await handler(*args)
        return checked
    return decorate


async def staff_changes_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: evict cached sessions when an account changes (the listener task)."""
    task = asyncio.create_task(listen_for_staff_changes(app[SETTINGS].database.dsn, app[SESSIONS].forget_staff),
                               name="staff-change-listener")
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def setup_auth(app: web.Application) -> None:
    """Register the staff session middleware and its state (once, in create_app, before
    service.web.kiosk_auth.setup_kiosk_requests)."""
    app.setdefault(AUTH_POLICY, AuthPolicy())
    app[LOGIN_THROTTLE] = LoginThrottle()
    app[SESSIONS] = SessionCache()
    app.cleanup_ctx.append(staff_changes_ctx)
    app.middlewares.append(auth_middleware)
