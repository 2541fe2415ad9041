"""SQL over the entity store for the disaster registry (service.counter.disasters)."""

from __future__ import annotations

import json

LIST_SQL = ("SELECT state FROM entities WHERE entity_type = 'disaster'"
            " ORDER BY state->>'date' DESC, entity_id LIMIT $1")
BY_NAME_DATE_SQL = ("SELECT state FROM entities WHERE entity_type = 'disaster'"
                    " AND state->>'name' = $1 AND state->>'date' = $2 LIMIT 1")


class DisasterQueries:
    """Mixed into the counter's repository (it has ``conn``)."""

    conn: object

    async def list_disasters(self, limit: int) -> list[dict]:
        """Newest first."""
        await self.flush()  # a read sees this transaction's collected writes
        rows = await self.conn.fetch(LIST_SQL, limit)
        return [json.loads(r["state"]) for r in rows]

    async def disaster_named(self, name: str, date: str) -> dict | None:
        """The registered disaster with exactly this name and date, if any."""
        await self.flush()  # a read sees this transaction's collected writes
        raw = await self.conn.fetchval(BY_NAME_DATE_SQL, name, date)
        return json.loads(raw) if raw is not None else None
