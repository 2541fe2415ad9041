"""Narrow storage calls over the generic entity store, for the counter's use cases.

Every replicated write goes through ``replication.outbox.record_changes`` in the caller's
transaction (DESIGN 4: the outbox row commits with the change). Inside a transaction
opened with :meth:`Repository.transaction`, ``put``/``save``/``audit`` are collected and
written by ONE ``record_changes`` call when the block ends (issue 10: one clock tick, one
entity-store lock and a few set-based statements per use case instead of a dozen per
write, and the node-wide write locks are held only for the end of the transaction).
Reads see the collected writes: ``get`` and ``get_refs`` overlay them, and any other read
writes them first.

This is the storage seam of the typed records (service.counter: applications, certificates,
surveys, copies, revocations): ``load``/``find_records`` rebuild them from their held state
and ``save``/``change_of`` turn them into it; the use cases never see the state form. Use
cases depend on small protocols (e.g. :class:`service.counter.issuance.IssuanceStore`), so
``tests/unit/test_issuance.py`` runs them against a dict-backed fake and the integration
tests against PostgreSQL.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any, AsyncIterator, Sequence, TypeVar

import asyncpg

from replication.events import Change, Event
from replication.outbox import record_changes
from service.counter.record_state import RecordBase

_FIELD = re.compile(r"[a-z_]{1,40}")
R = TypeVar("R", bound=RecordBase)


class Repository:
    """The PostgreSQL implementation over one pooled connection."""

    def __init__(self, conn: asyncpg.Connection, *, node_id: str, town: str) -> None:
        self.conn, self.node_id, self.town = conn, node_id, town
        self._pending: list[Change] | None = None  # writes collected by the open transaction()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """A transaction on this connection (READ COMMITTED; row locks where noted); the
        writes made inside are recorded together just before it commits. Re-entrant."""
        if self._pending is not None:  # nested: the outer block writes them
            async with self.conn.transaction():
                yield
            return
        self._pending = []
        try:
            async with self.conn.transaction():
                yield
                await self.flush()
        finally:
            self._pending = None

    async def flush(self) -> list[Event]:
        """Write the collected changes now (one record_changes call)."""
        if not self._pending:
            return []
        changes, self._pending[:] = list(self._pending), []
        return await record_changes(self.conn, node_id=self.node_id, town=self.town, changes=changes)

    def _held_pending(self, entity_type: str, entity_id: str) -> dict | None:
        for change in reversed(self._pending or []):
            if change.entity_type == entity_type and change.entity_id == entity_id:
                return change.state
        return None

    async def get(self, entity_type: str, entity_id: str, *, for_update: bool = False) -> dict | None:
        """The held state, or None. ``for_update`` row-locks it to the end of the transaction."""
        if "\x00" in entity_id:  # PostgreSQL text cannot hold NUL: nothing can match
            return None
        pending = self._held_pending(entity_type, entity_id)
        if pending is not None and not for_update:
            return pending
        sql = "SELECT state FROM entities WHERE entity_type = $1 AND entity_id = $2"
        raw = await self.conn.fetchval(sql + (" FOR UPDATE" if for_update else ""), entity_type, entity_id)
        if pending is not None:
            return pending
        return json.loads(raw) if raw is not None else None

    async def get_many(self, entity_type: str, entity_ids: list[str]) -> dict[str, dict]:
        """Held states of several entities of one type, by id (missing ids are absent)."""
        await self.flush()
        rows = await self.conn.fetch(
            "SELECT entity_id, state FROM entities WHERE entity_type = $1 AND entity_id = ANY($2::text[])",
            entity_type, entity_ids)
        return {r["entity_id"]: json.loads(r["state"]) for r in rows}

    async def get_refs(self, refs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], dict]:
        """Held states of several (type, id) entities in one statement (primary-key lookups)."""
        refs = [r for r in refs if "\x00" not in r[1]]
        pending = {r: state for r in refs if (state := self._held_pending(*r)) is not None}
        refs = [r for r in refs if r not in pending]
        rows = await self.conn.fetch(
            "SELECT e.entity_type, e.entity_id, e.state FROM unnest($1::text[], $2::text[]) AS k(t, i)"
            " JOIN entities e ON e.entity_type = k.t AND e.entity_id = k.i",
            [r[0] for r in refs], [r[1] for r in refs])
        return {**{(r["entity_type"], r["entity_id"]): json.loads(r["state"]) for r in rows}, **pending}

    async def find(self, entity_type: str, field: str, value: str, *, limit: int = 100) -> list[dict]:
        """Entities whose ``state->>field`` equals ``value`` (indexed fields only)."""
        # The key is inlined (checked against a strict pattern) so the planner can match
        # the partial expression indexes of migration 0250; a parameter would not.
        if not _FIELD.fullmatch(field):
            raise ValueError(f"bad field name {field!r}")
        if "\x00" in value:
            return []
        await self.flush()
        rows = await self.conn.fetch(
            f"SELECT state FROM entities WHERE entity_type = $1 AND state->>'{field}' = $2"
            " ORDER BY updated_at, entity_id LIMIT $3", entity_type, value, limit)
        return [json.loads(r["state"]) for r in rows]

    async def load(self, record_type: type[R], entity_id: str, *, for_update: bool = False) -> R | None:
        """The record of ``record_type`` with this id, rebuilt from its held state, or None
        (``for_update`` as in :meth:`get`)."""
        state = await self.get(record_type.entity_type, entity_id, for_update=for_update)
        return record_type.from_state(state) if state is not None else None

    async def find_records(self, record_type: type[R], field: str, value: str, *, limit: int = 100) -> list[R]:
        """Records whose state ``field`` equals ``value`` (as :meth:`find`)."""
        return [record_type.from_state(s) for s in await self.find(record_type.entity_type, field, value,
                                                                    limit=limit)]

    async def save(self, record: RecordBase, *, insert_only: bool = False) -> None:
        """Record a change of a typed record, as its state (entities + outbox)."""
        await self.put(record.entity_type, record.entity_id, record.to_state(), insert_only=insert_only)

    def change_of(self, record: RecordBase, *, insert_only: bool = False) -> Change:
        """A typed record as a change to pass to :meth:`record` with others."""
        return Change(record.entity_type, record.entity_id, record.to_state(), insert_only)

    async def put(self, entity_type: str, entity_id: str, state: dict, *,
                  insert_only: bool = False) -> None:
        """A replicated write (entities + entity_versions + outbox): collected by the open
        transaction() and written when it ends; written at once outside one."""
        change = Change(entity_type, entity_id, state, insert_only)
        if self._pending is not None:
            self._pending.append(change)
            return
        await record_changes(self.conn, node_id=self.node_id, town=self.town, changes=[change])

    async def record(self, changes: Sequence[Change]) -> list[Event]:
        """record_changes now, with any collected writes first: one clock tick and one
        entity-store lock for the whole batch; returns the events of ``changes``."""
        before = list(self._pending or [])
        if self._pending:
            self._pending[:] = []
        events = await record_changes(self.conn, node_id=self.node_id, town=self.town,
                                      changes=[*before, *changes])
        return events[len(before):]

    def audit_change(self, **fields: Any) -> Change:
        """service.staff.audit.audit_state as an insert-only change (imported late: another module's)."""
        from service.staff.audit import ENTITY_TYPE, audit_state

        state = audit_state(node_id=self.node_id, **fields)
        return Change(ENTITY_TYPE, state["audit_id"], state, insert_only=True)

    async def reserve_number(self, node_id: str) -> int:
        """The next sequence: one row update (its row lock is held to the end of the caller's
        transaction). The row was recovered at start by :func:`recover_sequence`; a node
        whose row is missing (never started through create_app) starts at 1."""
        return await self.conn.fetchval(
            "INSERT INTO certificate_sequences AS s (node_id, last_value) VALUES ($1, 1)"
            " ON CONFLICT (node_id) DO UPDATE SET last_value = s.last_value + 1 RETURNING last_value",
            node_id)

    async def open_intent(self, number: str, application_id: str, purpose: str,
                          staff_id: str | None, issuer: str) -> bool:
        """Insert the intent row; False when another intent of the application is open (the
        partial unique index issuance_intents_open is the database's guard, across processes)."""
        status = await self.conn.execute(
            "INSERT INTO issuance_intents (number, application_id, purpose, staff_id, issuer)"
            " VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (application_id) WHERE completed_at IS NULL AND abandoned_at IS NULL DO NOTHING",
            number, application_id, purpose, staff_id, issuer)
        return status.endswith(" 1")

    async def close_intent(self, number: str, *, abandoned: str | None = None) -> bool:
        """Completed (the certificate is stored) or abandoned (with the reason); False when
        the intent was not open any more (abandoned meanwhile as stale)."""
        if abandoned is None:
            status = await self.conn.execute(
                "UPDATE issuance_intents SET completed_at = now()"
                " WHERE number = $1 AND completed_at IS NULL AND abandoned_at IS NULL", number)
        else:
            status = await self.conn.execute(
                "UPDATE issuance_intents SET abandoned_at = now(), abandon_reason = $2"
                " WHERE number = $1 AND completed_at IS NULL AND abandoned_at IS NULL", number, abandoned)
        return status.endswith(" 1")

    async def abandon_stale_intents(self, application_id: str, reason: str, *, older_than_s: float,
                                    issuer: str) -> int:
        """Close open intents of an application opened by ``issuer`` (the caller holds that
        issuer's lock, so they are left over) or started more than ``older_than_s`` ago."""
        result = await self.conn.execute(
            "UPDATE issuance_intents SET abandoned_at = now(), abandon_reason = $2"
            " WHERE application_id = $1 AND completed_at IS NULL AND abandoned_at IS NULL"
            " AND (issuer = $4 OR started_at < now() - make_interval(secs => $3))",
            application_id, reason, older_than_s, issuer)
        return int(result.split()[-1])

    async def audit(self, **fields: Any) -> None:
        """An audit record in this transaction, written with its other changes."""
        if not self.conn.is_in_transaction():
            raise RuntimeError("audit must run inside the caller's transaction")
        change = self.audit_change(**fields)
        await self.put(change.entity_type, change.entity_id, change.state, insert_only=True)


# The per-node sequence as the certificates held show it: served by the expression index of
# migration 0320, so recovering it at start is one index probe however long the history.
_HELD_SEQUENCE = (
    "SELECT max((substring(entity_id from '-([0-9]+)$'))::bigint) FROM entities"
    " WHERE entity_type = 'certificate' AND state->>'issuing_node' = $1")


async def recover_sequence(conn: asyncpg.Connection, node_id: str) -> int:
    """At node start: make the sequence row at least the highest number of this node held
    (a node rebuilt from Kafka must not hand out its old numbers again); returns it."""
    held = await conn.fetchval(_HELD_SEQUENCE, node_id) or 0
    return await conn.fetchval(
        "INSERT INTO certificate_sequences AS s (node_id, last_value) VALUES ($1, $2)"
        " ON CONFLICT (node_id) DO UPDATE SET last_value = greatest(s.last_value, EXCLUDED.last_value)"
        " RETURNING last_value", node_id, held)
