"""The card CAs this node trusts, as stored: the replicated ``card_ca`` entities and the older
node-local ``card_cas`` table (migration 0200)."""

from __future__ import annotations

import asyncpg


async def card_ca_pems(conn: asyncpg.Connection | asyncpg.Pool, entity_type: str) -> list[str]:
    """The PEM of every trusted card CA (``entity_type``: the replicated entity's type)."""
    rows = await conn.fetch("SELECT state->>'certificate_pem' AS pem FROM entities WHERE entity_type = $1"
                            " UNION SELECT certificate_pem FROM card_cas", entity_type)
    return [r["pem"] for r in rows]

