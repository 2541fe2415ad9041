"""The shared retry loop of the relay and the consumer (replication/loop.py)."""

from __future__ import annotations

import logging

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError
from prometheus_client import CollectorRegistry, Counter

from replication import loop


@pytest.mark.parametrize("exc", [ConnectionRefusedError(111, "refused"),
                                 asyncpg.CannotConnectNowError("the database system is starting up"),
                                 asyncpg.InterfaceError("connection is closed"),
                                 asyncpg.InternalServerError("could not write init file"),
                                 asyncpg.DiskFullError("could not extend file")])
def test_database_errors_back_off_at_most_a_second(exc):
    # Issue 17: after a database restart the relay slept up to 30 s between attempts.
    caps = [loop.backoff_cap(exc, attempt, max_backoff=30.0) for attempt in range(1, 40)]
    assert max(caps) == loop.DATABASE_MAX_BACKOFF == 1.0
    assert caps[0] < caps[1] < caps[2]  # still exponential at first


@pytest.mark.parametrize("exc", [KafkaConnectionError("down"), TimeoutError("no ack in 20000 ms")])
def test_kafka_errors_back_off_up_to_the_maximum(exc):
    caps = [loop.backoff_cap(exc, a, max_backoff=30.0) for a in range(1, 40)]
    assert max(caps) == 30.0
    assert caps == sorted(caps)


def test_a_full_disk_is_retried_not_the_end_of_the_loop():
    # The disk-full drill: "could not write init file" stopped the relay and the consumer for
    # good, and the node never caught up after space returned.
    for exc in (asyncpg.InternalServerError("could not write init file"), asyncpg.DiskFullError("full"),
                asyncpg.PostgresSystemError("could not write to file")):
        assert isinstance(exc, loop.TRANSIENT)


def test_the_relay_and_the_consumer_wait_at_most_five_seconds_for_brokers_by_default():
    # The broker-lost drill: with a 30 s cap a node slept up to 30 s after the brokers were
    # back, and the federation converged over the drill's bound.
    import inspect

    from replication.consumer import ReplicationConsumer
    from replication.relay import OutboxRelay
    for cls in (loop.RetryLoop, OutboxRelay, ReplicationConsumer):
        assert inspect.signature(cls).parameters["max_backoff"].default == loop.KAFKA_MAX_BACKOFF == 5.0


async def test_retry_runs_a_failing_step_again_and_logs_each_retry(caplog):
    retries = Counter("t_retries", "retries", registry=CollectorRegistry())
    runner = loop.RetryLoop("test-loop", retries=retries, log=logging.getLogger("t"))
    attempts = []

    async def step() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionRefusedError(111, "refused")
        return "done"

    with caplog.at_level(logging.WARNING, logger="t"):
        assert await runner.retry(step) == "done"
    assert len(attempts) == 3
    assert retries._value.get() == 2
    assert len(runner.planned_sleeps) == 2 and max(runner.planned_sleeps) <= 1.0
    assert caplog.text.count("test-loop: attempt") == 2


async def test_a_non_transient_error_ends_the_step():
    runner = loop.RetryLoop("t2", retries=Counter("t2", "r", registry=CollectorRegistry()),
                            log=logging.getLogger("t"))

    async def step() -> None:
        raise ValueError("a bug, not an outage")

    with pytest.raises(ValueError):
        await runner.retry(step)
