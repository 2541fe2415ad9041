"""Audit records go through the outbox in the caller's transaction and need a reason."""

from __future__ import annotations

import asyncpg
import pytest

from service.errors import InvalidRequest
from service.staff.accounts import Staff
from service.staff.audit import audit, audit_trail
from tests.support.auth import TOWN_A, TOWN_B

pytestmark = pytest.mark.integration

CLERK_B = Staff("s-b", TOWN_B, "tanaka", "田中", frozenset({"clerk"}))


async def _counts(conn: asyncpg.Connection) -> tuple[int, int]:
    audits = await conn.fetchval("SELECT count(*) FROM entities WHERE entity_type = 'audit'")
    outbox = await conn.fetchval("SELECT count(*) FROM outbox WHERE entity_type = 'audit'")
    return audits, outbox


async def test_audit_written_with_the_callers_transaction(database):
    conn = await asyncpg.connect(database)
    try:
        async with conn.transaction():
            audit_id = await audit(conn, staff=CLERK_B, node_id="node-b", action="resident.read",
                                   subject_type="resident", subject_id="R1", town_code=TOWN_A,
                                   reason="避難所での申請受付", node_town=TOWN_B)
            assert await _counts(conn) == (1, 1)  # visible inside the transaction
        trail = await audit_trail(conn, town_code=TOWN_A)
        assert [r["audit_id"] for r in trail] == [audit_id]
        assert trail[0]["staff_id"] == "s-b" and trail[0]["reason"] == "避難所での申請受付"
        row = await conn.fetchrow("SELECT insert_only FROM entities WHERE entity_id = $1", audit_id)
        assert row["insert_only"] is True
    finally:
        await conn.close()


async def test_audit_rolls_back_with_the_access(database):
    conn = await asyncpg.connect(database)
    try:
        with pytest.raises(RuntimeError, match="handler failed"):
            async with conn.transaction():
                await audit(conn, staff=CLERK_B, node_id="node-b", action="resident.update",
                            subject_type="resident", subject_id="R1", town_code=TOWN_A,
                            reason="訂正", node_town=TOWN_B)
                raise RuntimeError("handler failed after auditing")
        assert await _counts(conn) == (0, 0)
    finally:
        await conn.close()


async def test_cross_town_access_needs_a_reason(database):
    conn = await asyncpg.connect(database)
    try:
        async with conn.transaction():
            with pytest.raises(InvalidRequest) as err:
                await audit(conn, staff=CLERK_B, node_id="node-b", action="resident.read",
                            subject_type="resident", subject_id="R1", town_code=TOWN_A,
                            reason="   ", node_town=TOWN_B)
            assert err.value.fields[0]["code"] == "audit.reason_required"
            # Own town: no reason needed.
            await audit(conn, staff=CLERK_B, node_id="node-b", action="resident.read",
                        subject_type="resident", subject_id="R2", town_code=TOWN_B,
                        reason=None, node_town=TOWN_B)
        assert await _counts(conn) == (1, 1)
    finally:
        await conn.close()


async def test_audit_outside_a_transaction_is_refused(database):
    conn = await asyncpg.connect(database)
    try:
        with pytest.raises(RuntimeError, match="transaction"):
            await audit(conn, staff=None, node_id="node-b", action="x", subject_type="resident",
                        subject_id="R1", town_code=TOWN_A, reason=None, node_town=TOWN_B)
    finally:
        await conn.close()
