"""The stack bench_issuance.py measures: its own PostgreSQL, a one-broker Kafka, a node in a
child process, and the data it issues from (prepared over the node's own HTTP API).

Only public entry points are used (create_app, the importer, the HTTP API), so the same
file measures the code before and after a change.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import multiprocessing
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator
from urllib.parse import quote

import aiohttp
import asyncpg

from certs.ceremony import build_federation_pki
from certs.federation import load_federation
from deploy.kafka_admin import ensure_topics, wait_ready
from deploy.kafka_cluster import BrokerSpec, KafkaCluster
from deploy.postgres import PostgresCluster
from deploy.processes import free_port
from deploy.synthetic import generate_town
from replication.topics import topic_for
from service.config import DatabaseSettings, KafkaSettings, KeySettings, NodeSettings, Settings, TlsSettings

TOWN_A, TOWN_B, NODE_B = "434434", "172049", "wajima-1"  # A's residents, issued at B's node (代行)
FEDERATION = Path(__file__).resolve().parents[1] / "deploy" / "federation.toml"
PASSWORD = "correct horse battery staple"
REASON = {"X-Access-Reason": quote("避難所での申請受付（益城町からの避難者）")}
DISASTER = {"name": "令和6年能登半島地震", "date": "2024-01-01"}


def _root(name: str) -> Path:
    root = Path(tempfile.mkdtemp(prefix=f"risai-bench-{name}-"))
    os.chmod(root, 0o755)  # the postgres user must enter it
    return root


@contextlib.asynccontextmanager
async def services(with_kafka: bool) -> AsyncIterator[tuple[PostgresCluster, str | None]]:
    """PostgreSQL with production settings (fsync on), and a one-broker Kafka if asked."""
    pg_root = _root("pg")
    pg = PostgresCluster.at(pg_root / "cluster", free_port())
    pg.init()
    pg.start()
    kafka = None
    try:
        if with_kafka:
            kafka = KafkaCluster(_root("kafka"), [BrokerSpec(1, "local", free_port(), free_port())],
                                 replication_factor=1, min_insync_replicas=1, heap="512m")
            kafka.start()
            await wait_ready(kafka.bootstrap_servers, expected_brokers=1, replication_factor=1)
        yield pg, kafka.bootstrap_servers if kafka else None
    finally:
        if kafka is not None:
            kafka.stop()
            shutil.rmtree(kafka.root, ignore_errors=True)
        pg.destroy()
        shutil.rmtree(pg_root, ignore_errors=True)


def build_pki() -> Path:
    out = _root("pki")
    build_federation_pki(load_federation(FEDERATION), out, dt.datetime.now(dt.timezone.utc))
    return out


async def fresh_database(pg: PostgresCluster, name: str) -> str:
    admin = await asyncpg.connect(pg.dsn())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return pg.dsn(name)


def node_settings(dsn: str, pki: Path, port: int, bootstrap: str, mode: str, pool_max: int) -> Settings:
    return Settings(
        node=NodeSettings(id=NODE_B, town_code=TOWN_B, host="127.0.0.1", port=port),
        database=DatabaseSettings(dsn=dsn, pool_max=pool_max),
        kafka=KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=f"bench-{uuid.uuid4().hex[:8]}",
                            mode=mode),
        keys=KeySettings(pki / "nodes" / NODE_B, pki / "trust-list.cbor", pki / "root.pem"),
        # Plain HTTP and a plaintext broker, like the bare stack beside it: TLS costs are
        # bench/bench_tls.py's to measure.
        tls=TlsSettings(http=False, kafka=False),
        log_level="WARNING", secure_cookies=False)


async def seed(dsn: str, households: int, history: int) -> list[tuple[str, str]]:
    """Schema, residents and dwellings of town A, a staff account, and ``history`` existing
    certificates of this node (inserted directly: only their numbers matter here).
    Returns one (resident id, dwelling id) per household."""
    import io

    from service.imports.stream import write_csv
    from service.imports.writer import import_csv
    from service.staff.accounts import create_staff, hash_password
    from service.storage.db import apply_migrations

    town = generate_town(TOWN_A, "益城町", households * 3, 5, damaged_share=1.0, flood_share=0.0)
    conn = await asyncpg.connect(dsn)
    try:
        await apply_migrations(conn)
        for kind, records in (("residents", town.residents), ("dwellings", town.dwellings)):
            out = io.StringIO(newline="")
            write_csv(kind, records, out)
            await import_csv(conn, kind, out.getvalue().encode(), node_id=NODE_B, town=TOWN_B)
        async with conn.transaction():
            await create_staff(conn, node_id=NODE_B, node_town=TOWN_B, town_code=TOWN_B, username="bench",
                               display_name="bench", roles=("clerk", "surveyor", "supervisor"),
                               password_hash=hash_password(PASSWORD))
        if history:
            await conn.execute(
                "INSERT INTO entities (entity_type, entity_id, state, hlc, origin_node, version, insert_only)"
                " SELECT 'certificate', n, jsonb_build_object('number', n, 'issuing_node', $2::text,"
                "  'competent_town', $3::text, 'qr', repeat('X', 1500)), h, $2, h, true"
                " FROM (SELECT $3 || '-' || $2 || '-' || lpad(i::text, 6, '0') AS n,"
                "  lpad(i::text, 16, '0') || '-0000-' || $2 AS h FROM generate_series(1, $1) AS i) AS s",
                history, NODE_B, TOWN_A)
            await conn.execute("ANALYZE entities")
    finally:
        await conn.close()
    seen, out = set(), []
    for resident in town.residents:
        dwelling = next((d for d in town.dwellings if resident.household_id in d.household_ids), None)
        if dwelling is not None and resident.household_id not in seen:
            seen.add(resident.household_id)
            out.append((resident.resident_id, dwelling.dwelling_id))
    return out[:households]


def _serve_node(settings: Settings) -> None:
    from aiohttp import web

    from service.logs import configure_logging
    from service.web.app import create_app

    configure_logging(settings.log_level, settings.node.id)
    profile = os.environ.get("RISAI_BENCH_PROFILE")  # a file: the node's cProfile stats, on exit
    profiler = None
    if profile:
        import cProfile
        import signal

        profiler = cProfile.Profile()
        profiler.enable()
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        web.run_app(create_app(settings), host=settings.node.host, port=settings.node.port,
                    print=None, access_log=None)
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)


def _serve_hello(port: int) -> None:
    from aiohttp import web

    async def hello(_request: web.Request) -> web.Response:
        return web.Response(text="hello")

    app = web.Application()
    app.router.add_get("/", hello)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


@contextlib.asynccontextmanager
async def child(target: Any, *args: Any, health: str) -> AsyncIterator[None]:
    """A server in its own process (its own core's worth of event loop), until ``health`` answers."""
    proc = multiprocessing.get_context("spawn").Process(target=target, args=args, daemon=True)
    proc.start()
    try:
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as session:
            while True:
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.get(health) as resp:
                        if resp.status == 200:
                            break
                if time.monotonic() > deadline or not proc.is_alive():
                    raise RuntimeError(f"server for {health} did not start")
                await asyncio.sleep(0.2)
        yield
    finally:
        proc.terminate()
        proc.join(10)


async def make_topic(settings: Settings) -> None:
    await ensure_topics(settings.kafka.bootstrap_servers, [topic_for(settings.kafka.topic_prefix, NODE_B)],
                        partitions=1, replication_factor=1)


@dataclass
class Clerk:
    """A logged-in HTTP client of the node (cookie + CSRF header)."""

    session: aiohttp.ClientSession
    base: str
    headers: dict[str, str]
    staff_id: str  # the bench account, which also holds the surveyor role
    busy: int = 0  # 503 replies with Retry-After (node.busy), each retried

    @classmethod
    async def login(cls, base: str) -> "Clerk":
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                        cookie_jar=aiohttp.CookieJar(unsafe=True),  # an IP host
                                        timeout=aiohttp.ClientTimeout(total=30))
        async with session.post(f"{base}/api/v1/auth/login", json={
                "town_code": TOWN_B, "username": "bench", "password": PASSWORD}) as resp:
            body = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"login failed: {body}")
        return cls(session, base, {"X-CSRF-Token": body["csrf_token"], **REASON}, body["staff"]["staff_id"])

    async def post(self, path: str, body: Any) -> tuple[int, Any]:
        """POST; a 503 with Retry-After (the node is busy) is retried, at most 20 times."""
        for _ in range(20):
            async with self.session.post(self.base + path, json=body, headers=self.headers) as resp:
                status, reply = resp.status, await resp.json()
                retry = resp.headers.get("Retry-After")
            if status != 503 or retry is None:
                break
            self.busy += 1
            await asyncio.sleep(min(float(retry), 1.0))
        return status, reply

    async def judged(self, resident_id: str, dwelling_id: str) -> str:
        """Application → survey → judgement; returns the application id."""
        status, created = await self.post("/api/v1/applications", {
            "applicant_resident_id": resident_id, "dwelling_id": dwelling_id, "disaster": DISASTER})
        if status != 201:
            raise RuntimeError(f"application: {status} {created}")
        app_id = created["application"]["application_id"]
        for path, body in ((f"/api/v1/applications/{app_id}/surveys", {"surveyed_on": "2024-01-10", "damage_ratio": 42.5,
                                                                     "surveyor_id": self.staff_id}),
                           (f"/api/v1/applications/{app_id}/judgement", {})):
            status, reply = await self.post(path, body)
            if status not in (200, 201):
                raise RuntimeError(f"{path}: {status} {reply}")
        return app_id

    async def issue(self, app_id: str) -> dict:
        status, body = await self.post(f"/api/v1/applications/{app_id}/certificate", {"place": "輪島市役所 窓口"})
        if status != 201:
            raise RuntimeError(f"issue: {status} {body.get('error', body)}")
        return body["certificate"]

    async def close(self) -> None:
        await self.session.close()
