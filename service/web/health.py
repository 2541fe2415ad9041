"""/healthz, /readyz and /metrics.

/healthz answers while the process serves HTTP. /readyz is 200 only when the node's
database answers a query and Kafka answers a metadata request; otherwise 503 naming what
failed. The Kafka probe result is cached briefly so a busy load balancer cannot turn
readiness checks into a load on the brokers.

The database probe has its own connection, outside the request pool (issue 10): a pool
drained by busy handlers is load, not a database failure, and must not make the node look
unreachable, so /readyz is never starved by request handlers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone

import asyncpg
from aiohttp import web
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError

from certs.errors import KeyFileError
from service.web.appkeys import KAFKA_PROBE, KEYRING, METRICS, SETTINGS

log = logging.getLogger("service.web.health")


class KafkaProbe:
    """Answers 'is Kafka reachable?' with a real metadata request, cached for ttl seconds."""

    def __init__(self, bootstrap_servers: str, *, ttl: float = 2.0, timeout: float = 3.0,
                 client_options: dict | None = None) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.client_options = client_options or {}  # TLS: the node's client certificate
        self.ttl, self.timeout = ttl, timeout
        self._checked_at = float("-inf")
        self._result: tuple[bool, str] = (False, "not checked")
        self._lock = asyncio.Lock()

    async def check(self) -> tuple[bool, str]:
        async with self._lock:
            if time.monotonic() - self._checked_at < self.ttl:
                return self._result
            self._result = await self._probe()
            self._checked_at = time.monotonic()
            return self._result

    async def _probe(self) -> tuple[bool, str]:
        client = AIOKafkaClient(bootstrap_servers=self.bootstrap_servers,
                                request_timeout_ms=int(self.timeout * 1000), **self.client_options)
        try:
            await asyncio.wait_for(client.bootstrap(), self.timeout)
            brokers = len(client.cluster.brokers())
            return True, f"{brokers} broker(s)"
        except (KafkaError, OSError, asyncio.TimeoutError) as exc:
            return False, f"{type(exc).__name__}: {exc}".strip(": ")
        finally:
            await client.close()


class DatabaseProbe:
    """Answers 'does the database answer?' on one dedicated connection (reopened when lost)."""

    def __init__(self, dsn: str, *, timeout: float = 3.0) -> None:
        self.dsn, self.timeout = dsn, timeout
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()

    async def check(self) -> tuple[bool, str]:
        async with self._lock:  # one probe at a time on the one connection
            try:
                if self._conn is None or self._conn.is_closed():
                    self._conn = await asyncpg.connect(
                        self.dsn, timeout=self.timeout,
                        server_settings={"application_name": "risai-node-health"})
                await self._conn.fetchval("SELECT 1", timeout=self.timeout)
                return True, "ok"
            except (OSError, asyncio.TimeoutError, Exception) as exc:  # noqa: BLE001 - any failure means not ready
                await self.close()
                return False, type(exc).__name__

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()


DATABASE_PROBE: web.AppKey[DatabaseProbe] = web.AppKey("database_probe", DatabaseProbe)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "node": request.app[SETTINGS].node.id})


async def readyz(request: web.Request) -> web.Response:
    app = request.app
    checks: dict[str, dict] = {}
    ok, detail = await app[DATABASE_PROBE].check()
    checks["database"] = {"ok": True} if ok else {"ok": False, "detail": detail}
    ok, detail = await app[KAFKA_PROBE].check()
    checks["kafka"] = {"ok": ok, "detail": detail}
    ready = all(c["ok"] for c in checks.values())
    return web.json_response({"ready": ready, "node": app[SETTINGS].node.id, "checks": checks},
                             status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    node_metrics, keyring = request.app[METRICS], request.app.get(KEYRING)
    if keyring is not None:
        try:
            expiries = keyring.delegation_expiries()
        except KeyFileError as exc:  # a broken key folder must not hide the other metrics
            log.warning("delegations unreadable for metrics", extra={"error": str(exc)})
            expiries = {}
        node_metrics.observe_keys(keyring.trust_list.issued_at, expiries, datetime.now(timezone.utc))
    body = node_metrics.render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


async def _close_probe(app: web.Application) -> None:
    await app[DATABASE_PROBE].close()


def setup_routes(app: web.Application) -> None:
    app[DATABASE_PROBE] = DatabaseProbe(app[SETTINGS].database.dsn)
    app.on_cleanup.append(_close_probe)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
