"""The node-local staff session rows (``staff_sessions``): only a token's SHA-256 is kept."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import asyncpg


async def insert_session(conn: asyncpg.Connection, *, digest: bytes, staff_id: str, csrf_token: str,
                         now: dt.datetime, expires_at: dt.datetime, user_agent: str) -> None:
    """Store one new session (created and last seen ``now``)."""
    await conn.execute(
        "INSERT INTO staff_sessions (token_sha256, staff_id, csrf_token, created_at,"
        " last_seen_at, expires_at, user_agent) VALUES ($1, $2, $3, $4, $4, $5, $6)",
        digest, staff_id, csrf_token, now, expires_at, user_agent)


async def session_with_account(conn: asyncpg.Connection, digest: bytes) -> dict[str, Any] | None:
    """The session row with its account's replicated state (``state``: None when the account is
    unknown here), or None when no such session is held."""
    row = await conn.fetchrow(
        "SELECT s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, e.state FROM staff_sessions s"
        " LEFT JOIN entities e ON e.entity_type = 'staff' AND e.entity_id = s.staff_id"
        " WHERE s.token_sha256 = $1", digest)
    if row is None:
        return None
    return {**dict(row), "state": json.loads(row["state"]) if row["state"] else None}


async def touch_session(conn: asyncpg.Connection, digest: bytes, now: dt.datetime) -> None:
    """Record that the session was seen at ``now``."""
    await conn.execute("UPDATE staff_sessions SET last_seen_at = $2 WHERE token_sha256 = $1", digest, now)


async def delete_session(conn: asyncpg.Connection | asyncpg.Pool, digest: bytes) -> None:
    """End one session."""
    await conn.execute("DELETE FROM staff_sessions WHERE token_sha256 = $1", digest)


async def delete_sessions_of(conn: asyncpg.Connection, staff_id: str) -> None:
    """End every session of one account at this node."""
    await conn.execute("DELETE FROM staff_sessions WHERE staff_id = $1", staff_id)
