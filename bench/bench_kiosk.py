"""Kiosk screen latency at the node while the counter API is under load (issue 13: a kiosk
screen answers in under 300 ms at the node, p95), beside a bare stack in the same run.

    python -m bench.bench_kiosk [--screens 300] [--load 16] [--kiosks 4] [--pool-max 10]

Starts its own PostgreSQL (production settings, fsync on) and the node in a child process
(access log off, local-only Kafka mode: replication is not what is measured). The data is a
synthetic 益城町 served at 輪島市's node (another town's residents, so every kiosk read is
audited, as in the field). Kiosk sessions are opened through the API (one-time codes).

A "screen" is the API call behind one kiosk screen, signed as a kiosk signs it: household,
my applications, my certificates, in turn. Measured, each from ``--kiosks`` kiosks at once:

1. bare: an aiohttp hello-world in its own process, with ``--load`` clients hammering it;
2. node, idle: kiosk screens only;
3. node, loaded: kiosk screens while ``--load`` counter clients loop over resident reads
   and application receipts (the counter's busiest calls); the counter's throughput is also
   measured alone for ``--counter-alone`` seconds, to show what the kiosks take from it.
   The kiosks have no think time between screens: far busier than residents at a screen.

Prints p50/p95/p99 per phase, the counter's throughput under load, and the ratios loaded
/ idle and loaded / bare.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import statistics
import sys
import time
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from bench.issuance_stack import (  # noqa: E402
    DISASTER,
    REASON,
    TOWN_A,
    Clerk,
    _serve_hello,
    _serve_node,
    build_pki,
    child,
    fresh_database,
    node_settings,
    seed,
    services,
)
from deploy.processes import free_port  # noqa: E402
from service.kiosk.signing import sign_request  # noqa: E402

SCREENS = ("/api/v1/kiosk/household", "/api/v1/kiosk/applications", "/api/v1/kiosk/certificates")


def percentiles(samples: list[float]) -> dict[str, float]:
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return {"n": len(samples), "p50": q[49] * 1000, "p95": q[94] * 1000, "p99": q[98] * 1000}


class KioskClient:
    """A registered kiosk with one resident's session, signing each request."""

    def __init__(self, base: str, kiosk_id: str, key: ec.EllipticCurvePrivateKey, http: aiohttp.ClientSession):
        self.base, self.kiosk_id, self.key, self.http, self.token = base, kiosk_id, key, http, None

    async def call(self, method: str, path: str, body: bytes = b"") -> tuple[int, Any]:
        headers = sign_request(self.key, self.kiosk_id, method, path, body, dt.datetime.now(dt.timezone.utc))
        if body:
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["X-Kiosk-Session"] = self.token
        async with self.http.request(method, self.base + path, data=body or None, headers=headers) as resp:
            return resp.status, await resp.json()


async def _register(dsn: str, kiosk_id: str) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("INSERT INTO kiosk_devices (kiosk_id, name, public_key_pem, registered_by, centre)"
                           " VALUES ($1, $1, $2, 'bench', '輪島中学校体育館')", kiosk_id, pem)
    finally:
        await conn.close()
    return key


async def _kiosks(base: str, dsn: str, clerk: Clerk, residents: list[tuple[str, str]], n: int,
                  http: aiohttp.ClientSession) -> list[KioskClient]:
    out = []
    for i, (resident_id, dwelling_id) in enumerate(residents[:n]):
        kiosk = KioskClient(base, f"bench-kiosk-{i}", await _register(dsn, f"bench-kiosk-{i}"), http)
        status, issued = await clerk.post("/api/v1/application-codes", {"town_code": TOWN_A, "resident_id": resident_id})
        assert status == 201, issued
        status, session = await kiosk.call("POST", "/api/v1/kiosk/redeem", f'{{"code": "{issued["code"]}"}}'.encode())
        assert status == 200, session
        kiosk.token = session["session_token"]
        await clerk.issue(await clerk.judged(resident_id, dwelling_id))  # something on each screen
        out.append(kiosk)
    return out


