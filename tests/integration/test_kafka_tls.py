"""Transport security on the real three-broker cluster: TLS with client certificates from the
federation's TLS CA on every broker, and ACLs that let a node write only its own topic."""

from __future__ import annotations

import asyncio
import itertools
import ssl
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError

from certs.tls import TlsFiles, client_context, create_transport_pki, ensure_node_tls
from deploy.kafka_acl import describe_acls, node_acls
from tests.support.kafka import grant

pytestmark = pytest.mark.integration
_prefixes = itertools.count(1)


@pytest.fixture
def prefix():
    return f"tls{next(_prefixes)}.events"


async def _connects(bootstrap: str, **options) -> bool:
    """True if an admin client can bootstrap and list topics with these options."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000, **options)
    try:
        await asyncio.wait_for(admin.start(), 30)
        await asyncio.wait_for(admin.list_topics(), 30)
        return True
    except (KafkaError, OSError, ssl.SSLError, asyncio.TimeoutError):
        return False
    finally:
        await admin.close()


def _brokers(cluster) -> list[str]:
    return [f"{cluster.host}:{b.port}" for b in cluster.brokers.values()]


async def test_every_broker_refuses_clients_without_a_federation_certificate(kafka_cluster3):
    ca = kafka_cluster3.tls.pki_dir / "tls" / "ca.pem"
    foreign = create_transport_pki(Path(tempfile.mkdtemp(prefix="risai-foreign-")),
                                   datetime.now(timezone.utc), [])
    stranger = TlsFiles(ensure_node_tls(foreign, "a-1", datetime.now(timezone.utc)) / "client")
    for bootstrap in _brokers(kafka_cluster3):
        # The admin's certificate works: the refusals below are about the client, not the broker.
        assert await _connects(bootstrap, **kafka_cluster3.admin_options()), bootstrap
        assert not await _connects(bootstrap), f"{bootstrap} took a plaintext client"
        assert not await _connects(bootstrap, security_protocol="SSL",
                                   ssl_context=client_context(ca)), f"{bootstrap}: no client cert"
        # A well-formed certificate for the same node id, from another CA: refused too.
        foreign_cert = ssl.create_default_context(cafile=str(ca))
        foreign_cert.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        foreign_cert.load_cert_chain(str(stranger.cert), str(stranger.key))
        assert not await _connects(bootstrap, security_protocol="SSL", ssl_context=foreign_cert), \
            f"{bootstrap} took a certificate from another CA"


async def test_a_node_cannot_produce_to_a_peers_topic_and_nothing_lands(kafka_cluster3, prefix):
    access = await grant(kafka_cluster3, prefix, ["a-1", "b-1"], replication_factor=3,
                         min_insync_replicas=2)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_cluster3.bootstrap_servers, acks="all",
                                enable_idempotence=True, request_timeout_ms=10000, **access["a-1"])
    await producer.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await asyncio.wait_for(producer.send_and_wait(f"{prefix}.b-1", b"forged", key=b"k"), 60)
    finally:
        await producer.stop()
    assert await _end_offset(kafka_cluster3, f"{prefix}.b-1") == 0


async def test_a_node_writes_its_own_topic_and_reads_its_peers(kafka_cluster3, prefix):
    access = await grant(kafka_cluster3, prefix, ["a-1", "b-1"], replication_factor=3,
                         min_insync_replicas=2)
    # Idempotent acks=all producer, as the relay: allowed without IDEMPOTENT_WRITE on the
    # cluster, because WRITE on a topic authorises InitProducerId (KIP-679).
    producer = AIOKafkaProducer(bootstrap_servers=kafka_cluster3.bootstrap_servers, acks="all",
                                enable_idempotence=True, **access["a-1"])
    await producer.start()
    try:
        for i in range(3):
            await producer.send_and_wait(f"{prefix}.a-1", f"event-{i}".encode(), key=b"k")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_cluster3.bootstrap_servers, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                **access["b-1"])
    await consumer.start()
    try:
        consumer.assign([TopicPartition(f"{prefix}.a-1", 0)])
        got: list[bytes] = []
        for _ in range(30):
            batch = await consumer.getmany(timeout_ms=1000)
            got += [m.value for msgs in batch.values() for m in msgs]
            if len(got) >= 3:
                break
        assert got == [b"event-0", b"event-1", b"event-2"]
    finally:
        await consumer.stop()


async def test_a_node_may_not_create_topics_and_holds_exactly_its_acls(kafka_cluster3, prefix):
    access = await grant(kafka_cluster3, prefix, ["a-1"])
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_cluster3.bootstrap_servers,
                                request_timeout_ms=10000, **access["a-1"])
    await admin.start()
    try:
        response = await admin.create_topics([NewTopic(f"{prefix}.sneaky", 1, 1)])
        codes = {name: code for name, code, *_ in response.topic_errors}
        assert codes == {f"{prefix}.sneaky": TopicAuthorizationFailedError.errno}
        assert f"{prefix}.sneaky" not in await admin.list_topics()
    finally:
        await admin.close()
    held = {acl for acl in await describe_acls(kafka_cluster3.bootstrap_servers,
                                               kafka_cluster3.admin_options())
            if acl.principal == "User:CN=a-1" and acl.name.startswith(prefix)}
    assert held == set(node_acls(prefix, "a-1"))


async def _end_offset(cluster, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=cluster.bootstrap_servers, group_id=None,
                                **cluster.admin_options())
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        return (await consumer.end_offsets([tp]))[tp]
    finally:
        await consumer.stop()

