"""Demo data for a launched federation: synthetic towns, one counter account per town, and
the synthetic data's disaster in the registry (the counter picks disasters from it).

`risai-federation up` calls `seed_demo` once per run directory (a marker file records it),
so a fresh federation has residents, dwellings and surveys to search, and staff who can
log in. Each town's data is imported at its own node; replication carries it everywhere.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from pathlib import Path
from typing import Callable

import asyncpg

from deploy.seed import seed_federation
from deploy.synthetic import DEFAULT_AS_OF
from replication.outbox import record_change
from service.counter.disasters import new_disaster
from service.staff.accounts import ROLES, create_staff, hash_password, load_account, staff_id_for

DEMO_USER = "demo"
MARKER = "demo-seeded"
PASSWORDS = "demo-staff.txt"


async def _demo_accounts(node_dsns: dict[str, tuple[str, str]], password: str) -> None:
    password_hash = hash_password(password)
    for node_id, (dsn, town) in node_dsns.items():
        conn = await asyncpg.connect(dsn)
        try:
            if await load_account(conn, staff_id_for(town, DEMO_USER)) is None:
                async with conn.transaction():
                    await create_staff(conn, node_id=node_id, node_town=town, town_code=town,
                                       username=DEMO_USER, display_name="デモ職員 (demo)",
                                       roles=sorted(ROLES), password_hash=password_hash)
        finally:
            await conn.close()


DEMO_DISASTER = "令和6年能登半島地震"  # the synthetic towns' surveys follow DEFAULT_AS_OF


async def _demo_disaster(node_dsns: dict[str, tuple[str, str]]) -> None:
    """Register the demo disaster once, at the first node, for every town (it replicates)."""
    node_id, (dsn, town) = next(iter(node_dsns.items()))
    now = dt.datetime.now(dt.timezone.utc)
    state = new_disaster(DEMO_DISASTER, DEFAULT_AS_OF, sorted({t for _, t in node_dsns.values()}),
                         saigai_kyujo_ho=True, shien_ho=True, today=now.date(), node=node_id,
                         staff_id="demo-seed", at=now.isoformat())
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            if await conn.fetchval("SELECT 1 FROM entities WHERE entity_type = 'disaster' AND entity_id = $1",
                                   state["disaster_id"]) is None:
                await record_change(conn, node_id=node_id, town=town, entity_type="disaster",
                                    entity_id=state["disaster_id"], state=state)
    finally:
        await conn.close()


def seed_demo(run_dir: Path, federation, node_dsns: dict[str, tuple[str, str]], *,
              residents: int, say: Callable[[str], None] = print) -> None:
    """Seed once: synthetic towns through the importer, and a `demo` account per town.

    node_dsns maps node id → (database DSN, town code). The demo password is written to
    run_dir/demo-staff.txt, readable by root only.
    """
    marker = run_dir / MARKER
    if marker.exists():
        return
    say(f"seeding {residents} synthetic residents per town …")
    asyncio.run(seed_federation(federation, {k: v[0] for k, v in node_dsns.items()},
                                residents=residents, log=lambda _line: None))
    password = secrets.token_urlsafe(12)
    asyncio.run(_demo_accounts(node_dsns, password))
    asyncio.run(_demo_disaster(node_dsns))
    secret = run_dir / PASSWORDS
    secret.write_text(f"user: {DEMO_USER} (every role), password: {password}\n"
                      + "".join(f"town {town}: log in at node {nid}\n" for nid, (_, town) in node_dsns.items()))
    secret.chmod(0o600)
    marker.write_text(str(residents))
