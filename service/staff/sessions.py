"""Staff sessions (DESIGN 6): their lifetimes, the in-memory cache, logging in and out, and the
login rate limit. No HTTP here: service.web.auth reads the cookie and checks CSRF and roles,
service.api.sessions parses the login and replies.

- A session is a random token (the ``risai_session`` cookie). The node keeps only its SHA-256,
  with an absolute and an idle expiry. Sessions are local to the node; accounts replicate.
- A validated session is kept in this node's memory for ``AuthPolicy.cache_ttl`` (seconds,
  not minutes), so a busy counter does not pay a database round trip per request (issue
  10). Logout evicts it at once; a disabled account is evicted when the node hears of the
  change (see ``SessionCache.forget_staff``) and at the latest when the entry's TTL ends.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import secrets
from typing import Any, Callable

from risai_errors import Kind
from service.errors import ServiceError, Unauthenticated
from service.staff.accounts import (
    Staff,
    StaffAccount,
    account_from_state,
    hash_password,
    load_account,
    normalise_username,
    staff_id_for,
    verify_password,
)
from service.storage import staff_sessions
from service.storage.db import acquire


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


class TooManyAttempts(ServiceError):
    kind, code = Kind.THROTTLED, "auth.throttled"


# Failed logins per (town, username), in this node's memory: it bounds online guessing at
# one node (an attacker can still spread guesses over nodes; see docs/security.md).
MAX_FAILURES, FAILURE_WINDOW = 10, dt.timedelta(minutes=15)


class LoginThrottle:
    """Recent failed logins per (town, normalised username)."""

    def __init__(self) -> None:
        self._failures: dict[tuple[str, str], list[dt.datetime]] = {}

    def recent(self, key: tuple[str, str], now: dt.datetime) -> list[dt.datetime]:
        """The failures inside the window (older ones are dropped); append to record one."""
        failures = [t for t in self._failures.get(key, []) if t > now - FAILURE_WINDOW]
        self._failures[key] = failures
        return failures


def token_digest(token: str) -> bytes:
    """What the database keeps of a bearer secret."""
    return hashlib.sha256(token.encode()).digest()


async def create_session(conn: Any, staff: Staff, policy: AuthPolicy,
                         user_agent: str | None = None) -> tuple[str, str]:
    """Store a new session; returns (cookie token, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = policy.clock()
    await staff_sessions.insert_session(conn, digest=token_digest(token), staff_id=staff.staff_id,
                                        csrf_token=csrf, now=now, expires_at=now + policy.session_ttl,
                                        user_agent=(user_agent or "")[:200])
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
        row = await staff_sessions.session_with_account(conn, digest)
        if row is None:
            return None
        now = policy.clock()
        account = account_from_state(row["state"]) if row["state"] else None
        if (account is None or account.disabled or now >= row["expires_at"]
                or now >= row["last_seen_at"] + policy.idle_ttl
                or _ended_by_account(account, row["created_at"])):
            await staff_sessions.delete_session(conn, digest)
            return None
        last_seen = row["last_seen_at"]
        if now - last_seen >= policy.touch_every:
            await staff_sessions.touch_session(conn, digest, now)
            last_seen = now
    session = Session(digest, account.staff, row["csrf_token"])
    if cache is not None:
        cache.put(session, row["expires_at"], last_seen, policy)
    return session


def _ended_by_account(account: StaffAccount, created_at: dt.datetime) -> bool:
    """True when an admin ended the account's sessions (disable, password reset) after this
    session began; the cut-off replicates with the account, so it holds on every node."""
    cut = account.sessions_not_before
    return cut is not None and created_at < dt.datetime.fromisoformat(cut)


_dummy_hash: str | None = None


def _dummy() -> str:
    # A real hash with the current parameters, so an unknown user costs one verify too.
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password(secrets.token_urlsafe(16))
    return _dummy_hash


def _verify(password_hash: str | None, password: str) -> bool:
    return verify_password(password_hash or _dummy(), password) and password_hash is not None


async def authenticate(pool: Any, throttle: LoginThrottle, policy: AuthPolicy, town: str, username: str,
                       password: str) -> Staff:
    """The staff member these credentials name, or 401 ``auth.invalid`` (429 ``auth.throttled``
    after MAX_FAILURES failures inside FAILURE_WINDOW)."""
    failures = throttle.recent((town, normalise_username(username)), policy.clock())
    if len(failures) >= MAX_FAILURES:
        raise TooManyAttempts("too many failed logins; try again later")
    account = await load_account(pool, staff_id_for(town, username))
    # Verify even when there is no account, off the event loop: same cost, same answer.
    loop = asyncio.get_running_loop()
    ok = await loop.run_in_executor(
        None, _verify, account.password_hash if account else None, password)
    if not ok or account is None or account.disabled or account.staff.town_code != town:
        failures.append(policy.clock())
        raise Unauthenticated("wrong town, username or password", code="auth.invalid")
    return account.staff


async def start_session(pool: Any, staff: Staff, policy: AuthPolicy, cache: SessionCache, *,
                        old: Session | None, user_agent: str | None,
                        acquire_timeout: float) -> tuple[str, str]:
    """Log in: end the pre-login session ``old`` (never keep it: session fixation) and store a
    new one, in one transaction; returns (cookie token, CSRF token)."""
    async with acquire(pool, acquire_timeout) as conn, conn.transaction():
        if old is not None:
            await staff_sessions.delete_session(conn, old.token_sha256)
        token, csrf = await create_session(conn, staff, policy, user_agent)
    if old is not None:  # after the delete, so no reload can cache it again
        cache.forget(old.token_sha256)
    return token, csrf


async def end_session(pool: Any, session: Session, cache: SessionCache) -> None:
    """Log out: the session ends here and now."""
    await staff_sessions.delete_session(pool, session.token_sha256)
    cache.forget(session.token_sha256)  # after the delete (see start_session)
