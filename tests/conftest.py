"""Session fixtures that start the real services the integration tests talk to.

- `postgres`: one throwaway PostgreSQL 15 cluster (as the postgres user, loopback port).
- `database`: a fresh database in it, with every migration applied, per test.
- `kafka_broker`: one real Kafka broker in KRaft mode (fast tests).
- `kafka_cluster3`: three real brokers, one per region, RF 3, min.insync.replicas 2.

Both Kafka fixtures are secure as the launcher's: TLS on every listener with client
certificates from a TLS CA of their own, and ACLs. ``cluster.admin_options()`` connects as
the super user; tests/support/kafka.py gives a test a node's identity and ACLs.

Everything is started lazily (only when a test asks) and torn down at session end.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import asyncpg
import pytest
from hypothesis import HealthCheck, settings

# Property tests check what holds, not how fast examples are made: on a loaded 2-core
# machine (CI beside PostgreSQL and three brokers) generation is slow, and the health check
# and per-example deadline then fail tests that found nothing wrong.
settings.register_profile("risai", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("risai")

from certs.tls import create_transport_pki
from deploy.kafka_admin import wait_ready
from deploy.kafka_cluster import BrokerSpec, KafkaCluster, KafkaTls
from deploy.postgres import PostgresCluster
from deploy.processes import free_port
from service.storage.db import apply_migrations

_db_counter = itertools.count(1)


def _service_root(name: str) -> Path:
    # Not pytest's tmp_path: that lives under a 0700 folder the postgres user cannot enter.
    root = Path(tempfile.mkdtemp(prefix=f"risai-{name}-"))
    os.chmod(root, 0o755)
    return root


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL 15 cluster for the whole session."""
    root = _service_root("pg")
    cluster = PostgresCluster.at(root / "cluster", free_port())
    cluster.init(for_tests=True)
    cluster.start()
    yield cluster
    cluster.destroy()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def database(postgres) -> str:
    """The DSN of a fresh database with all migrations applied; dropped after the test."""
    name = f"t{os.getpid()}_{next(_db_counter)}"
    admin = await asyncpg.connect(postgres.dsn())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = postgres.dsn(name)
    conn = await asyncpg.connect(dsn)
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()
    yield dsn
    admin = await asyncpg.connect(postgres.dsn())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _start_kafka(name: str, regions: list[str], rf: int, isr: int) -> KafkaCluster:
    specs = [BrokerSpec(i + 1, region, free_port(), free_port()) for i, region in enumerate(regions)]
    root = _service_root(name)
    pki = create_transport_pki(root / "pki", datetime.now(timezone.utc), [s.id for s in specs])
    cluster = KafkaCluster(root, specs, replication_factor=rf, min_insync_replicas=isr,
                           heap="384m", tls=KafkaTls(pki))
    cluster.start()
    try:
        asyncio.run(wait_ready(cluster.bootstrap_servers, expected_brokers=len(specs),
                               replication_factor=rf, client_options=cluster.admin_options()))
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture(scope="session")
def kafka_broker():
    """One real Kafka broker (KRaft, combined broker/controller)."""
    cluster = _start_kafka("kafka1", ["local"], rf=1, isr=1)
    yield cluster
    cluster.stop()
    shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.fixture(scope="session")
def kafka_cluster3():
    """Three real brokers, one per region: replication factor 3, min.insync.replicas 2."""
    cluster = _start_kafka("kafka3", ["kyushu", "hokuriku", "tohoku"], rf=3, isr=2)
    yield cluster
    cluster.stop()
    shutil.rmtree(cluster.root, ignore_errors=True)
