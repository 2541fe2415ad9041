"""The node's aiohttp application factory: all wiring happens here and nowhere else.

Resources live in cleanup_ctx so they start in order and stop in reverse: peer node ids
(the federation file, read once) → database pool (with migrations) → keyring →
replication (relay + consumer). Nothing connects at import time.
"""

from __future__ import annotations

import logging
from typing import AsyncIterator

from aiohttp import web

from certs.federation import load_federation
from replication import own_topic
from replication.runtime import Replication
from service.api.routes import setup_api
from service.config import Settings
from service.counter.printing import SealImages
from service.keyring import Keyring
from service.metrics import NodeMetrics, requests_middleware
from service.storage.db import apply_migrations, claim_database, create_pool
from service.storage.duplicates import review_applied
from service.storage.duplicates import sweep as review_sweep
from service.storage.repository import recover_sequence
from service.transport import hsts_middleware, kafka_client_options, watch_expiry
from service.web import health
from service.web.appkeys import KAFKA_PROBE, KEYRING, METRICS, PEER_NODE_IDS, POOL, REPLICATION, SEALS, SETTINGS
from service.web.auth import setup_auth
from service.web.errors import error_middleware
from service.web.kiosk_app import setup_kiosk_app
from service.web.kiosk_auth import setup_kiosk_requests
from service.web.ui import setup_ui
from service.web.verifier import setup_verifier

log = logging.getLogger("service.web.app")


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    log.info("connecting to database", extra={"dsn": settings.database.redacted_dsn()})
    pool = await create_pool(settings.database.dsn, min_size=settings.database.pool_min,
                             max_size=settings.database.pool_max)
    try:
        async with pool.acquire() as conn:
            applied = await apply_migrations(conn)
            await claim_database(conn, settings.node.id, settings.node.town_code)
            # Once per start, not per issuance: the sequence row is authoritative from here.
            await recover_sequence(conn, settings.node.id)
            # Duplicates a rebuild or a failed post-apply step left without a review item.
            await review_sweep(conn)
        if applied:
            log.info("migrations applied", extra={"migrations": applied})
        app[POOL] = pool
        yield
    finally:
        await pool.close()


async def _keyring_ctx(app: web.Application) -> AsyncIterator[None]:
    keys = app[SETTINGS].keys
    if keys.key_dir and keys.trust_list and keys.root_cert:
        app[KEYRING] = Keyring.load(keys.key_dir, keys.trust_list, keys.root_cert,
                                    app[SETTINGS].node.town_code)
    else:
        log.warning("no keys configured ([keys] key_dir, trust_list, root_cert): "
                    "this node can neither sign nor replicate")
    yield


def _peer_node_ids(settings: Settings) -> tuple[str, ...]:
    if settings.federation_file is None:
        return ()
    federation = load_federation(settings.federation_file)
    return tuple(n.id for n in federation.nodes if n.id != settings.node.id)


async def _federation_ctx(app: web.Application) -> AsyncIterator[None]:
    app[PEER_NODE_IDS] = _peer_node_ids(app[SETTINGS])  # the federation file is read once, here
    yield


async def _replication_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    keyring = app.get(KEYRING)
    if keyring is None:
        yield
        return
    replication = Replication(
        pool=app[POOL], bootstrap_servers=settings.kafka.bootstrap_servers,
        node_id=settings.node.id, town=settings.node.town_code,
        peer_node_ids=list(app[PEER_NODE_IDS]), signer=keyring.event_signer,
        key_lookup=keyring.key_lookup, topic_prefix=settings.kafka.topic_prefix,
        registry=app[METRICS].registry, kafka_options=kafka_client_options(settings),
        relay_options={"ack_timeout_s": settings.kafka.ack_timeout_s},  # pending = older rows
        # The post-apply step finds duplicates accepted during a partition (issue 11).
        consumer_options={"key_owner": keyring.key_owner, "after_apply": review_applied},
    )
    # A database restored from an older backup lacks this node's later writes: take them
    # back from its own topic before serving, then recover the sequence past them (issue 17).
    caught_up = await own_topic.catch_up(app[POOL], replication.consumer.ctx,
                                         bootstrap_servers=settings.kafka.bootstrap_servers,
                                         kafka_options=kafka_client_options(settings))
    if caught_up.applied:
        async with app[POOL].acquire() as conn:
            await recover_sequence(conn, settings.node.id)
    async with replication:
        app[REPLICATION] = replication
        yield


def create_app(settings: Settings) -> web.Application:
    """Build the node's application from its settings."""
    metrics = NodeMetrics(settings.node.id)
    middlewares = [requests_middleware(metrics), *([hsts_middleware] if settings.tls.http else []),
                   error_middleware]
    app = web.Application(middlewares=middlewares, client_max_size=64 * 1024 * 1024)
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app[SEALS] = SealImages.load(settings.printing.seal_dir)  # a bad image stops start-up here
    watch_expiry(settings, app[METRICS].tls_expiry)
    app[KAFKA_PROBE] = health.KafkaProbe(settings.kafka.bootstrap_servers,
                                         client_options=kafka_client_options(settings))
    app.cleanup_ctx.extend([_federation_ctx, _database_ctx, _keyring_ctx, _replication_ctx])
    health.setup_routes(app)
    setup_auth(app)
    setup_kiosk_requests(app)
    setup_api(app)
    setup_ui(app)
    setup_verifier(app)
    setup_kiosk_app(app)
    return app
