"""/healthz, /readyz and /metrics.

/healthz answers while the process serves HTTP. /readyz is 200 only when the node's
database answers a query and Kafka answers a metadata request; otherwise 503 naming what
failed. The Kafka probe result is cached briefly so a busy load balancer cannot turn
readiness checks into a load on the brokers.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError

from service.appkeys import KAFKA_PROBE, METRICS, POOL, SETTINGS


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


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "node": request.app[SETTINGS].node.id})


async def readyz(request: web.Request) -> web.Response:
    app = request.app
    checks: dict[str, dict] = {}
    try:
        async with app[POOL].acquire(timeout=3) as conn:
            await conn.fetchval("SELECT 1", timeout=3)
        checks["database"] = {"ok": True}
    except (OSError, asyncio.TimeoutError, Exception) as exc:  # noqa: BLE001 - any failure means not ready
        checks["database"] = {"ok": False, "detail": type(exc).__name__}
    ok, detail = await app[KAFKA_PROBE].check()
    checks["kafka"] = {"ok": ok, "detail": detail}
    ready = all(c["ok"] for c in checks.values())
    return web.json_response({"ready": ready, "node": app[SETTINGS].node.id, "checks": checks},
                             status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
