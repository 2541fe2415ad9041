"""The node's app factory against real PostgreSQL and Kafka: health, readiness, metrics."""

from __future__ import annotations

import asyncio
import shutil

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from deploy.postgres import PostgresCluster
from deploy.processes import free_port
from service.config import load_settings
from service.web.app import create_app
from tests.support.federation import service_folder
from tests.support.kafka import node_tls

pytestmark = pytest.mark.integration


PLAIN = {"RISAI_TLS__HTTP": "false", "RISAI_TLS__KAFKA": "false"}


def _settings(dsn: str, kafka, node_id: str = "wajima-1", town: str = "172049", **env: str):
    """Settings for ``kafka`` (a fixture cluster: the node's own TLS identity) or a bare
    bootstrap string (then ``env`` must turn TLS off)."""
    bootstrap = kafka if isinstance(kafka, str) else kafka.bootstrap_servers
    tls = {} if isinstance(kafka, str) else {"RISAI_TLS__DIR": str(node_tls(kafka, node_id))}
    return load_settings(None, {
        "RISAI_NODE__ID": node_id, "RISAI_NODE__TOWN_CODE": town,
        "RISAI_DATABASE__DSN": dsn, "RISAI_KAFKA__BOOTSTRAP_SERVERS": bootstrap, **tls, **env,
    })


async def _client(settings) -> TestClient:
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    return client


async def test_ready_when_database_and_kafka_answer(database, kafka_broker):
    client = await _client(_settings(database, kafka_broker))
    try:
        health = await client.get("/healthz")
        assert health.status == 200 and (await health.json())["node"] == "wajima-1"
        ready = await client.get("/readyz")
        body = await ready.json()
        assert ready.status == 200, body
        assert body["checks"]["database"]["ok"] and body["checks"]["kafka"]["ok"]
        metrics = await client.get("/metrics")
        assert metrics.status == 200
        assert metrics.headers["Content-Type"].startswith("text/plain")
        text = await metrics.text()
        assert 'risai_node_info{node="wajima-1"} 1.0' in text
        assert 'risai_tls_cert_expiry_seconds{cert="client"}' in text
        # HTTPS is on by default (TestServer itself is plain): every answer carries HSTS.
        assert health.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        await client.close()


async def test_plaintext_kafka_client_is_not_ready_against_the_tls_brokers(database, kafka_broker):
    settings = _settings(database, kafka_broker, **{"RISAI_TLS__KAFKA": "false"})
    client = await _client(settings)
    try:
        ready = await client.get("/readyz")
        body = await ready.json()
        assert ready.status == 503 and body["checks"]["kafka"]["ok"] is False, body
    finally:
        await client.close()


async def test_not_ready_when_kafka_is_unreachable(database):
    client = await _client(_settings(database, f"127.0.0.1:{free_port()}", **PLAIN))
    try:
        ready = await client.get("/readyz")
        body = await ready.json()
        assert ready.status == 503
        assert body["checks"]["database"]["ok"] is True
        assert body["checks"]["kafka"]["ok"] is False
    finally:
        await client.close()


async def test_unknown_route_is_a_json_error_not_html(database, kafka_broker):
    client = await _client(_settings(database, kafka_broker))
    try:
        resp = await client.get("/no/such/thing")
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "not_found"
    finally:
        await client.close()


async def test_database_claimed_by_another_node_is_refused(database, kafka_broker):
    client = await _client(_settings(database, kafka_broker))
    await client.close()
    app = create_app(_settings(database, kafka_broker, "mashiki-1", "434434"))
    with pytest.raises(RuntimeError, match="belongs to node wajima-1"):
        await TestServer(app).start_server()
    conn = await asyncpg.connect(database)
    try:
        assert await conn.fetchval("SELECT node_id FROM node_identity") == "wajima-1"
    finally:
        await conn.close()


async def test_database_down_is_503_not_500(kafka_broker):
    """A crashed or restarting node database is a retryable unavailability."""
    folder = service_folder("risai-pgdown-")
    cluster = PostgresCluster.at(folder / "pg", free_port())
    cluster.init(for_tests=True)
    cluster.start()
    client = None
    try:
        conn = await asyncpg.connect(cluster.dsn())
        await conn.execute("CREATE DATABASE node")
        await conn.close()
        client = await _client(_settings(cluster.dsn("node"), kafka_broker))
        await asyncio.to_thread(cluster.stop, mode="immediate")
        resp = await client.post("/api/v1/auth/login", json={
            "town_code": "172049", "username": "clerk", "password": "x" * 12})
        body = await resp.json()
        assert resp.status == 503, body
        assert body["error"]["code"] == "database.unavailable"
        ready = await client.get("/readyz")
        assert ready.status == 503 and (await ready.json())["checks"]["database"]["ok"] is False
    finally:
        if client is not None:
            await client.close()
        cluster.destroy()
        shutil.rmtree(folder, ignore_errors=True)
