"""Staff authentication (DESIGN 6): sessions, CSRF, role checks and the auth routes.

- A session is a random token in the ``risai_session`` cookie (HttpOnly, SameSite=Strict,
  Secure unless settings.secure_cookies is off). The node keeps only its SHA-256, with an
  absolute and an idle expiry. Sessions are local to the node; accounts replicate.
- CSRF: every unsafe request on a cookie session must carry ``X-CSRF-Token`` equal to the
  session's token (a synchronizer token, returned by login and /auth/me). Login is exempt
  but only takes ``application/json`` from the node's own origin, which a cross-site form
  cannot send, so login CSRF (logging a victim into an attacker's account) is refused.
- Roles: ``require_role("supervisor", "admin")`` on a handler; 401 ``auth.required`` when
  nobody is logged in, 403 ``auth.role`` naming the roles needed.
- A validated session is kept in this node's memory for ``AuthPolicy.cache_ttl`` (seconds,
  not minutes), so a busy counter does not pay a database round trip per request (issue
  10). Logout evicts it at once; a disabled account is evicted when the node hears of the
  change (see ``SessionCache.forget_staff``) and at the latest when the entry's TTL ends.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
import json
import secrets
from typing import Any, Awaitable, Callable

from aiohttp import web

from service.storage.db import acquire
from service.web.appkeys import POOL, SETTINGS
from risai_errors import Kind
from service.errors import Forbidden, InvalidRequest, ServiceError, Unauthenticated
from service.staff.accounts import (ROLES, Staff, account_from_state, normalise_username, staff_id_for,
                           verify_password)

__all__ = ["Staff", "STAFF", "AUTH_POLICY", "AuthPolicy", "auth_middleware", "require_role",
           "current_staff", "setup_auth", "COOKIE_NAME", "CSRF_HEADER"]

COOKIE_NAME = "risai_session"
CSRF_HEADER = "X-CSRF-Token"
LOGIN_PATH = "/api/v1/auth/login"
KIOSK_ID_HEADER = "X-Kiosk-Id"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

STAFF: web.RequestKey[Staff | None] = web.RequestKey("staff")
_SESSION: web.RequestKey["Session | None"] = web.RequestKey("staff_session")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclasses.dataclass(frozen=True)
class AuthPolicy:
    """Session lifetimes and the clock (injectable for tests)."""

    session_ttl: dt.timedelta = dt.timedelta(hours=12)   # one long counter shift
    idle_ttl: dt.timedelta = dt.timedelta(minutes=30)
    touch_every: dt.timedelta = dt.timedelta(minutes=1)  # bounds last_seen writes
    cache_ttl: dt.timedelta = dt.timedelta(seconds=2)  # how stale a cached session may be
    clock: Callable[[], dt.datetime] = _utc_now


AUTH_POLICY: web.AppKey[AuthPolicy] = web.AppKey("auth_policy", AuthPolicy)


@dataclasses.dataclass(frozen=True)
class Session:
    token_sha256: bytes
    staff: Staff
    csrf_token: str


@dataclasses.dataclass(frozen=True)
class _Cached:
    session: Session
    expires_at: dt.datetime
    last_seen_at: dt.datetime
    cached_until: dt.datetime


class SessionCache:
    """Validated sessions by token digest, each for a short TTL (bounded in size)."""

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._entries: dict[bytes, _Cached] = {}

    def get(self, digest: bytes, policy: AuthPolicy) -> Session | None:
        """The cached session if it is still fresh and within its own expiries."""
        entry = self._entries.get(digest)
        if entry is None:
            return None
        now = policy.clock()
        if now >= entry.cached_until or now >= entry.expires_at or now >= entry.last_seen_at + policy.idle_ttl:
            del self._entries[digest]  # the database decides again (and deletes if expired)
            return None
        return entry.session

    def put(self, session: Session, expires_at: dt.datetime, last_seen_at: dt.datetime,
            policy: AuthPolicy) -> None:
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()  # rare; each entry is one round trip to rebuild
        self._entries[session.token_sha256] = _Cached(session, expires_at, last_seen_at,
                                                      policy.clock() + policy.cache_ttl)

    def forget(self, digest: bytes) -> None:
        """Logout: this session is gone now, not at the end of its TTL."""
        self._entries.pop(digest, None)

    def forget_staff(self, staff_id: str | None = None) -> None:
        """An account changed (disabled, roles): drop its sessions (all, when unknown)."""
        if staff_id is None:
            self._entries.clear()
            return
        for digest in [d for d, e in self._entries.items() if e.session.staff.staff_id == staff_id]:
            del self._entries[digest]


SESSIONS: web.AppKey[SessionCache] = web.AppKey("staff_session_cache", SessionCache)


class UnsupportedMediaType(ServiceError):
    kind, code = Kind.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"


class TooManyAttempts(ServiceError):
    kind, code = Kind.THROTTLED, "auth.throttled"


# Failed logins per (town, username), in this node's memory: it bounds online guessing at
# one node (an attacker can still spread guesses over nodes; see docs/security.md).
MAX_FAILURES, FAILURE_WINDOW = 10, dt.timedelta(minutes=15)
_FAILURES: web.AppKey[dict[tuple[str, str], list[dt.datetime]]] = web.AppKey("login_failures", dict)


def _recent_failures(request: web.Request, key: tuple[str, str]) -> list[dt.datetime]:
    since = request.app[AUTH_POLICY].clock() - FAILURE_WINDOW
    failures = [t for t in request.app[_FAILURES].get(key, []) if t > since]
    request.app[_FAILURES][key] = failures
    return failures


def token_digest(token: str) -> bytes:
    """What the database keeps of a bearer secret."""
    return hashlib.sha256(token.encode()).digest()


async def create_session(conn: Any, staff: Staff, policy: AuthPolicy,
                         user_agent: str | None = None) -> tuple[str, str]:
    """Store a new session; returns (cookie token, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = policy.clock()
    await conn.execute(
        "INSERT INTO staff_sessions (token_sha256, staff_id, csrf_token, created_at,"
        " last_seen_at, expires_at, user_agent) VALUES ($1, $2, $3, $4, $4, $5, $6)",
        token_digest(token), staff.staff_id, csrf, now, now + policy.session_ttl,
        (user_agent or "")[:200])
    return token, csrf


async def load_session(pool: Any, token: str, policy: AuthPolicy, *,
                       cache: SessionCache | None = None, acquire_timeout: float = 5.0) -> Session | None:
    """The live session for a cookie token, or None (unknown, expired, or account disabled).

    From ``cache`` when it holds a fresh entry; otherwise one pooled connection (503
    node.busy rather than a hang when the pool stays exhausted) for the read and its write.
    """
    digest = token_digest(token)
    if cache is not None and (held := cache.get(digest, policy)) is not None:
        return held
    async with acquire(pool, acquire_timeout) as conn:
        row = await conn.fetchrow(
            "SELECT s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, e.state FROM staff_sessions s"
            " LEFT JOIN entities e ON e.entity_type = 'staff' AND e.entity_id = s.staff_id"
            " WHERE s.token_sha256 = $1", digest)
        if row is None:
            return None
        now = policy.clock()
        account = account_from_state(json.loads(row["state"])) if row["state"] else None
        if (account is None or account.disabled or now >= row["expires_at"]
                or now >= row["last_seen_at"] + policy.idle_ttl
                or _ended_by_account(account, row["created_at"])):
            await conn.execute("DELETE FROM staff_sessions WHERE token_sha256 = $1", digest)
            return None
        last_seen = row["last_seen_at"]
        if now - last_seen >= policy.touch_every:
            await conn.execute("UPDATE staff_sessions SET last_seen_at = $2 WHERE token_sha256 = $1",
                               digest, now)
            last_seen = now
    session = Session(digest, account.staff, row["csrf_token"])
    if cache is not None:
        cache.put(session, row["expires_at"], last_seen, policy)
    return session


def _ended_by_account(account: Any, created_at: dt.datetime) -> bool:
    """True when an admin ended the account's sessions (disable, password reset) after this
    session began; the cut-off replicates with the account, so it holds on every node."""
    cut = account.sessions_not_before
    return cut is not None and created_at < dt.datetime.fromisoformat(cut)


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
    request[_SESSION] = None
    token = request.cookies.get(COOKIE_NAME)
    # A signed kiosk request is never a staff request, even from a browser holding a staff
    # cookie: kiosk_middleware authenticates it, and no cookie can add staff rights to it.
    if token and KIOSK_ID_HEADER not in request.headers:
        session = await load_session(request.app[POOL], token, request.app[AUTH_POLICY],
                                     cache=request.app[SESSIONS],
                                     acquire_timeout=request.app[SETTINGS].database.acquire_timeout_s)
        if session is not None:
            request[STAFF], request[_SESSION] = session.staff, session
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


# ---- routes ------------------------------------------------------------------------------

_dummy_hash: str | None = None


def _dummy() -> str:
    # A real hash with the current parameters, so an unknown user costs one verify too.
    global _dummy_hash
    if _dummy_hash is None:
        from service.staff.accounts import hash_password
        _dummy_hash = hash_password(secrets.token_urlsafe(16))
    return _dummy_hash


def _verify(password_hash: str | None, password: str) -> bool:
    return verify_password(password_hash or _dummy(), password) and password_hash is not None


def _check_login_request(request: web.Request) -> None:
    if request.content_type != "application/json":
        raise UnsupportedMediaType("login takes a JSON body (Content-Type: application/json)",
                                   code="auth.json_required")
    origin = request.headers.get("Origin")
    if origin and origin != "null" and origin.split("://", 1)[-1] != request.host:
        raise Forbidden("login from another origin is refused", code="csrf.origin")
    if origin == "null":
        raise Forbidden("login from an opaque origin is refused", code="csrf.origin")


async def _login_body(request: web.Request) -> tuple[str, str, str]:
    try:
        body = await request.json()
    except ValueError:
        raise InvalidRequest.about("body", "not valid JSON", "invalid.json") from None
    if not isinstance(body, dict):
        raise InvalidRequest.about("body", "must be a JSON object", "invalid.type")
    problems = [{"field": f, "reason": "required text", "code": "invalid.required"}
                for f in ("town_code", "username", "password")
                if not isinstance(body.get(f), str) or not body.get(f)]
    if problems:
        raise InvalidRequest("town_code, username and password are required", fields=problems)
    return body["town_code"], body["username"], body["password"]


async def _authenticate(request: web.Request, town: str, username: str, password: str) -> Staff:
    key = (town, normalise_username(username))
    failures = _recent_failures(request, key)
    if len(failures) >= MAX_FAILURES:
        raise TooManyAttempts("too many failed logins; try again later")
    pool = request.app[POOL]
    raw = await pool.fetchval("SELECT state FROM entities WHERE entity_type = 'staff'"
                              " AND entity_id = $1", staff_id_for(town, username))
    account = account_from_state(json.loads(raw)) if raw else None
    # Verify even when there is no account, off the event loop: same cost, same answer.
    loop = asyncio.get_running_loop()
    ok = await loop.run_in_executor(
        None, _verify, account.password_hash if account else None, password)
    if not ok or account is None or account.disabled or account.staff.town_code != town:
        failures.append(request.app[AUTH_POLICY].clock())
        raise Unauthenticated("wrong town, username or password", code="auth.invalid")
    return account.staff


def _set_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    policy = request.app[AUTH_POLICY]
    response.set_cookie(COOKIE_NAME, token, httponly=True, samesite="Strict", path="/",
                        secure=request.app[SETTINGS].secure_cookies,
                        max_age=int(policy.session_ttl.total_seconds()))


async def login(request: web.Request) -> web.Response:
    """POST /api/v1/auth/login {town_code, username, password}."""
    _check_login_request(request)
    town, username, password = await _login_body(request)
    staff = await _authenticate(request, town, username, password)
    pool = request.app[POOL]
    old = request.get(_SESSION)
    async with acquire(pool, request.app[SETTINGS].database.acquire_timeout_s) as conn, conn.transaction():
        if old is not None:  # never keep a pre-login session id (session fixation)
            await conn.execute("DELETE FROM staff_sessions WHERE token_sha256 = $1",
                               old.token_sha256)
        token, csrf = await create_session(conn, staff, request.app[AUTH_POLICY],
                                           request.headers.get("User-Agent"))
    if old is not None:  # after the delete, so no reload can cache it again
        request.app[SESSIONS].forget(old.token_sha256)
    response = web.json_response({"staff": staff.public(), "csrf_token": csrf})
    _set_cookie(request, response, token)
    return response


async def logout(request: web.Request) -> web.Response:
    """POST /api/v1/auth/logout: end the session (CSRF-checked by the middleware)."""
    session = request.get(_SESSION)
    if session is not None:
        await request.app[POOL].execute("DELETE FROM staff_sessions WHERE token_sha256 = $1",
                                        session.token_sha256)
        request.app[SESSIONS].forget(session.token_sha256)  # after the delete (see login)
    response = web.json_response({"logged_out": True})
    response.del_cookie(COOKIE_NAME, path="/")
    return response


async def me(request: web.Request) -> web.Response:
    """GET /api/v1/auth/me: who is logged in, and the CSRF token for this session."""
    staff = current_staff(request)
    session = request[_SESSION]
    return web.json_response({"staff": staff.public(),
                              "csrf_token": session.csrf_token if session else None})


def setup_auth(app: web.Application) -> None:
    """Register the auth and kiosk middleware and routes (call once, in create_app)."""
    from service.kiosk import identity as kiosk

    app.setdefault(AUTH_POLICY, AuthPolicy())
    app[_FAILURES] = {}
    app[SESSIONS] = SessionCache()
    from service.staff.changes import staff_changes_ctx  # late: it imports this module

    app.cleanup_ctx.append(staff_changes_ctx)
    app.middlewares.append(auth_middleware)
    app.middlewares.append(kiosk.kiosk_middleware)
    app.router.add_post(LOGIN_PATH, login)
    app.router.add_post("/api/v1/auth/logout", logout)
    app.router.add_get("/api/v1/auth/me", me)
    kiosk.setup_routes(app)
