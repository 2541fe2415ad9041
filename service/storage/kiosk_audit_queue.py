"""Kiosk audit records through a local queue (issue 13: a kiosk screen under 300 ms while the
counter API is under load).

Every kiosk read of another town's data is audited like a clerk's. Written straight into the
entity store, each audit record takes the node-wide entity-store lock (replication.outbox
record_change), so a kiosk screen waited behind every counter write: in bench_kiosk that was
most of a loaded screen's time. Here a kiosk screen's audit records go into
``kiosk_audit_queue`` in the screen's own transaction — the access and its audit commit or
roll back together, as before — and :func:`drain` moves them into the replicated audit trail
(same ``audit_state``, same ``at``) in batches: one transaction inserts a batch through the
outbox and deletes its queue rows, so a record is moved exactly once. A background loop
drains every DRAIN_EVERY seconds and once more at shutdown; what a crash leaves queued is
moved at the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from replication.events import Change
from replication.outbox import record_changes
from service.staff.audit import ENTITY_TYPE, audit_state

log = logging.getLogger(__name__)
DRAIN_EVERY = 0.5  # seconds: how late a kiosk audit record reaches the replicated trail
BATCH = 500


class QueuedAudit:
    """A counter repository whose ``audit`` queues the record instead (everything else is the
    repository's own)."""

    def __init__(self, repo: Any) -> None:
        self._repo = repo

    def __getattr__(self, name: str) -> Any:
        return getattr(self._repo, name)

    async def audit(self, **fields: Any) -> None:
        """Queue one audit record in the current transaction (checked as service.staff.audit does)."""
        conn = self._repo.conn
        if not conn.is_in_transaction():
            raise RuntimeError("audit must run inside the caller's transaction")
        state = audit_state(node_id=self._repo.node_id, **fields)
        await conn.execute("INSERT INTO kiosk_audit_queue (state) VALUES ($1::jsonb)", json.dumps(state))


async def drain(pool: Any, *, node_id: str, town: str) -> int:
    """Move queued kiosk audit records into the entity store and outbox; returns how many."""
    moved = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            # SKIP LOCKED: two drainers (a second node process on one database) never take
            # the same rows, and neither waits for the other.
            rows = await conn.fetch("SELECT id, state FROM kiosk_audit_queue ORDER BY id LIMIT $1"
                                    " FOR UPDATE SKIP LOCKED", BATCH)
            if not rows:
                return moved
            states = [json.loads(r["state"]) for r in rows]
            await record_changes(conn, node_id=node_id, town=town, changes=[
                Change(ENTITY_TYPE, s["audit_id"], s, insert_only=True) for s in states])
            await conn.execute("DELETE FROM kiosk_audit_queue WHERE id = ANY($1::bigint[])", [r["id"] for r in rows])
            moved += len(rows)


async def drain_loop(pool: Any, *, node_id: str, town: str, every: float = DRAIN_EVERY) -> None:
    """Drain forever (until cancelled); a failure is logged and retried at the next tick."""
    while True:
        try:
            await drain(pool, node_id=node_id, town=town)
        except (OSError, asyncio.TimeoutError) as exc:
            log.warning("kiosk audit queue: drain failed, retrying", extra={"error": str(exc)})
        except Exception:  # noqa: BLE001 - the loop must survive, and say why
            log.exception("kiosk audit queue: drain failed, retrying")
        await asyncio.sleep(every)


@contextlib.asynccontextmanager
async def draining(pool: Any, *, node_id: str, town: str):
    """Run the drain loop for the block; drain once more at its end."""
    task = asyncio.create_task(drain_loop(pool, node_id=node_id, town=town))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(Exception):
            await drain(pool, node_id=node_id, town=town)
