"""Conflicts for human review: list and resolve (pure DB functions; HTTP is the lead's).

A conflict never blocks convergence (the winner is already held everywhere). Resolving
records who reviewed it and what they decided. If staff decide the loser's state was
right, the service layer writes that state as a new change (outbox.record_change), which
replicates like any other write; ``resolve`` only closes the review item on this node.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from risai_errors import Error, Kind


@dataclass(frozen=True)
class Conflict:
    """One conflict row, JSON-friendly via ``as_dict``."""

    id: int
    kind: str
    entity_type: str
    entity_id: str
    base_version: str | None
    local_version: str
    local_state: dict[str, Any]
    remote_version: str
    remote_state: dict[str, Any]
    winner: str
    detected_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (datetimes as ISO 8601)."""
        out = dict(self.__dict__)
        for key in ("detected_at", "resolved_at"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


class ConflictNotFound(Error):
    """No conflict with that id."""

    kind, code = Kind.NOT_FOUND, "conflict_not_found"


class ConflictAlreadyResolved(Error):
    """The conflict was resolved before."""

    kind, code = Kind.CONFLICT, "conflict_already_resolved"


_COLUMNS = ("id, kind, entity_type, entity_id, base_version, local_version, local_state,"
            " remote_version, remote_state, winner, detected_at, resolved_at, resolved_by,"
            " resolution")


def _from_row(row: asyncpg.Record) -> Conflict:
    values = dict(row)
    values["local_state"] = json.loads(values["local_state"])
    values["remote_state"] = json.loads(values["remote_state"])
    return Conflict(**values)


async def count_open(conn: asyncpg.Connection) -> int:
    """How many conflicts wait for review (the conflicts_open metric)."""
    return await conn.fetchval("SELECT count(*) FROM conflicts WHERE resolved_at IS NULL")


async def list_open(conn: asyncpg.Connection, *, entity_type: str | None = None,
                    limit: int = 100, offset: int = 0) -> list[Conflict]:
    """Open conflicts, oldest first, optionally for one entity type."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM conflicts WHERE resolved_at IS NULL"
        " AND ($1::text IS NULL OR entity_type = $1) ORDER BY detected_at, id LIMIT $2 OFFSET $3",
        entity_type, limit, offset)
    return [_from_row(r) for r in rows]


async def get(conn: asyncpg.Connection, conflict_id: int) -> Conflict:
    """One conflict by id; raises ConflictNotFound."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM conflicts WHERE id = $1", conflict_id)
    if row is None:
        raise ConflictNotFound(f"no conflict {conflict_id}")
    return _from_row(row)


async def resolve(conn: asyncpg.Connection, conflict_id: int, *, staff: str,
                  resolution: str) -> Conflict:
    """Close a conflict as reviewed by ``staff`` with a free-text ``resolution``.

    Raises ConflictNotFound or ConflictAlreadyResolved. The conditional UPDATE makes two
    supervisors resolving at once safe: exactly one of them wins.
    """
    if not staff or not resolution.strip():
        raise ValueError("staff and resolution are required")
    row = await conn.fetchrow(
        f"UPDATE conflicts SET resolved_at = now(), resolved_by = $2, resolution = $3"
        f" WHERE id = $1 AND resolved_at IS NULL RETURNING {_COLUMNS}",
        conflict_id, staff, resolution)
    if row is None:
        await get(conn, conflict_id)  # raises ConflictNotFound if it does not exist
        raise ConflictAlreadyResolved(f"conflict {conflict_id} is already resolved")
    return _from_row(row)
