"""Plain reads of the entity store for modules that hold a connection or pool but no Repository
(staff accounts, the audit trail). Writes always go through replication.outbox.record_change."""

from __future__ import annotations

import json
from typing import Any

import asyncpg


async def entity_state(conn: asyncpg.Connection | asyncpg.Pool, entity_type: str,
                       entity_id: str) -> dict[str, Any] | None:
    """The held state of one entity, or None."""
    raw = await conn.fetchval("SELECT state FROM entities WHERE entity_type = $1 AND entity_id = $2",
                              entity_type, entity_id)
    return json.loads(raw) if raw is not None else None


async def entity_exists(conn: asyncpg.Connection | asyncpg.Pool, entity_type: str, entity_id: str) -> bool:
    """Whether the entity store holds this entity."""
    return bool(await conn.fetchval("SELECT true FROM entities WHERE entity_type = $1 AND entity_id = $2",
                                    entity_type, entity_id))


async def origin_of(conn: asyncpg.Connection | asyncpg.Pool, entity_type: str, entity_id: str) -> str | None:
    """The node that last wrote this entity, or None when none is held."""
    return await conn.fetchval("SELECT origin_node FROM entities WHERE entity_type = $1 AND entity_id = $2",
                               entity_type, entity_id)


async def latest_of_town(conn: asyncpg.Connection | asyncpg.Pool, entity_type: str, town_code: str,
                         limit: int) -> list[dict[str, Any]]:
    """States of one type about ``town_code``, newest ``at`` first."""
    rows = await conn.fetch(
        "SELECT state FROM entities WHERE entity_type = $1 AND state->>'town_code' = $2"
        " ORDER BY state->>'at' DESC LIMIT $3", entity_type, town_code, limit)
    return [json.loads(r["state"]) for r in rows]


async def states_of_town(conn: asyncpg.Connection | asyncpg.Pool, entity_type: str,
                         town_code: str, order_key: str) -> list[dict[str, Any]]:
    """Every state of one type about ``town_code``, ordered by one of its text keys."""
    rows = await conn.fetch(
        "SELECT state FROM entities WHERE entity_type = $1 AND state->>'town_code' = $2"
        " ORDER BY state->>$3", entity_type, town_code, order_key)
    return [json.loads(r["state"]) for r in rows]
