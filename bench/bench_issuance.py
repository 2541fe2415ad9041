"""Issuance over HTTP beside the bare stack, measured in the same run (issue 10).

    python -m bench.bench_issuance [--n 400] [--levels 1,4,16,64] [--modes local-only,durable]
                                   [--history 0,200000] [--pool-max 10]

Starts its own PostgreSQL (production settings, fsync on), a one-broker Kafka, and the node
in a child process (access log off, log level WARNING). For each mode and history size
(existing certificates of this node, inserted with SQL before the node starts) it prepares
N judged applications per concurrency level over the API, then issues them at that
concurrency and reports certificates/s, p50/p95/p99 and errors. The bare stack runs at
the same concurrencies in the same run: an asyncpg INSERT of a ~2 KB row in its own
transaction plus one ES256 signature (same pool size as the node), and an aiohttp
hello-world in its own process. Then the whole counter story per second, and POST /verify
per second against raw ES256 verification. The history sizes above 0 run in local-only
mode only (they test the cost of the node's history, not Kafka's).

A level that does not finish within --level-deadline seconds is cut off: the requests
still running are counted as errors and the rest of that node is skipped. A 503 with
Retry-After (node.busy) is retried by the client and counted apart, not as an error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable, Sequence

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from bench import issuance_stack as stack  # noqa: E402
from deploy.processes import free_port  # noqa: E402


@dataclass
class Level:
    """One measured run of ``count`` operations at concurrency ``c``."""

    c: int
    count: int
    seconds: float
    latencies: list[float]
    errors: int
    wedged: bool = False
    first_error: str = ""
    busy: int = 0  # 503 node.busy replies that were retried (not errors)

    @property
    def rate(self) -> float:
        return (self.count - self.errors) / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def drive(items: Sequence[Any], c: int, op: Callable[[Any], Awaitable[Any]], deadline: float) -> Level:
    """Run ``op`` over ``items`` with ``c`` workers; bounded by ``deadline`` seconds."""
    queue: asyncio.Queue = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    latencies: list[float] = []
    errors: list[str] = []

    async def worker() -> None:
        while True:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            started = time.perf_counter()
            try:
                await op(item)
                latencies.append(time.perf_counter() - started)
            except Exception as exc:  # noqa: BLE001 - counted and reported, the run goes on
                errors.append(f"{type(exc).__name__}: {exc}"[:160])

    started = time.perf_counter()
    tasks = [asyncio.ensure_future(worker()) for _ in range(c)]
    _, pending = await asyncio.wait(tasks, timeout=deadline)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    seconds = time.perf_counter() - started
    undone = len(items) - len(latencies) - len(errors)
    return Level(c, len(items), seconds, latencies, len(errors) + undone, bool(pending),
                 errors[0] if errors else ("cut off at the deadline" if pending else ""))


# ---- the bare stack -----------------------------------------------------------------------

class BareStack:
    """The floor, measured beside each node level (same load on the shared machine):
    asyncpg INSERT of a ~2 KB row in its own transaction + one ES256 signature (a pool of
    the node's size), and an aiohttp hello-world in its own process."""

    def __init__(self, pool: asyncpg.Pool, hello_url: str, session: aiohttp.ClientSession) -> None:
        self.pool, self.hello_url, self.session = pool, hello_url, session
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.payload = os.urandom(1000)

    async def insert_sign(self, c: int, n: int) -> Level:
        async def op(_: Any) -> None:
            signature = self.key.sign(self.payload, ec.ECDSA(hashes.SHA256()))
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute("INSERT INTO bare_rows (body) VALUES ($1)", (self.payload + signature).hex())
        return await drive(range(n), c, op, 120)

    async def hello(self, c: int, n: int) -> Level:
        async def op(_: Any) -> None:
            async with self.session.get(self.hello_url) as resp:
                await resp.read()
        return await drive(range(n), c, op, 60)


@contextlib.asynccontextmanager
async def bare_stack(dsn: str, pool_max: int) -> AsyncIterator[BareStack]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=pool_max)
    try:
        await pool.execute("CREATE TABLE IF NOT EXISTS bare_rows (id bigserial PRIMARY KEY, body text NOT NULL)")
        async with stack.child(stack._serve_hello, port, health=url), \
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            yield BareStack(pool, url, session)
    finally:
        await pool.close()


def raw_verify_rate(seconds: float = 1.0) -> float:
    """ES256 verifications per second on one core (the floor /verify is compared with)."""
    key = ec.generate_private_key(ec.SECP256R1())
    data = os.urandom(200)
    signature = key.sign(data, ec.ECDSA(hashes.SHA256()))
    public, count, started = key.public_key(), 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        count += 1
    return count / (time.perf_counter() - started)


# ---- the node ---------------------------------------------------------------------------

@dataclass
class NodeRun:
    mode: str
    history: int
    levels: dict[int, Level]
    bare: dict[int, tuple[Level, Level]] = field(default_factory=dict)  # C → (INSERT+sign, hello)
    story: Level | None = None
    verify: Level | None = None
    raw_verify: float = 0.0


