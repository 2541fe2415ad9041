"""Narrow storage calls over the generic entity store, for the counter's use cases.

Every replicated write goes through ``replication.outbox.record_change`` in the caller's
transaction (DESIGN 4: the outbox row commits with the change). Use cases depend on the
small :class:`IssuanceStore` protocol, so ``tests/unit/test_issuance.py`` runs them against
a dict-backed fake and the integration tests against PostgreSQL.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any, AsyncIterator, Protocol

import asyncpg

from replication.events import Event
from replication.outbox import record_change

# Issuance's advisory locks live in their own key space (hashtextextended seed 4): a
# different seed from replication's per-entity locks (seed 0) so the two never collide.
_ISSUE_LOCK_SEED = 4
_FIELD = re.compile(r"[a-z_]{1,40}")


class IssuanceStore(Protocol):
    """What issuance needs from storage (and nothing more)."""

    def issuance_lock(self, application_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Held for the whole issuance: a second issuer of the same application waits."""

    def transaction(self) -> contextlib.AbstractAsyncContextManager[None]:
        """One database transaction."""

    async def get(self, entity_type: str, entity_id: str, *, for_update: bool = False) -> dict | None:
        """The held state of one entity, or None."""

    async def put(self, entity_type: str, entity_id: str, state: dict, *,
                  insert_only: bool = False) -> Event:
        """Record a change (entities + outbox) in the current transaction."""

    async def reserve_number(self, node_id: str) -> int:
        """The next 整理番号 sequence of ``node_id`` (never handed out twice)."""

    async def open_intent(self, number: str, application_id: str, purpose: str,
                          staff_id: str | None) -> None:
        """Record that ``number`` is about to be signed for ``application_id``."""

    async def close_intent(self, number: str, *, abandoned: str | None = None) -> None:
        """Mark the intent completed, or abandoned with a reason."""

    async def abandon_stale_intents(self, application_id: str, reason: str) -> int:
        """Abandon open intents of an application (left by a crashed issuer)."""

    async def audit(self, **fields: Any) -> None:
        """Write an audit record in the current transaction."""


class Repository:
    """The PostgreSQL implementation over one pooled connection."""

    def __init__(self, conn: asyncpg.Connection, *, node_id: str, town: str) -> None:
        self.conn, self.node_id, self.town = conn, node_id, town

    def transaction(self) -> Any:
        """A transaction on this connection (READ COMMITTED; row locks where noted)."""
        return self.conn.transaction()

    @contextlib.asynccontextmanager
    async def issuance_lock(self, application_id: str) -> AsyncIterator[None]:
        # A session advisory lock, not a row lock: it must span two transactions (the
        # intent commits before signing) and the signing in between. If the connection
        # dies the server releases it; the pool's reset also unlocks all.
        key = f"issue/{application_id}"
        await self.conn.execute("SELECT pg_advisory_lock(hashtextextended($1, $2))", key, _ISSUE_LOCK_SEED)
        try:
            yield
        finally:
            await self.conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, $2))",
                                    key, _ISSUE_LOCK_SEED)

    async def get(self, entity_type: str, entity_id: str, *, for_update: bool = False) -> dict | None:
        """The held state, or None. ``for_update`` row-locks it to the end of the transaction."""
        if "\x00" in entity_id:  # PostgreSQL text cannot hold NUL: nothing can match
            return None
        sql = "SELECT state FROM entities WHERE entity_type = $1 AND entity_id = $2"
        raw = await self.conn.fetchval(sql + (" FOR UPDATE" if for_update else ""), entity_type, entity_id)
        return json.loads(raw) if raw is not None else None

    async def get_many(self, entity_type: str, entity_ids: list[str]) -> dict[str, dict]:
        """Held states of several entities of one type, by id (missing ids are absent)."""
        rows = await self.conn.fetch(
            "SELECT entity_id, state FROM entities WHERE entity_type = $1 AND entity_id = ANY($2::text[])",
            entity_type, entity_ids)
        return {r["entity_id"]: json.loads(r["state"]) for r in rows}

    async def find(self, entity_type: str, field: str, value: str, *, limit: int = 100) -> list[dict]:
        """Entities whose ``state->>field`` equals ``value`` (indexed fields only)."""
        # The key is inlined (checked against a strict pattern) so the planner can match
        # the partial expression indexes of migration 0250; a parameter would not.
        if not _FIELD.fullmatch(field):
            raise ValueError(f"bad field name {field!r}")
        if "\x00" in value:
            return []
        rows = await self.conn.fetch(
            f"SELECT state FROM entities WHERE entity_type = $1 AND state->>'{field}' = $2"
            " ORDER BY updated_at, entity_id LIMIT $3", entity_type, value, limit)
        return [json.loads(r["state"]) for r in rows]

    async def put(self, entity_type: str, entity_id: str, state: dict, *,
                  insert_only: bool = False) -> Event:
        """record_change in the caller's transaction (entities + entity_versions + outbox)."""
        return await record_change(self.conn, node_id=self.node_id, town=self.town,
                                   entity_type=entity_type, entity_id=entity_id, state=state,
                                   insert_only=insert_only)

    async def reserve_number(self, node_id: str) -> int:
        """Next sequence; on first use it starts after any number of this node already held
        (a node rebuilt from Kafka must not hand out its old numbers again)."""
        await self.conn.execute(
            "INSERT INTO certificate_sequences (node_id, last_value)"
            " SELECT $1, coalesce(max((regexp_match(entity_id, '-(\\d+)$'))[1]::bigint), 0)"
            " FROM entities WHERE entity_type = 'certificate' AND entity_id LIKE '______-' || $1 || '-%'"
            " ON CONFLICT (node_id) DO NOTHING", node_id)
        return await self.conn.fetchval(
            "UPDATE certificate_sequences SET last_value = last_value + 1 WHERE node_id = $1"
            " RETURNING last_value", node_id)

    async def open_intent(self, number: str, application_id: str, purpose: str,
                          staff_id: str | None) -> None:
        """Insert the intent row (unique open intent per application)."""
        await self.conn.execute(
            "INSERT INTO issuance_intents (number, application_id, purpose, staff_id) VALUES ($1, $2, $3, $4)",
            number, application_id, purpose, staff_id)

    async def close_intent(self, number: str, *, abandoned: str | None = None) -> None:
        """Completed (the certificate is stored) or abandoned (with the reason)."""
        if abandoned is None:
            await self.conn.execute("UPDATE issuance_intents SET completed_at = now() WHERE number = $1", number)
        else:
            await self.conn.execute(
                "UPDATE issuance_intents SET abandoned_at = now(), abandon_reason = $2"
                " WHERE number = $1 AND completed_at IS NULL", number, abandoned)

    async def abandon_stale_intents(self, application_id: str, reason: str) -> int:
        """Close open intents of an application; only called while holding its issuance lock."""
        result = await self.conn.execute(
            "UPDATE issuance_intents SET abandoned_at = now(), abandon_reason = $2"
            " WHERE application_id = $1 AND completed_at IS NULL AND abandoned_at IS NULL",
            application_id, reason)
        return int(result.split()[-1])

    async def audit(self, **fields: Any) -> None:
        """service.staff.audit.audit in this transaction (imported late: it is another module's)."""
        from service.staff.audit import audit

        await audit(self.conn, node_id=self.node_id, **fields)
