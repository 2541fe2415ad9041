"""aiokafka is pinned exactly: the relay uses two of its private attributes.

* ``AIOKafkaProducer._message_accumulator.fail_all`` (relay._drop_producer): stop() would
  otherwise flush queued batches for as long as the brokers are down;
* ``AIOKafkaConsumer._client.fetch_all_metadata`` (consumer._assign, rebuild): the public
  partitions_for_topic only knows topics already tracked.

An upgrade must fail here, loudly, until someone checks both still exist and behave.
"""

from __future__ import annotations

import aiokafka
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

PINNED = "0.14.0"


def test_aiokafka_is_the_pinned_version():
    assert aiokafka.__version__ == PINNED, (
        f"aiokafka {aiokafka.__version__} installed, the code was checked against {PINNED}: "
        "re-check the private attributes named in this file, then move the pin in "
        "pyproject.toml and here")


async def test_the_private_attributes_we_use_exist():
    producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:1")
    consumer = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1")
    try:
        assert callable(producer._message_accumulator.fail_all)
        assert callable(consumer._client.fetch_all_metadata)
    finally:
        await producer.stop()
        await consumer.stop()