async def run_node(pg: Any, pki: Any, bootstrap: str, mode: str, history: int, args: argparse.Namespace,
                   bare: BareStack, extras: bool) -> NodeRun:
    """One node on a fresh database: issuance at every level, then the story and /verify."""
    stories = args.n // 2 if extras else 0
    dsn = await stack.fresh_database(pg, f"bench_{mode.replace('-', '_')}_{history}")
    households = await stack.seed(dsn, args.n * len(args.levels) + stories, history)
    port = free_port()
    settings = stack.node_settings(dsn, pki, port, bootstrap, mode, args.pool_max)
    await stack.make_topic(settings)
    base = f"http://127.0.0.1:{port}"
    run = NodeRun(mode, history, {})
    async with stack.child(stack._serve_node, settings, health=f"{base}/healthz"):
        clerk = await stack.Clerk.login(base)
        try:
            for i, c in enumerate(args.levels):
                batch = households[i * args.n:(i + 1) * args.n]
                app_ids: list[str] = []

                async def prepare(household: tuple[str, str]) -> None:
                    app_ids.append(await clerk.judged(*household))

                prepared = await drive(batch, 16, prepare, 600)
                if prepared.errors:
                    raise RuntimeError(f"preparing applications failed: {prepared.first_error}")
                run.bare[c] = (await bare.insert_sign(c, args.n), await bare.hello(c, args.n * 2))
                busy = clerk.busy
                run.levels[c] = level = await drive(app_ids, c, clerk.issue, args.level_deadline)
                level.busy = clerk.busy - busy
                print(_row(mode, history, level), flush=True)
                if level.wedged:
                    print(f"  requests still running at the deadline (C={c}): skipping the rest of this node",
                          flush=True)
                    return run
            if extras:
                rest = households[len(args.levels) * args.n:]
                run.story = await drive(rest, 16, lambda h: _story(clerk, h), args.level_deadline)
                qr = await _any_qr(dsn)
                run.raw_verify = raw_verify_rate()
                run.verify = await drive(range(args.n * 2), 16, lambda _: _verify(clerk, qr), 120)
        finally:
            await clerk.close()
    return run


async def _any_qr(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT state->>'qr' FROM entities WHERE entity_type = 'certificate'"
                                   " AND state ? 'signed_at' LIMIT 1")
    finally:
        await conn.close()


async def _story(clerk: stack.Clerk, household: tuple[str, str]) -> None:
    await clerk.issue(await clerk.judged(*household))


async def _verify(clerk: stack.Clerk, qr: str) -> None:
    async with clerk.session.post(clerk.base + "/api/v1/verify", json={"qr": qr}, headers=clerk.headers) as resp:
        body = await resp.json()
        if resp.status != 200 or not body.get("ok"):
            raise RuntimeError(f"verify: {resp.status} {body}")


# ---- report -----------------------------------------------------------------------------

HEADER = (f"{'mode':<11}{'history':>9}{'C':>4}{'cert/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
          f"{'errors':>8}{'503s':>6}")


def _row(mode: str, history: int, level: Level) -> str:
    line = (f"{mode:<11}{history:>9,}{level.c:>4}{level.rate:>9.1f}{level.pct(0.50):>9.1f}"
            f"{level.pct(0.95):>9.1f}{level.pct(0.99):>9.1f}{level.errors:>8}{level.busy:>6}")
    return line + (f"   first error: {level.first_error}" if level.errors else "")


def report(runs: list[NodeRun]) -> None:
    print("\n## Issuance vs the bare stack (same run; each bare figure measured just before its row)\n")
    print("| mode | history | C | cert/s | p50 ms | p95 ms | p99 ms | errors | 503 retried | bare INSERT+sign/s |"
          " issuance / bare | hello-world req/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for run in runs:
        for c, level in run.levels.items():
            b, h = run.bare[c]
            print(f"| {run.mode} | {run.history:,} | {c} | {level.rate:.1f} | {level.pct(.5):.1f} |"
                  f" {level.pct(.95):.1f} | {level.pct(.99):.1f} | {level.errors}{' (cut off)' if level.wedged else ''} |"
                  f" {level.busy} | {b.rate:,.0f} | {level.rate / b.rate:.1%} | {h.rate:,.0f} |")
    print("\n| mode | whole story/s (C=16) | POST /verify/s (C=16) | raw ES256 verify/s (1 core) | /verify / raw |")
    print("|---|---:|---:|---:|---:|")
    for run in runs:
        if run.story is None or run.verify is None:
            continue
        print(f"| {run.mode} | {run.story.rate:.1f} ({run.story.errors} errors) | {run.verify.rate:,.0f}"
              f" ({run.verify.errors} errors) | {run.raw_verify:,.0f} | {run.verify.rate / run.raw_verify:.1%} |")
        for what, level in (("story", run.story), ("verify", run.verify)):
            if level.errors:
                print(f"  {run.mode} {what} first error: {level.first_error}")


async def main_async(args: argparse.Namespace) -> None:
    print(f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores (shared: figures"
          f" are noisy; compare the ratios), N={args.n} per level, pool_max={args.pool_max}", flush=True)
    runs: list[NodeRun] = []
    pki = stack.build_pki()
    try:
        async with stack.services(with_kafka=True) as (pg, bootstrap):
            bare_dsn = await stack.fresh_database(pg, "bench_bare")
            async with bare_stack(bare_dsn, args.pool_max) as bare:
                print(HEADER, flush=True)
                for mode in args.modes:
                    for history in (args.history if mode == "local-only" else [0]):
                        runs.append(await run_node(pg, pki, bootstrap, mode, history, args, bare,
                                                   extras=history == 0))
    finally:
        shutil.rmtree(pki, ignore_errors=True)
        report(runs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400, help="issuances per concurrency level")
    parser.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4, 16, 64])
    parser.add_argument("--modes", type=lambda s: s.split(","), default=["local-only", "durable"])
    parser.add_argument("--history", type=lambda s: [int(x) for x in s.split(",")], default=[0, 200_000])
    parser.add_argument("--pool-max", type=int, default=10, help="the node's pool (and the bare stack's)")
    parser.add_argument("--level-deadline", type=float, default=120.0)
    asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
