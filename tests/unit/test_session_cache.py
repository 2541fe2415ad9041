"""The in-memory staff session cache: short TTL, the session's own expiries, eviction."""

from __future__ import annotations

import datetime as dt

from service.staff.accounts import Staff
from service.staff.sessions import AuthPolicy, Session, SessionCache

T0 = dt.datetime(2024, 1, 20, 3, 0, tzinfo=dt.timezone.utc)


def _session(digest: bytes, staff_id: str = "172049/sato") -> Session:
    return Session(digest, Staff(staff_id, "172049", "sato", "佐藤", frozenset({"clerk"})), "csrf")


def test_a_cached_session_lives_for_the_ttl_only():
    now = [T0]
    policy = AuthPolicy(cache_ttl=dt.timedelta(seconds=2), clock=lambda: now[0])
    cache = SessionCache()
    cache.put(_session(b"a"), T0 + dt.timedelta(hours=12), T0, policy)
    assert cache.get(b"a", policy) is not None
    now[0] += dt.timedelta(seconds=2)
    assert cache.get(b"a", policy) is None  # the database decides again


def test_the_sessions_own_expiries_hold_inside_the_ttl():
    now = [T0]
    policy = AuthPolicy(cache_ttl=dt.timedelta(hours=1), idle_ttl=dt.timedelta(minutes=30), clock=lambda: now[0])
    cache = SessionCache()
    cache.put(_session(b"idle"), T0 + dt.timedelta(hours=12), T0 - dt.timedelta(minutes=29), policy)
    cache.put(_session(b"ends"), T0 + dt.timedelta(seconds=30), T0, policy)
    now[0] += dt.timedelta(minutes=1)
    assert cache.get(b"idle", policy) is None and cache.get(b"ends", policy) is None


def test_logout_and_account_changes_evict_at_once():
    policy = AuthPolicy(clock=lambda: T0)
    cache = SessionCache()
    for digest, staff in ((b"1", "172049/sato"), (b"2", "172049/sato"), (b"3", "172049/kato")):
        cache.put(_session(digest, staff), T0 + dt.timedelta(hours=1), T0, policy)
    cache.forget(b"3")
    assert cache.get(b"3", policy) is None
    cache.forget_staff("172049/sato")
    assert cache.get(b"1", policy) is None and cache.get(b"2", policy) is None
