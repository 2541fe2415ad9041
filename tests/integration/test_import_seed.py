"""deploy.seed: synthetic towns go into each node through the importer; re-seeding is a no-op."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from certs.federation import load_federation
from deploy.seed import seed_federation

pytestmark = pytest.mark.integration


async def test_seed_imports_the_nodes_town_and_is_idempotent(database):
    federation = load_federation(Path("deploy/federation.toml"))
    dsns = {"mashiki-1": database}
    first = await seed_federation(federation, dsns, residents=30, log=lambda _: None)
    assert [r.kind for r in first["mashiki-1"]] == ["residents", "dwellings", "surveys"]
    conn = await asyncpg.connect(database)
    try:
        towns = await conn.fetch("SELECT DISTINCT state->>'town_code' AS t FROM entities WHERE entity_type = 'resident'")
        assert [r["t"] for r in towns] == ["434434"]
        second = await seed_federation(federation, dsns, residents=30, log=lambda _: None)
        assert all(r.already_imported for r in second["mashiki-1"])
    finally:
        await conn.close()
