"""``python -m service.staff.cli add``: the account is replicated (entity + outbox) and can log in."""

from __future__ import annotations

import asyncio
import sys

import asyncpg
import pytest

from tests.support.auth import PASSWORD, TOWN_A, auth_client, login

pytestmark = pytest.mark.integration


async def _cli(dsn: str, *args: str, password: str = PASSWORD) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service.staff.cli", "add", "--dsn", dsn, *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate((password + "\n").encode())
    return proc.returncode, out.decode()


async def test_cli_creates_a_replicated_account_that_logs_in(database):
    async with auth_client(database) as client:  # the node claims the database
        code, out = await _cli(database, "--town", TOWN_A, "--username", "Sato",
                               "--roles", "clerk,supervisor", "--display-name", "佐藤")
        assert code == 0, out
        who = await login(client, username="sato")
        assert who.staff["roles"] == ["clerk", "supervisor"]
        code, out = await _cli(database, "--town", TOWN_A, "--username", "sato",
                               "--roles", "clerk")
        assert code == 1 and "already exists" in out
        code, out = await _cli(database, "--town", TOWN_A, "--username", "x",
                               "--roles", "mayor")
        assert code == 2 and "unknown role" in out
    conn = await asyncpg.connect(database)
    try:
        state = await conn.fetchval("SELECT state::text FROM entities WHERE entity_type = 'staff'")
        assert "$argon2id$" in state and PASSWORD not in state
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE entity_type = 'staff'") == 1
    finally:
        await conn.close()
