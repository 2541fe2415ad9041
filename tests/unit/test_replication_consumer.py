"""ReplicationConsumer's watchdog and lag gauges while the brokers do not answer."""

import asyncio

from aiokafka import TopicPartition
from prometheus_client import CollectorRegistry

from replication import apply, hlc
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


class CutOff(BrokersDown):
    """Fetches stopped succeeding at ``since``: highwater() still answers, from back then."""

    def __init__(self, since: int) -> None:
        super().__init__(end=10)
        self.since = since

    def last_poll_timestamp(self, tp):
        return self.since

    async def position(self, tp):
        return self.end  # everything heard of is applied: lag "0", as in the drill


async def test_a_cut_off_consumer_reports_how_old_its_lag_is_and_ages_keep_growing():
    clock = [1_000_000]
    registry = CollectorRegistry()
    consumer = make_consumer(registry, clock=lambda: clock[0])
    consumer._ends_saved = float("inf")  # no PostgreSQL here
    result = apply.BatchResult(newest={"b-1": hlc.Timestamp(990_000, 0, "b-1")})
    consumer._record_metrics(result, 0)
    await consumer._update_lag(CutOff(since=995_000))

    def sample(name):
        return registry.get_sample_value(name, {"origin": "b-1"})

    assert sample("risai_replication_lag_offsets") == 0
    assert sample("risai_replication_lag_checked_age_seconds") == 5.0
    assert sample("risai_replication_hlc_age_seconds") == 10.0
    clock[0] += 30_000  # 30 s cut off: no batch, no lag update, nothing arrives
    assert sample("risai_replication_lag_checked_age_seconds") == 35.0
    assert sample("risai_replication_hlc_age_seconds") == 40.0
