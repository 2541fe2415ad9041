"""Replication wiring for one node: the relay and the consumer, started and stopped together.

For an aiohttp app (in ``create_app``)::

    async def replication_ctx(app):
        async with Replication(pool=app[POOL], bootstrap_servers=..., node_id=..., town=...,
                               peer_node_ids=[...], signer=..., key_lookup=...,
                               topic_prefix=..., registry=app[METRICS]) as replication:
            app[REPLICATION] = replication
            yield

    app.cleanup_ctx.append(replication_ctx)   # after the pool's ctx, so it stops first

Then a handler, in its transaction, calls ``outbox.record_change(conn, ...)``; after the
commit it calls ``await replication.acknowledged(event, timeout)`` (DESIGN 4 durability
of a reply). Whether an event is pending is read from the outbox itself (outbox.depth):
pass the same timeout to the relay as ``relay_options={"ack_timeout_s": timeout}``.
"""

from __future__ import annotations

from typing import Any, Iterable

import asyncpg
from prometheus_client import CollectorRegistry

from certs.keys import Signer
from replication import envelope, topics
from replication.consumer import ReplicationConsumer
from replication.events import Event
from replication.relay import OutboxRelay


class Replication:
    """The node's OutboxRelay and ReplicationConsumer (an async context manager)."""

    def __init__(self, *, pool: asyncpg.Pool, bootstrap_servers: str, node_id: str, town: str,
                 peer_node_ids: Iterable[str], signer: Signer,
                 key_lookup: envelope.KeyLookup, topic_prefix: str = topics.DEFAULT_PREFIX,
                 registry: CollectorRegistry | None = None,
                 relay_options: dict[str, Any] | None = None,
                 consumer_options: dict[str, Any] | None = None,
                 kafka_options: dict[str, Any] | None = None) -> None:
        """``kafka_options`` go to every Kafka client of the node: with TLS they are
        ``security_protocol="SSL"`` and the ``ssl_context`` of its client certificate
        (certs.tls.kafka_options), the node's principal for the brokers' ACLs."""
        self.pool, self.node_id, self.town = pool, node_id, town
        kafka = {"kafka_options": kafka_options} if kafka_options else {}
        registry = registry if registry is not None else CollectorRegistry()
        self.registry = registry
        self.relay = OutboxRelay(pool=pool, bootstrap_servers=bootstrap_servers,
                                 node_id=node_id, signer=signer, topic_prefix=topic_prefix,
                                 registry=registry, **kafka, **(relay_options or {}))
        self.consumer = ReplicationConsumer(
            pool=pool, bootstrap_servers=bootstrap_servers, node_id=node_id,
            peer_node_ids=peer_node_ids, key_lookup=key_lookup, topic_prefix=topic_prefix,
            registry=registry, **kafka, **(consumer_options or {}))

    async def start(self) -> None:
        """Start the relay, then the consumer (both return at once)."""
        await self.relay.start()
        await self.consumer.start()

    async def stop(self) -> None:
        """Stop the consumer, then the relay (reverse order)."""
        await self.consumer.stop()
        await self.relay.stop()

    async def __aenter__(self) -> "Replication":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def acknowledged(self, event: Event, timeout: float) -> bool:
        """Wait for Kafka's ack of ``event``; False on timeout (the reply says pending).

        Nothing is written here: a row still unpublished after the timeout counts as
        pending by itself (outbox.depth), even when the database dies right after the commit.
        """
        return await self.relay.wait_acknowledged(event.event_id, timeout)
