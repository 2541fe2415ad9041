"""Helpers for tests and benchmarks: simulated nodes on real PostgreSQL and Kafka.

A ``SimNode`` is one node's database (its own database in a shared PostgreSQL), pool,
signer and Replication (relay + consumer). Nothing here is a mock.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import asyncpg

from certs.keys import SoftwareSigner
from replication import digest, envelope, outbox
from replication.events import Event
from replication.runtime import Replication

_counter = itertools.count(1)


async def create_database(admin_dsn: str, make_dsn: Callable[[str], str], prefix: str = "r") -> str:
    """Create a fresh database with every migration applied; returns its DSN."""
    from service.storage.db import apply_migrations  # the lead's migration runner

    name = f"{prefix}{os.getpid()}_{next(_counter)}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = make_dsn(name)
    conn = await asyncpg.connect(dsn)
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()
    return dsn


async def drop_database(admin_dsn: str, dsn: str) -> None:
    """Drop a database created by create_database."""
    name = dsn.rsplit("/", 1)[-1].split("?")[0]
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@dataclass
class SimNode:
    """One simulated node: database, pool, key, and (when started) its Replication."""

    node_id: str
    town: str
    dsn: str
    signer: SoftwareSigner = field(default_factory=SoftwareSigner.generate)
    pool: asyncpg.Pool | None = None
    replication: Replication | None = None

    async def open(self) -> None:
        """Open the pool."""
        self.pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=6)

    async def start(self, bootstrap: str, peers: list[str], key_lookup: envelope.KeyLookup,
                    prefix: str, **options: Any) -> None:
        """Start relay and consumer for this node (``kafka=``: TLS client options)."""
        self.replication = Replication(
            pool=self.pool, bootstrap_servers=bootstrap, node_id=self.node_id, town=self.town,
            peer_node_ids=peers, signer=self.signer, key_lookup=key_lookup, topic_prefix=prefix,
            kafka_options=options.get("kafka"), relay_options=options.get("relay"),
            consumer_options={"refresh_interval": 0.5, "max_backoff": 2.0,
                              **options.get("consumer", {})})
        await self.replication.start()

    async def stop(self) -> None:
        """Stop relay and consumer (the pool stays open)."""
        if self.replication is not None:
            await self.replication.stop()
            self.replication = None

    async def close(self) -> None:
        """Stop and close the pool."""
        await self.stop()
        if self.pool is not None:
            await self.pool.close()
            self.pool = None

    async def write(self, entity_type: str, entity_id: str, state: dict[str, Any],
                    insert_only: bool = False) -> Event:
        """A local change, committed, as the service layer would make it."""
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                return await outbox.record_change(
                    conn, node_id=self.node_id, town=self.town, entity_type=entity_type,
                    entity_id=entity_id, state=state, insert_only=insert_only)

    async def held(self, entity_type: str, entity_id: str) -> asyncpg.Record | None:
        """The held entity row, or None."""
        async with self.pool.acquire() as conn:
            return await conn.fetchrow(
                "SELECT * FROM entities WHERE entity_type = $1 AND entity_id = $2",
                entity_type, entity_id)

    async def digest(self) -> digest.Digest:
        """The entity-store digest."""
        async with self.pool.acquire() as conn:
            return await digest.compute(conn)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """One value from this node's database."""
        async with self.pool.acquire() as conn:
            return await conn.fetchval(sql, *args)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30.0,
                     interval: float = 0.1, what: str = "condition") -> None:
    """Wait until ``check()`` is true; raise AssertionError naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)
