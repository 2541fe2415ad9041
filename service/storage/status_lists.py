"""The reads the federation's status lists are built from (service/api/status.py): what
changed since the last build, each issuing node's highest sequence, the revoked and the
superseded certificates. None of them reads every certificate the node holds."""

from __future__ import annotations

from typing import Iterable

# What changes a status list, read without touching every certificate (issue 10: a count over
# all certificates once a second cost a scan of the whole entity store at 200,000 of them):
# certificates are insert-only, so a new one (a superseding one too) raises its node's highest
# sequence (HIGHEST_SQL below); revocations are few and read by the primary key's prefix.
REVOCATION_MARKER_SQL = "SELECT count(*), max(updated_at) FROM entities WHERE entity_type = 'revocation'"
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

    async def status_marker(self, nodes: Iterable[str]) -> tuple:
        """Changes when a certificate of one of ``nodes`` or a revocation is added: each node's
        highest sequence (one index probe each), the revocations' count and newest change."""
        highest = await self.highest_sequences(nodes)
        count, newest = await self.conn.fetchrow(REVOCATION_MARKER_SQL)
        return tuple(sorted(highest.items())), count, newest

    async def highest_sequences(self, nodes: Iterable[str]) -> dict[str, int]:
        """The highest 整理番号 sequence held per issuing node (0 when none)."""
        rows = await self.conn.fetch(HIGHEST_SQL, sorted(set(nodes)))
        return {r["node"]: r["top"] or 0 for r in rows}

    async def revoked_numbers(self) -> list[str]:
        return [r["entity_id"] for r in await self.conn.fetch(REVOKED_SQL)]

    async def superseded_pairs(self) -> list[tuple[str, str]]:
        """(old number, the number that superseded it)."""
        return [(r["old"], r["new"]) for r in await self.conn.fetch(SUPERSEDED_SQL)]
