"""TLS benchmark: transport security off and on, side by side in one run.

Two single-broker Kafka clusters from deploy/ run at the same time, identical but for TLS:
one plaintext, one as the launcher sets it up (TLS with client certificates, the
StandardAuthorizer, per-node ACLs; the nodes connect with their own certificates).

1. Replication lag p50/p99: a write committed at node A until it is visible in node B's
   entity table (outbox -> relay -> Kafka acks=all -> consumer -> PostgreSQL), one at a time.
   Baseline: a raw aiokafka idempotent acks=all produce -> consume round trip over TLS.
2. Replication throughput: N outbox rows at A, relay started, until B applied them all.
   Baseline: raw aiokafka over TLS, producing N and consuming N.
3. HTTPS vs HTTP: requests/s to a node-like aiohttp app (HSTS middleware, the node's
   server certificate), on one kept-alive connection and with a new connection per request.

Issuance throughput over HTTPS is not measured here: issuing needs staff, town data and
the counter story, which bench/bench_issuance.py owns; figure 3 is the per-request TLS
cost such a run would add.

Usage: ``python bench/bench_tls.py`` (starts its own PostgreSQL and two brokers; bounded,
about a minute of measuring with the defaults).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # noqa: E402

from bench.bench_replication import fill, pct, raw_round_trips, replication_lags  # noqa: E402
from certs.tls import TlsFiles, create_transport_pki, http_client_context, server_context  # noqa: E402
from replication import envelope, topics  # noqa: E402
from service.transport import hsts_middleware  # noqa: E402
from tests.support.kafka import grant, node_tls  # noqa: E402
from tests.support.replication_nodes import SimNode, create_database, drop_database  # noqa: E402

NODES = {"a-1": "434434", "b-1": "172049"}


async def raw_throughput(bootstrap: str, n: int, options: dict) -> float:
    """Raw aiokafka: produce n (idempotent, acks=all, pipelined) then consume n; events/s."""
    topic = f"bench.tput.{uuid.uuid4().hex[:8]}"
    await topics.ensure_topic(bootstrap, topic, client_options=options)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", **options)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest", **options)
    await producer.start()
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        start = time.perf_counter()
        sends = [await producer.send(topic, b"x" * 400, key=f"k{i}".encode()) for i in range(n)]
        await asyncio.gather(*sends)
        got = 0
        for _ in range(10_000):  # bounded
            batch = await consumer.getmany(timeout_ms=1000, max_records=2000)
            got += sum(len(v) for v in batch.values())
            if got >= n:
                break
        return n / (time.perf_counter() - start)
    finally:
        await consumer.stop()
        await producer.stop()


async def replication_figures(kafka, admin_dsn: str, lag_samples: int, events: int, tls: bool) -> dict:
    """Lag samples and throughput of two simulated nodes over ``kafka``."""
    make_dsn = lambda name: admin_dsn.rsplit("/", 1)[0] + "/" + name  # noqa: E731
    prefix = f"bench{uuid.uuid4().hex[:6]}.events"
    nodes = {nid: SimNode(nid, town, await create_database(admin_dsn, make_dsn, "btls"))
             for nid, town in NODES.items()}
    access = await grant(kafka, prefix, list(NODES)) if tls else {nid: {} for nid in NODES}
    lookup = envelope.static_key_lookup(*(n.signer for n in nodes.values()))
    a, b = nodes.values()
    try:
        for node in nodes.values():
            await node.open()
            await node.start(kafka.bootstrap_servers, list(NODES), lookup, prefix, kafka=access[node.node_id])
        await replication_lags(a, b, 20)  # warm-up: topics, connections, metadata
        lags = await replication_lags(a, b, lag_samples)
        await a.stop()
        await fill(a, events)
        before = await b.fetchval("SELECT count(*) FROM entities")
        start = time.perf_counter()
        await a.start(kafka.bootstrap_servers, list(NODES), lookup, prefix, kafka=access["a-1"])
        for _ in range(100_000):  # bounded; each check sleeps
            if await b.fetchval("SELECT count(*) FROM entities") >= before + events:
                break
            await asyncio.sleep(0.02)
        rate = events / (time.perf_counter() - start)
    finally:
        for node in nodes.values():
            await node.close()
            await drop_database(admin_dsn, node.dsn)
    return {"lags": lags, "rate": rate}


async def http_rates(tls_dir: Path, requests: int) -> dict[str, float]:
    """Requests/s to a node-like app over HTTP and HTTPS, kept-alive and fresh connections."""
    async def healthz(_request):
        return web.json_response({"status": "ok"})

    out = {}
    for scheme in ("http", "https"):
        app = web.Application(middlewares=[hsts_middleware] if scheme == "https" else [])
        app.router.add_get("/healthz", healthz)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        ctx = server_context(TlsFiles(tls_dir / "server")) if scheme == "https" else None
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        client_ssl = http_client_context(tls_dir) if scheme == "https" else False
        try:
            for mode, force_close in (("keep-alive", False), ("new connection", True)):
                connector = aiohttp.TCPConnector(ssl=client_ssl, force_close=force_close)
                async with aiohttp.ClientSession(connector=connector) as session:
                    start = time.perf_counter()
                    for _ in range(requests):
                        async with session.get(f"{scheme}://127.0.0.1:{port}/healthz") as resp:
                            await resp.read()
                    out[f"{scheme} {mode}"] = requests / (time.perf_counter() - start)
        finally:
            await runner.cleanup()
    return out


def report(off: dict, on: dict, raw_tls: list[float], raw_plain: list[float],
           raw_rate_tls: float, raw_rate_plain: float, http: dict[str, float]) -> None:
    print(f"replication lag, write at A until visible at B ({len(on['lags'])} sequential writes):")
    for p in (50, 99):
        x_off, x_on, r_tls, r_plain = (pct(s, p) for s in (off["lags"], on["lags"], raw_tls, raw_plain))
        print(f"  p{p}: TLS off {x_off:7.2f} ms   TLS on {x_on:7.2f} ms   on/off {x_on / x_off:5.2f}x   "
              f"raw aiokafka TLS {r_tls:6.2f} ms (plaintext {r_plain:6.2f} ms)   "
              f"replication TLS / raw TLS {x_on / r_tls:5.2f}x")
    print("replication throughput (outbox rows at A until applied at B):")
    print(f"  TLS off {off['rate']:8,.0f} events/s   TLS on {on['rate']:8,.0f} events/s   "
          f"on/off {on['rate'] / off['rate']:5.2f}x")
    print(f"  raw aiokafka produce+consume: TLS {raw_rate_tls:8,.0f} events/s   plaintext "
          f"{raw_rate_plain:8,.0f} events/s   replication TLS / raw TLS {on['rate'] / raw_rate_tls:5.3f}x")
    print("node HTTP requests/s (GET /healthz, sequential):")
    for mode in ("keep-alive", "new connection"):
        h, s = http[f"http {mode}"], http[f"https {mode}"]
        print(f"  {mode:<15} HTTP {h:8,.0f}/s   HTTPS {s:8,.0f}/s   HTTPS/HTTP {s / h:5.2f}x")


@contextlib.asynccontextmanager
async def own_services():
    """A throwaway PostgreSQL and two single-broker clusters: plaintext and TLS."""
    from deploy.kafka_admin import wait_ready
    from deploy.kafka_cluster import BrokerSpec, KafkaCluster, KafkaTls
    from deploy.postgres import PostgresCluster
    from deploy.processes import free_port

    root = Path(tempfile.mkdtemp(prefix="risai-bench-tls-"))
    os.chmod(root, 0o755)
    pki = create_transport_pki(root / "pki", datetime.now(timezone.utc), [1])
    pg = PostgresCluster.at(root / "pg", free_port())
    pg.init(for_tests=True)
    pg.start()
    make = lambda name, tls: KafkaCluster(  # noqa: E731
        root / name, [BrokerSpec(1, "local", free_port(), free_port())], replication_factor=1,
        min_insync_replicas=1, heap="384m", tls=tls)
    plain, secure = make("plain", None), make("tls", KafkaTls(pki))
    try:
        await asyncio.gather(asyncio.to_thread(plain.start), asyncio.to_thread(secure.start))
        for cluster in (plain, secure):
            await wait_ready(cluster.bootstrap_servers, expected_brokers=1, replication_factor=1,
                             client_options=cluster.admin_options())
        yield plain, secure, pg.dsn()
    finally:
        plain.stop()
        secure.stop()
        pg.destroy()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lag-samples", type=int, default=200)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    async with own_services() as (plain, secure, dsn):
        admin = secure.admin_options()
        raw_tls = await raw_round_trips(secure.bootstrap_servers, args.lag_samples, admin)
        raw_plain = await raw_round_trips(plain.bootstrap_servers, args.lag_samples)
        off = await replication_figures(plain, dsn, args.lag_samples, args.events, tls=False)
        on = await replication_figures(secure, dsn, args.lag_samples, args.events, tls=True)
        rate_tls = await raw_throughput(secure.bootstrap_servers, args.events, admin)
        rate_plain = await raw_throughput(plain.bootstrap_servers, args.events, {})
        http = await http_rates(node_tls(secure, "a-1"), args.requests)
    report(off, on, raw_tls, raw_plain, rate_tls, rate_plain, http)


if __name__ == "__main__":
    asyncio.run(main())
