"""Readiness checks and topic set-up against a running Kafka cluster (aiokafka admin).

"Ready" is checked for real: the cluster reports an active controller and every expected
broker, and a readiness topic replicated like the event topics accepts an acks=all write.
"""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

READINESS_TOPIC = "__risai_readiness"


async def describe(bootstrap: str, client_options: dict | None = None) -> dict:
    """The cluster description: controller id and brokers with their racks."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000,
                                **(client_options or {}))
    try:
        await admin.start()  # inside: a cancelled start must still close its connections
        return await admin.describe_cluster()
    finally:
        await admin.close()


async def ensure_topics(bootstrap: str, names: list[str], *, partitions: int,
                        replication_factor: int, config: dict[str, str] | None = None,
                        client_options: dict | None = None) -> None:
    """Create topics that do not exist yet (idempotent: existing topics are left alone)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000,
                                **(client_options or {}))
    try:
        await admin.start()  # inside: a cancelled start must still close its connections
        existing = set(await admin.list_topics())
        missing = [NewTopic(n, partitions, replication_factor, topic_configs=config or {})
                   for n in names if n not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # a concurrent creator won the race; the topic exists, which is all we need
    finally:
        await admin.close()


async def _probe(bootstrap: str, expected_brokers: int, replication_factor: int,
                 client_options: dict) -> None:
    info = await describe(bootstrap, client_options)
    if info.get("controller_id", -1) < 0:
        raise RuntimeError("no active controller")
    if len(info["brokers"]) < expected_brokers:
        raise RuntimeError(f"{len(info['brokers'])} of {expected_brokers} brokers registered")
    await ensure_topics(bootstrap, [READINESS_TOPIC], partitions=1,
                        replication_factor=replication_factor, client_options=client_options)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                enable_idempotence=True, request_timeout_ms=5000, **client_options)
    await producer.start()
    try:
        await producer.send_and_wait(READINESS_TOPIC, b"ready")
    finally:
        await producer.stop()


async def wait_ready(bootstrap: str, *, expected_brokers: int, replication_factor: int,
                     timeout: float = 90.0, client_options: dict | None = None) -> float:
    """Wait until the cluster has a controller, all brokers, and takes an acks=all write.

    ``client_options`` carries the admin's TLS identity (security_protocol, ssl_context):
    the readiness write goes over the same TLS listener, as a super user, as every client's.
    Returns the seconds it took; raises TimeoutError naming the last problem seen.
    """
    started = time.monotonic()
    last_error = "not tried"
    while time.monotonic() - started < timeout:
        try:
            await asyncio.wait_for(
                _probe(bootstrap, expected_brokers, replication_factor, client_options or {}), 20)
            return time.monotonic() - started
        except (KafkaError, RuntimeError, OSError, asyncio.TimeoutError) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        await asyncio.sleep(0.5)
    raise TimeoutError(f"Kafka at {bootstrap} not ready after {timeout:.0f}s ({last_error})")
