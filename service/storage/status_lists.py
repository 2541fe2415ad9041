"""The reads the federation's status lists are built from (service/api/status.py): what
changed since the last build, each issuing node's highest sequence, the revoked and the
superseded certificates."""

from __future__ import annotations

from typing import Iterable

MARKER_SQL = ("SELECT count(*), max(updated_at) FROM entities"
              " WHERE entity_type IN ('certificate', 'revocation')")
# One probe of migration 0320's expression index per issuing node (the same expressions as
# repository._HELD_SEQUENCE), instead of a regexp over every certificate held.
HIGHEST_SQL = (
    "SELECT n AS node, (SELECT max((substring(entity_id from '-([0-9]+)$'))::bigint) FROM entities"
    "  WHERE entity_type = 'certificate' AND state->>'issuing_node' = n) AS top"
    " FROM unnest($1::text[]) AS n")
REVOKED_SQL = "SELECT entity_id FROM entities WHERE entity_type = 'revocation'"
SUPERSEDED_SQL = ("SELECT state->>'supersedes' AS old, entity_id AS new FROM entities"
                  " WHERE entity_type = 'certificate' AND state->>'supersedes' IS NOT NULL")


class StatusListQueries:
    """Mixed into the counter's repository (needs ``self.conn``)."""

    async def status_marker(self) -> tuple:
        """Changes when a certificate or a revocation is added or changed."""
        count, newest = await self.conn.fetchrow(MARKER_SQL)
        return count, newest

    async def highest_sequences(self, nodes: Iterable[str]) -> dict[str, int]:
        """The highest 整理番号 sequence held per issuing node (0 when none)."""
        rows = await self.conn.fetch(HIGHEST_SQL, sorted(set(nodes)))
        return {r["node"]: r["top"] or 0 for r in rows}

    async def revoked_numbers(self) -> list[str]:
        return [r["entity_id"] for r in await self.conn.fetch(REVOKED_SQL)]

    async def superseded_pairs(self) -> list[tuple[str, str]]:
        """(old number, the number that superseded it)."""
        return [(r["old"], r["new"]) for r in await self.conn.fetch(SUPERSEDED_SQL)]
