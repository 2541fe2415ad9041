"""The node's aiohttp application factory: all wiring happens here and nowhere else.

Resources live in cleanup_ctx so they start in order and stop in reverse:
database pool (with migrations) → keyring → replication (relay + consumer). Nothing
connects at import time.
"""

from __future__ import annotations

import logging
from typing import AsyncIterator

from aiohttp import web

from certs.federation import load_federation
from replication.runtime import Replication
from service import health
from service.api.routes import setup_api
from service.appkeys import KAFKA_PROBE, KEYRING, METRICS, POOL, REPLICATION, SETTINGS
from service.auth import setup_auth
from service.config import Settings
from service.db import apply_migrations, claim_database, create_pool
from service.errors import error_middleware
from service.keyring import Keyring
from service.metrics import NodeMetrics
from service.ui import setup_ui
from service.verifier_app import setup_verifier

log = logging.getLogger("service.app")


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    log.info("connecting to database", extra={"dsn": settings.database.redacted_dsn()})
    pool = await create_pool(settings.database.dsn, min_size=settings.database.pool_min,
                             max_size=settings.database.pool_max)
    try:
        async with pool.acquire() as conn:
            applied = await apply_migrations(conn)
            await claim_database(conn, settings.node.id, settings.node.town_code)
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


def _peer_node_ids(settings: Settings) -> list[str]:
    if settings.federation_file is None:
        return []
    federation = load_federation(settings.federation_file)
    return [n.id for n in federation.nodes if n.id != settings.node.id]


async def _replication_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    keyring = app.get(KEYRING)
    if keyring is None:
        yield
        return
    replication = Replication(
        pool=app[POOL], bootstrap_servers=settings.kafka.bootstrap_servers,
        node_id=settings.node.id, town=settings.node.town_code,
        peer_node_ids=_peer_node_ids(settings), signer=keyring.event_signer,
        key_lookup=keyring.key_lookup, topic_prefix=settings.kafka.topic_prefix,
        registry=app[METRICS].registry,
        consumer_options={"key_owner": keyring.key_owner},
    )
    async with replication:
        app[REPLICATION] = replication
        yield


def create_app(settings: Settings) -> web.Application:
    """Build the node's application from its settings."""
    app = web.Application(middlewares=[error_middleware], client_max_size=64 * 1024 * 1024)
    app[SETTINGS] = settings
    app[METRICS] = NodeMetrics(settings.node.id)
    app[KAFKA_PROBE] = health.KafkaProbe(settings.kafka.bootstrap_servers)
    app.cleanup_ctx.extend([_database_ctx, _keyring_ctx, _replication_ctx])
    health.setup_routes(app)
    setup_auth(app)
    setup_api(app)
    setup_ui(app)
    setup_verifier(app)
    return app
