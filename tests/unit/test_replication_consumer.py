"""ReplicationConsumer's watchdog and lag gauges while the brokers do not answer."""

import asyncio

from aiokafka import TopicPartition
from prometheus_client import CollectorRegistry

from replication.consumer import ReplicationConsumer

TP = TopicPartition("risai.events.b-1", 0)


class BrokersDown:
    """The aiokafka calls the watchdog uses; position() never becomes valid."""

    def __init__(self, end: int = 10) -> None:
        self.end = end

    async def end_offsets(self, partitions):
        return {tp: self.end for tp in partitions}

    def highwater(self, tp):
        return self.end

    def last_poll_timestamp(self, tp):
        return None

    async def position(self, tp):
        await asyncio.Event().wait()  # aiokafka 0.14 loops until the position is valid


def make_consumer(registry=None, **options) -> ReplicationConsumer:
    consumer = ReplicationConsumer(
        pool=None, bootstrap_servers="unused:9092", node_id="a-1", peer_node_ids=["a-1", "b-1"],
        key_lookup=lambda kid: None, registry=registry or CollectorRegistry(),
        position_timeout=0.05, stall_check_interval=0.0, **options)
    consumer._assigned = {TP}
    return consumer


async def test_stall_check_is_bounded_when_the_position_never_becomes_valid():
    consumer = make_consumer()
    # Unknown position: neither a stall nor a hang (the watchdog must keep running).
    await asyncio.wait_for(consumer._check_stalled(BrokersDown()), 1.0)


async def test_lag_update_is_bounded_and_an_unknown_position_is_not_zero_lag():
    registry = CollectorRegistry()
    consumer = make_consumer(registry)
    await asyncio.wait_for(consumer._update_lag(BrokersDown()), 1.0)
    assert registry.get_sample_value("risai_replication_lag_offsets", {"origin": "b-1"}) is None
