"""The real services the suite depends on: PostgreSQL migrations and Kafka with acks=all."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from deploy.kafka_admin import describe, ensure_topics
from service.storage.db import apply_migrations, load_migrations

pytestmark = pytest.mark.integration


async def test_migrations_apply_from_empty_and_are_idempotent(database):
    conn = await asyncpg.connect(database)
    try:
        applied = await conn.fetch("SELECT name FROM schema_migrations ORDER BY version")
        assert [r["name"] for r in applied] == [m.name for m in load_migrations()]
        assert await apply_migrations(conn) == []  # second run applies nothing
        tables = {r["tablename"] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {"schema_migrations", "node_identity"} <= tables
    finally:
        await conn.close()


async def _roundtrip(bootstrap: str, topic: str, payloads: list[bytes], tls: dict) -> list[bytes]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, **tls)
    await producer.start()
    try:
        for value in payloads:
            await producer.send_and_wait(topic, value, key=b"k")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None, **tls)
    await consumer.start()
    try:
        got: list[bytes] = []
        while len(got) < len(payloads):
            batch = await asyncio.wait_for(consumer.getmany(timeout_ms=1000), 20)
            got += [m.value for msgs in batch.values() for m in msgs]
        return got
    finally:
        await consumer.stop()


async def test_single_broker_acks_all_roundtrip(kafka_broker):
    topic = f"smoke-{uuid.uuid4().hex[:8]}"
    tls = kafka_broker.admin_options()
    await ensure_topics(kafka_broker.bootstrap_servers, [topic], partitions=1, replication_factor=1,
                        client_options=tls)
    payloads = [f"event-{i}".encode() for i in range(5)]
    assert await _roundtrip(kafka_broker.bootstrap_servers, topic, payloads, tls) == payloads


async def test_three_regions_survive_one_broker_down(kafka_cluster3):
    """min.insync.replicas=2 of RF 3: one broker down still takes acks=all writes."""
    bootstrap, tls = kafka_cluster3.bootstrap_servers, kafka_cluster3.admin_options()
    info = await describe(bootstrap, tls)
    assert sorted(b["rack"] for b in info["brokers"]) == ["hokuriku", "kyushu", "tohoku"]
    topic = f"rf3-{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, [topic], partitions=1, replication_factor=3, client_options=tls)
    assert kafka_cluster3.stop_broker(2)
    try:
        payloads = [f"while-down-{i}".encode() for i in range(3)]
        assert await _roundtrip(bootstrap, topic, payloads, tls) == payloads
    finally:
        kafka_cluster3.start_broker(2)


async def test_two_brokers_down_holds_acks_all_until_healed(kafka_cluster3):
    """The converse: with one in-sync replica left, acks=all is not acknowledged; the
    producer keeps the write and it completes once the brokers return (nothing lost)."""
    bootstrap, tls = kafka_cluster3.bootstrap_servers, kafka_cluster3.admin_options()
    topic = f"isr-{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, [topic], partitions=1, replication_factor=3, client_options=tls)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, **tls)
    await producer.start()
    try:
        assert kafka_cluster3.stop_broker(2) and kafka_cluster3.stop_broker(3)
        try:
            send = asyncio.ensure_future(producer.send_and_wait(topic, b"held"))
            await asyncio.sleep(6)
            assert not send.done(), "acks=all must not be acknowledged by a single replica"
        finally:
            kafka_cluster3.start_broker(2)
            kafka_cluster3.start_broker(3)
        metadata = await asyncio.wait_for(send, 90)
        assert metadata.offset == 0
    finally:
        await producer.stop()
