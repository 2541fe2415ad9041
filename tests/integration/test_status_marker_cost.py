"""The status lists' once-a-second change check reads a few index pages, however many
certificates the node holds (issue 10: a count over every certificate, once a second, was
a scan of the whole entity store at 200,000 certificates)."""

from __future__ import annotations

import json

import asyncpg
import pytest

from service.storage.status_lists import HIGHEST_SQL, REVOCATION_MARKER_SQL, StatusListQueries

pytestmark = pytest.mark.integration
CERTIFICATES = 20_000
NODE = "mashiki-1"


def _blocks(plan: dict) -> int:
    """Shared buffers touched (hit or read) by a plan and all its children."""
    return plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0)


async def _explain(conn: asyncpg.Connection, sql: str, *args) -> dict:
    rows = await conn.fetchval("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, *args)
    return (json.loads(rows) if isinstance(rows, str) else rows)[0]["Plan"]


class _Store(StatusListQueries):
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn


async def test_the_change_check_does_not_read_every_certificate(database):
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(
            "INSERT INTO entities (entity_type, entity_id, state, hlc, origin_node, version, insert_only)"
            " SELECT 'certificate', n, jsonb_build_object('number', n, 'issuing_node', $2::text,"
            "  'qr', repeat('X', 1500)), h, $2, h, true"
            " FROM (SELECT '434434-' || $2 || '-' || lpad(i::text, 6, '0') AS n,"
            "  lpad(i::text, 16, '0') || '-0000-' || $2 AS h FROM generate_series(1, $1) AS i) AS s",
            CERTIFICATES, NODE)
        await conn.execute(
            "INSERT INTO entities (entity_type, entity_id, state, hlc, origin_node, version, insert_only)"
            " SELECT 'revocation', '434434-' || $1 || '-' || lpad(i::text, 6, '0'), '{}', 'h' || i, $1, 'h' || i, true"
            " FROM generate_series(1, 3) AS i", NODE)
        await conn.execute("ANALYZE entities")

        marker = await _Store(conn).status_marker([NODE, "wajima-1"])
        assert marker[0] == (("mashiki-1", CERTIFICATES), ("wajima-1", 0))
        assert marker[1] == 3

        # The yardstick: what the old check (a count over every certificate) touched.
        full = await _explain(conn, "SELECT count(*), max(updated_at) FROM entities"
                                    " WHERE entity_type IN ('certificate', 'revocation')")
        assert _blocks(full) > 2_000, full
        revocations = await _explain(conn, REVOCATION_MARKER_SQL)
        highest = await _explain(conn, HIGHEST_SQL, [NODE, "wajima-1"])
        assert _blocks(revocations) < 20, revocations
        assert _blocks(highest) < 40, highest
    finally:
        await conn.close()
