"""A deterministic digest of the entity store, per entity type and overall.

Two nodes that converged have equal digests. Each row contributes the canonical JSON of
``[entity_type, entity_id, version, state]`` followed by a newline, in (type, id) byte
order; per type and overall the lines are hashed with SHA-256. Local bookkeeping
(updated_at, history, conflicts' review state) is deliberately left out: it differs
between nodes that hold the same data.

Usage: ``python -m replication.digest DSN [DSN ...]`` prints and compares digests.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from dataclasses import dataclass, field

import asyncpg

from replication.events import canonical_json


@dataclass(frozen=True)
class Digest:
    """SHA-256 hex digests and row counts."""

    overall: str
    rows: int
    per_type: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


async def compute(conn: asyncpg.Connection) -> Digest:
    """Digest the entities table (in one REPEATABLE READ snapshot, so it is consistent)."""
    overall, per_type, counts = hashlib.sha256(), {}, {}
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        # COLLATE "C": byte order, the same on every node whatever its locale.
        cursor = conn.cursor(
            'SELECT entity_type, entity_id, version, state FROM entities'
            ' ORDER BY entity_type COLLATE "C", entity_id COLLATE "C"', prefetch=2000)
        async for row in cursor:
            line = canonical_json([row["entity_type"], row["entity_id"], row["version"],
                                   json.loads(row["state"])]) + b"\n"
            overall.update(line)
            per_type.setdefault(row["entity_type"], hashlib.sha256()).update(line)
            counts[row["entity_type"]] = counts.get(row["entity_type"], 0) + 1
    return Digest(overall.hexdigest(), sum(counts.values()),
                  {t: h.hexdigest() for t, h in per_type.items()}, counts)


async def _main(dsns: list[str]) -> int:
    if not dsns or dsns[0] in ("-h", "--help"):
        print("usage: risai-digest DSN [DSN ...]  (prints each node's digest; exit 1 if they differ)",
              file=sys.stderr)
        return 2
    digests = []
    for dsn in dsns:
        conn = await asyncpg.connect(dsn)
        try:
            digests.append(await compute(conn))
        finally:
            await conn.close()
    for dsn, d in zip(dsns, digests):
        print(f"{d.overall}  {d.rows:>8} rows  {dsn.rsplit('@', 1)[-1]}")
        for t in sorted(d.per_type):
            print(f"    {t:<12} {d.counts[t]:>8}  {d.per_type[t][:16]}")
    same = len({d.overall for d in digests}) == 1
    print("EQUAL" if same else "DIFFERENT")
    return 0 if same else 1


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point."""
    return asyncio.run(_main(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
