"""The node-local kiosk tables: registered devices, enrolment requests, and the replay guard of
signed kiosk requests (service.kiosk.signing)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg


async def device_and_session(conn: asyncpg.Connection, kiosk_id: str, session_digest: bytes,
                             now: dt.datetime) -> dict[str, Any] | None:
    """A live device's key and centre, with the live kiosk session of that digest if any
    (``town_code`` None when there is none); None when the device is unknown or revoked."""
    row = await conn.fetchrow(
        "SELECT d.public_key_pem, coalesce(d.centre, d.name) AS centre, s.town_code, s.resident_id,"
        " s.method, s.expires_at FROM kiosk_devices d LEFT JOIN kiosk_sessions s ON s.kiosk_id = d.kiosk_id"
        " AND s.token_sha256 = $2 AND s.ended_at IS NULL AND s.expires_at > $3"
        " WHERE d.kiosk_id = $1 AND d.revoked_at IS NULL",
        kiosk_id, session_digest, now)
    return dict(row) if row is not None else None


async def first_sight(conn: asyncpg.Connection, request_key: bytes, now: dt.datetime,
                      keep: dt.timedelta) -> bool:
    """Record a signed request's key; False when it was seen before (a replay). Keys older
    than ``keep`` are forgotten."""
    async with conn.transaction():
        # The replay guard need not survive a crash: its rows matter for one signature
        # window (60 s), and a node restarting loses at most the last moment of them. So
        # this commit does not wait for the WAL flush (a kiosk screen pays no fsync for it).
        await conn.execute("SET LOCAL synchronous_commit = off")
        await conn.execute("DELETE FROM kiosk_request_seen WHERE seen_at < $1", now - keep)
        fresh = await conn.fetchval(
            "INSERT INTO kiosk_request_seen VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true",
            request_key, now)
    return bool(fresh)


async def register_device(conn: asyncpg.Connection | asyncpg.Pool, *, kiosk_id: str, name: str,
                          public_key_pem: str, registered_by: str, centre: str | None) -> bool:
    """Register a kiosk device; False when that kiosk id is taken."""
    done = await conn.fetchval(
        "INSERT INTO kiosk_devices (kiosk_id, name, public_key_pem, registered_by, centre)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING true",
        kiosk_id, name, public_key_pem, registered_by, centre)
    return bool(done)


async def add_enrolment(conn: asyncpg.Connection, *, enrolment_id: str, pairing_digest: bytes,
                        public_key_pem: str, now: dt.datetime, expires_at: dt.datetime,
                        max_pending: int) -> bool:
    """Store an enrolment request unless ``max_pending`` already wait (then False); in the
    caller's transaction. Expired unapproved requests are dropped first."""
    await conn.execute("DELETE FROM kiosk_enrolments WHERE expires_at < $1 AND kiosk_id IS NULL", now)
    # Serialise the count-then-insert: two kiosks asking at once cannot both pass the cap.
    await conn.execute("LOCK TABLE kiosk_enrolments IN SHARE ROW EXCLUSIVE MODE")
    pending = await conn.fetchval("SELECT count(*) FROM kiosk_enrolments WHERE kiosk_id IS NULL")
    if pending >= max_pending:
        return False
    await conn.execute(
        "INSERT INTO kiosk_enrolments (enrolment_id, pairing_sha256, public_key_pem, requested_at,"
        " expires_at) VALUES ($1, $2, $3, $4, $5)", enrolment_id, pairing_digest, public_key_pem, now, expires_at)
    return True


async def enrolment(conn: asyncpg.Connection | asyncpg.Pool, enrolment_id: str) -> dict[str, Any] | None:
    """One enrolment request: its kiosk id (None until approved), expiry and the device's centre."""
    row = await conn.fetchrow(
        "SELECT e.kiosk_id, e.expires_at, coalesce(d.centre, d.name) AS centre FROM kiosk_enrolments e"
        " LEFT JOIN kiosk_devices d USING (kiosk_id) WHERE e.enrolment_id = $1", enrolment_id)
    return dict(row) if row is not None else None


async def waiting_enrolment(conn: asyncpg.Connection, pairing_digest: bytes, now: dt.datetime, *,
                            lock: bool = False) -> dict[str, Any] | None:
    """The unapproved, unexpired enrolment with this pairing code's digest (row-locked if ``lock``)."""
    row = await conn.fetchrow(
        "SELECT enrolment_id, public_key_pem, requested_at FROM kiosk_enrolments WHERE pairing_sha256 = $1"
        " AND kiosk_id IS NULL AND expires_at > $2" + (" FOR UPDATE" if lock else ""), pairing_digest, now)
    return dict(row) if row is not None else None


async def mark_approved(conn: asyncpg.Connection, enrolment_id: str, *, kiosk_id: str, approved_by: str,
                        now: dt.datetime) -> None:
    """Record which kiosk an enrolment became, who approved it and when."""
    await conn.execute("UPDATE kiosk_enrolments SET kiosk_id = $2, approved_by = $3, approved_at = $4"
                       " WHERE enrolment_id = $1", enrolment_id, kiosk_id, approved_by, now)
