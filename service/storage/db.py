"""The node's PostgreSQL: the connection pool and schema migrations.

Migrations are plain numbered SQL files in service/migrations (NNNN_name.sql), applied in
numeric order, each in its own transaction together with its row in schema_migrations, so
a crash mid-migration leaves either all of a file or none of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator

import asyncpg

from service.errors import NodeBusy

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

# Any fixed 64-bit number: serialises concurrent migrators (two nodes on one database
# by mistake, or a test and a node) so a file is never applied twice.
_MIGRATION_LOCK = 0x7269_7361_695F_6462


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files in order; a misnamed file or a duplicate number is an error."""
    found: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"migration file {path.name} must be named NNNN_lower_snake.sql")
        version = int(match.group(1))
        if version in found:
            raise ValueError(f"two migrations share number {version:04d}: "
                             f"{found[version].name} and {path.name}")
        found[version] = Migration(version, path.name, path.read_text())
    return [found[v] for v in sorted(found)]


async def apply_migrations(conn: asyncpg.Connection, folder: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every migration not applied yet; returns the names applied now.

    A migration that was applied and then edited is refused (its checksum changed): the
    fix is a new migration, never an edit, because other nodes already ran the old text.
    """
    await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"]: r for r in await conn.fetch("SELECT * FROM schema_migrations")}
        applied = []
        for migration in load_migrations(folder):
            row = done.get(migration.version)
            if row is not None:
                if row["checksum"] != migration.checksum:
                    raise RuntimeError(f"migration {migration.name} changed after it was applied")
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version, migration.name, migration.checksum,
                )
            applied.append(migration.name)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """An asyncpg pool; statements time out rather than hang a request forever."""
    return await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, command_timeout=30,
        server_settings={"application_name": "risai-node"},
    )


@contextlib.asynccontextmanager
async def acquire(pool: asyncpg.Pool, timeout: float) -> AsyncIterator[asyncpg.Connection]:
    """One pooled connection, or 503 ``node.busy`` (with Retry-After) after ``timeout`` s.

    Pool exhaustion is then a clean, retryable answer instead of a request that waits
    forever. Only the wait for the connection is timed: work done on it is not.
    """
    try:
        conn = await pool.acquire(timeout=timeout)
    except asyncio.TimeoutError:
        raise NodeBusy("every database connection of this node is in use; retry shortly",
                       retry_after=max(1, round(timeout))) from None
    try:
        yield conn
    finally:
        await pool.release(conn)


async def claim_database(conn: asyncpg.Connection, node_id: str, town_code: str) -> None:
    """Bind this database to one node, so a misconfigured node cannot write another's data."""
    row = await conn.fetchrow("SELECT node_id, town_code FROM node_identity")
    if row is None:
        await conn.execute("INSERT INTO node_identity (node_id, town_code) VALUES ($1, $2)",
                           node_id, town_code)
    elif (row["node_id"], row["town_code"]) != (node_id, town_code):
        raise RuntimeError(f"this database belongs to node {row['node_id']} "
                           f"(town {row['town_code']}), not to {node_id} ({town_code})")


async def node_identity(conn: asyncpg.Connection) -> tuple[str, str] | None:
    """(node id, town code) of the node that claimed this database, or None when none has."""
    row = await conn.fetchrow("SELECT node_id, town_code FROM node_identity")
    return (row["node_id"], row["town_code"]) if row is not None else None


async def connect(dsn: str) -> asyncpg.Connection:
    """One connection outside any pool (command-line tools); the caller closes it."""
    return await asyncpg.connect(dsn)
