"""SQL of staff account changes beyond their replicated state (which service.staff.accounts
writes through the outbox and service.storage.entities reads)."""

from __future__ import annotations

import asyncpg


async def lock_account(conn: asyncpg.Connection, staff_id: str) -> None:
    """Serialise changes to one account until the caller's transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('staff:' || $1))", staff_id)