async def screens(kiosks: list[KioskClient], count: int) -> tuple[list[float], int]:
    """``count`` screens spread over the kiosks, each kiosk one at a time; (seconds, errors)."""
    samples: list[float] = []
    errors = 0

    async def one_kiosk(kiosk: KioskClient, share: int) -> None:
        nonlocal errors
        for i in range(share):
            started = time.perf_counter()
            status, _ = await kiosk.call("GET", SCREENS[i % len(SCREENS)])
            samples.append(time.perf_counter() - started)
            errors += status != 200
    await asyncio.gather(*(one_kiosk(k, count // len(kiosks)) for k in kiosks))
    return samples, errors


async def bare_screens(url: str, http: aiohttp.ClientSession, kiosks: int, count: int) -> list[float]:
    samples: list[float] = []

    async def one() -> None:
        for _ in range(count // kiosks):
            started = time.perf_counter()
            async with http.get(url) as resp:
                await resp.read()
            samples.append(time.perf_counter() - started)
    await asyncio.gather(*(one() for _ in range(kiosks)))
    return samples


@contextlib.asynccontextmanager
async def hammer(work, clients: int):
    """``clients`` loops of ``work()`` until the block ends; yields a dict with the count done."""
    done = {"ops": 0, "errors": 0}
    stop = asyncio.Event()

    async def loop(i: int) -> None:
        while not stop.is_set():
            try:
                await work(i)
                done["ops"] += 1
            except (aiohttp.ClientError, AssertionError, asyncio.TimeoutError):
                done["errors"] += 1
    tasks = [asyncio.create_task(loop(i)) for i in range(clients)]
    started = time.perf_counter()
    try:
        yield done
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        done["seconds"] = time.perf_counter() - started


async def run(args: argparse.Namespace) -> None:
    async with services(with_kafka=False) as (pg, _):
        pki = build_pki()
        dsn = await fresh_database(pg, "bench_kiosk")
        residents = await seed(dsn, households=args.kiosks + args.load + 4, history=0)
        port, hello_port = free_port(), free_port()
        settings = node_settings(dsn, pki, port, "127.0.0.1:9", "local-only", args.pool_max)
        base = f"http://127.0.0.1:{port}"
        http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=60))
        results: dict[str, dict[str, float]] = {}
        try:
            async with child(_serve_hello, hello_port, health=f"http://127.0.0.1:{hello_port}/"):
                hello = f"http://127.0.0.1:{hello_port}/"
                await bare_screens(hello, http, args.kiosks, 40)  # warm-up

                async def hit_hello(_: int) -> None:
                    async with http.get(hello) as resp:
                        await resp.read()
                async with hammer(hit_hello, args.load):
                    results["bare, loaded"] = percentiles(await bare_screens(hello, http, args.kiosks, args.screens))
            async with child(_serve_node, settings, health=f"{base}/healthz"):
                clerks = [await Clerk.login(base) for _ in range(args.load + 1)]
                kiosks = await _kiosks(base, dsn, clerks[0], residents, args.kiosks, http)
                await screens(kiosks, 30)  # warm-up
                samples, errors = await screens(kiosks, args.screens)
                results["node, idle"] = {**percentiles(samples), "errors": errors}
                counter = residents[args.kiosks:]

                async def counter_work(i: int) -> None:
                    resident_id, dwelling_id = counter[i % len(counter)]
                    clerk = clerks[1 + i]
                    async with clerk.session.get(f"{base}/api/v1/residents/{resident_id}", headers=REASON) as resp:
                        assert resp.status == 200
                        await resp.read()
                    status, _ = await clerk.post("/api/v1/applications", {
                        "applicant_resident_id": resident_id, "dwelling_id": dwelling_id, "disaster": DISASTER})
                    assert status in (201, 409)  # 409: a duplicate refused (one case per dwelling), still work
                async with hammer(counter_work, args.load) as alone:
                    await asyncio.sleep(args.counter_alone)
                async with hammer(counter_work, args.load) as load:
                    samples, errors = await screens(kiosks, args.screens)
                results["node, loaded"] = {**percentiles(samples), "errors": errors}
                for clerk in clerks:
                    await clerk.close()
        finally:
            await http.close()
    print(f"kiosk screens at the node: {args.kiosks} kiosks, {args.screens} screens per phase, "
          f"counter load {args.load} clients, pool {args.pool_max}")
    print(f"{'phase':<16}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for name, r in results.items():
        print(f"{name:<16}{r['n']:>6}{r['p50']:>10.1f}{r['p95']:>10.1f}{r['p99']:>10.1f}{r.get('errors', 0):>8}")
    print(f"counter alone ({alone['seconds']:.0f} s): {alone['ops'] / alone['seconds']:.1f} (resident read + "
          f"application)/s; beside the kiosks: {load['ops'] / load['seconds']:.1f}/s, {load['errors']} errors")
    loaded, idle, bare = results["node, loaded"]["p95"], results["node, idle"]["p95"], results["bare, loaded"]["p95"]
    print(f"ratio p95 loaded/idle: {loaded / idle:.2f}; loaded/bare: {loaded / bare:.1f}")
    print(f"target p95 < 300 ms under load: {'met' if loaded < 300 else 'NOT met'} ({loaded:.1f} ms)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screens", type=int, default=300)
    parser.add_argument("--load", type=int, default=16, help="concurrent counter clients")
    parser.add_argument("--kiosks", type=int, default=4)
    parser.add_argument("--pool-max", type=int, default=10)
    parser.add_argument("--counter-alone", type=float, default=10.0, help="seconds of counter load without kiosks")
    asyncio.run(run(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
