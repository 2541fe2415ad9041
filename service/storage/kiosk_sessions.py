"""The node-local kiosk session tables: single-use challenges and kiosk sessions (only a
token's SHA-256 is kept)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg


async def add_challenge(conn: asyncpg.Connection, challenge: str, kiosk_id: str, now: dt.datetime,
                        ttl: dt.timedelta) -> None:
    """Store a challenge for one kiosk, valid for ``ttl``; drops challenges expired ``ttl`` ago."""
    await conn.execute("DELETE FROM kiosk_challenges WHERE expires_at < $1", now - ttl)
    await conn.execute("INSERT INTO kiosk_challenges (challenge, kiosk_id, expires_at)"
                       " VALUES ($1, $2, $3)", challenge, kiosk_id, now + ttl)


async def use_challenge(conn: asyncpg.Connection, challenge: str, kiosk_id: str, now: dt.datetime) -> bool:
    """Mark an unused, unexpired challenge of this kiosk used; False when there is none."""
    # One UPDATE decides atomically: two identify calls racing on one challenge cannot
    # both see used_at IS NULL (the row lock serialises them).
    used = await conn.fetchval(
        "UPDATE kiosk_challenges SET used_at = $3 WHERE challenge = $1 AND kiosk_id = $2"
        " AND used_at IS NULL AND expires_at > $3 RETURNING true", challenge, kiosk_id, now)
    return bool(used)


async def challenge(conn: asyncpg.Connection, challenge: str) -> dict[str, Any] | None:
    """A challenge's kiosk and when it was used (None: not yet), or None when unknown."""
    row = await conn.fetchrow("SELECT kiosk_id, used_at FROM kiosk_challenges WHERE challenge = $1", challenge)
    return dict(row) if row is not None else None


async def insert_session(conn: asyncpg.Connection, *, digest: bytes, kiosk_id: str, town_code: str,
                         resident_id: str, method: str, now: dt.datetime, expires_at: dt.datetime) -> None:
    """Store a kiosk session."""
    await conn.execute(
        "INSERT INTO kiosk_sessions (token_sha256, kiosk_id, town_code, resident_id, method,"
        " created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)", digest,
        kiosk_id, town_code, resident_id, method, now, expires_at)


async def end_session(conn: asyncpg.Connection | asyncpg.Pool, digest: bytes, now: dt.datetime) -> None:
    """End a kiosk session at ``now``."""
    await conn.execute("UPDATE kiosk_sessions SET ended_at = $2 WHERE token_sha256 = $1", digest, now)
