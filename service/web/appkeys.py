"""Typed application keys (aiohttp web.AppKey): what create_app puts on the app."""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg
from aiohttp import web

if TYPE_CHECKING:
    from replication.runtime import Replication
    from service.config import Settings
    from service.counter.printing import SealImages
    from service.keyring import Keyring
    from service.metrics import NodeMetrics
    from service.web.health import KafkaProbe

SETTINGS: web.AppKey["Settings"] = web.AppKey("settings")
POOL: web.AppKey[asyncpg.Pool] = web.AppKey("pool")
METRICS: web.AppKey["NodeMetrics"] = web.AppKey("metrics")
KAFKA_PROBE: web.AppKey["KafkaProbe"] = web.AppKey("kafka_probe")
KEYRING: web.AppKey["Keyring"] = web.AppKey("keyring")
REPLICATION: web.AppKey["Replication"] = web.AppKey("replication")
PEER_NODE_IDS: web.AppKey[tuple[str, ...]] = web.AppKey("peer_node_ids", tuple)  # read once at start
SEALS: web.AppKey["SealImages"] = web.AppKey("seal_images")  # town seal images, read once at start
