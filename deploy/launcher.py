"""`risai-federation up | status | down`: a whole federation on one machine.

Everything lives under one run directory (default ./run): Kafka brokers, one PostgreSQL
per node, the PKI from the ceremony, node configs, logs and process records. The default
federation is the secure one: Kafka over TLS with client certificates and per-node ACLs,
every node on HTTPS, all from the ceremony's TLS CA (certs/tls.py). `up` is
idempotent: what already runs is left alone. `down` stops only processes this launcher
recorded, and only while their pid still belongs to the process it started.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import tomli_w

from certs.ceremony import build_federation_pki
from certs.tls import ensure_transport_pki, http_client_context, node_tls_dir
from deploy import netns
from deploy.demo import PASSWORDS, seed_demo
from deploy.federation_spec import DEFAULT_FILE, FederationSpec, NodeSpec, load_spec
from deploy.kafka_acl import create_acls, federation_acls
from deploy.kafka_admin import ensure_topics, wait_ready
from deploy.kafka_cluster import KafkaCluster, KafkaTls, check_java
from deploy.postgres import PostgresCluster, find_pg_bin
from deploy.processes import DeployError, ProcessRecord, port_in_use, spawn, stop

NODE_DB = "risai"


class Federation:
    """The processes of one federation under one run directory."""

    def __init__(self, spec: FederationSpec, run_dir: Path) -> None:
        self.spec = spec
        self.run_dir = run_dir.resolve()
        self.kafka = KafkaCluster(self.run_dir / "kafka", list(spec.brokers),
                                  replication_factor=spec.replication_factor,
                                  min_insync_replicas=spec.min_insync_replicas, heap=spec.heap,
                                  tls=KafkaTls(self.run_dir / "pki"))
        # Set by `up --netns`: each region's processes run in a network namespace (chaos).
        self.layout = netns.load_layout(self.run_dir)

    def in_region(self, region: str):
        """Context: processes started in the body run in region's namespace (if any)."""
        return netns.entered(self.layout.region(region).ns if self.layout else None)

    def node_dir(self, node: NodeSpec) -> Path:
        return self.run_dir / "nodes" / node.id

    def postgres(self, node: NodeSpec) -> PostgresCluster:
        return PostgresCluster.at(self.node_dir(node) / "pg", node.pg_port)

    def node_record(self, node: NodeSpec) -> ProcessRecord | None:
        path = self.node_dir(node) / "process.json"
        if not path.exists():
            return None
        record = ProcessRecord.from_dict(json.loads(path.read_text()))
        return record if record.is_alive() else None

    @property
    def pki_dir(self) -> Path:
        return self.run_dir / "pki"

    def topic(self, node_id: str) -> str:
        return f"{self.spec.topic_prefix}.{node_id}"

    def http_context(self) -> ssl.SSLContext:
        """Client context that verifies the nodes' HTTPS certificates (the TLS CA)."""
        return http_client_context(self.run_dir)

    def url(self, node: NodeSpec) -> str:
        return f"https://127.0.0.1:{node.http_port}/"

    # -- up ---------------------------------------------------------------------------

    def preflight(self) -> None:
        """Fail before starting anything: Java, PostgreSQL, and every port we need."""
        check_java()
        find_pg_bin()
        ours = self._our_ports()
        for port, what in self.spec.ports():
            if port not in ours and port_in_use(port):
                raise DeployError(f"port {port} ({what}) is already in use by another program; "
                                  f"stop it or change {what} in {self.spec.path}")

    def _our_ports(self) -> set[int]:
        ours: set[int] = set()
        for b in self.spec.brokers:
            if self.kafka.record(b.id) is not None:
                ours |= {b.port, b.controller_port}
        for n in self.spec.nodes:
            if self.node_record(n) is not None:
                ours.add(n.http_port)
            if self.postgres(n).running():
                ours.add(n.pg_port)
        return ours

    def up(self, say=print, *, use_netns: bool = False, seed_residents: int = 0) -> dict[str, float]:
        """Start everything that is not running yet; returns seconds per phase."""
        timings: dict[str, float] = {}
        t0 = time.monotonic()
        self.preflight()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if use_netns or self.layout:
            self._setup_netns(say)
        # The PKI comes first: the brokers' TLS keystores and the nodes' certificates are in it.
        if not (self.pki_dir / "trust-list.cbor").exists():
            say("PKI: root CA, town CAs, TLS CA, node keys, delegations, TLS certificates …")
            build_federation_pki(self.spec.pki, self.pki_dir, datetime.now(timezone.utc))
        renewed = ensure_transport_pki(self.spec.pki, self.pki_dir, datetime.now(timezone.utc))
        if renewed:  # on an existing run dir: certificates close to expiry, or new ones
            say(f"TLS: issued {len(renewed)} certificate(s) ({', '.join(renewed)})")
        say(f"Kafka: {len(self.spec.brokers)} broker(s) in KRaft mode, TLS with client certificates …")
        netns.start_brokers(self.kafka, self.layout) if self.layout else self.kafka.start()
        asyncio.run(self._kafka_ready())
        timings["kafka"] = time.monotonic() - t0
        t1 = time.monotonic()
        for node in self.spec.nodes:
            say(f"PostgreSQL for {node.id} on port {node.pg_port} …")
            self._start_postgres(node)
        timings["postgres"] = time.monotonic() - t1
        t2 = time.monotonic()
        for node in self.spec.nodes:
            self._start_node(node)
        for node in self.spec.nodes:
            wait_node_ready(node, self.node_record(node), context=self.http_context())
            say(f"node {node.id} ready at {self.url(node)}")
        timings["nodes"] = time.monotonic() - t2
        if seed_residents:
            t3 = time.monotonic()
            seed_demo(self.run_dir, self.spec.pki,
                      {n.id: (self.postgres(n).dsn(NODE_DB), n.town) for n in self.spec.nodes},
                      residents=seed_residents, say=say)
            timings["seed"] = time.monotonic() - t3
        timings["total"] = time.monotonic() - t0
        return timings

    async def _kafka_ready(self) -> None:
        admin = self.kafka.admin_options()  # the super user: the only one who creates
        await wait_ready(self.kafka.bootstrap_servers, expected_brokers=len(self.spec.brokers),
                         replication_factor=self.spec.replication_factor, client_options=admin)
        # One topic per node (DESIGN 4): it produces only there, keyed by entity id.
        await ensure_topics(self.kafka.bootstrap_servers,
                            [self.topic(n.id) for n in self.spec.nodes], partitions=3,
                            replication_factor=self.spec.replication_factor,
                            config={"retention.ms": "-1",
                                    "min.insync.replicas": str(self.spec.min_insync_replicas)},
                            client_options=admin)
        # ... and the ACLs enforce it: write only there, read the others (deploy/kafka_acl.py).
        await create_acls(self.kafka.bootstrap_servers,
                          federation_acls(self.spec.topic_prefix, [n.id for n in self.spec.nodes]), admin)

    def _start_postgres(self, node: NodeSpec) -> None:
        cluster = self.postgres(node)
        cluster.init()
        if self.layout:
            netns.allow_bridge_clients(cluster.data_dir / "pg_hba.conf")
        with self.in_region(node.region):
            cluster.start()
            asyncio.run(_ensure_database(cluster.dsn(), NODE_DB))

    def node_config(self, node: NodeSpec) -> dict:
        """The node's settings (service/config.py): HTTPS, Kafka TLS, secure cookies by default."""
        return {
            "federation_file": str(self.spec.path.resolve()),
            "node": {"id": node.id, "town_code": node.town, "host": "127.0.0.1", "port": node.http_port},
            "database": {"dsn": self.postgres(node).dsn(NODE_DB)},
            "kafka": {"bootstrap_servers": self.kafka.bootstrap_servers,
                      "topic_prefix": self.spec.topic_prefix},
            "keys": {"key_dir": str(self.pki_dir / "nodes" / node.id),
                     "trust_list": str(self.pki_dir / "trust-list.cbor"),
                     "root_cert": str(self.pki_dir / "root.pem")},
            "tls": {"dir": str(node_tls_dir(self.pki_dir, node.id))},
        }

    def write_node_config(self, node: NodeSpec) -> Path:
        folder = self.node_dir(node)
        folder.mkdir(parents=True, exist_ok=True)
        cfg = folder / "node.toml"
        # tomli_w escapes every value (a path or password with a quote stays one string).
        cfg.write_text(tomli_w.dumps(self.node_config(node)))
        cfg.chmod(0o600)  # it holds the database password
        return cfg

    def _start_node(self, node: NodeSpec) -> None:
        if self.node_record(node) is not None:
            return
        cfg = self.write_node_config(node)
        with self.in_region(node.region):
            record = spawn(f"node-{node.id}", [sys.executable, "-m", "service.main", "--config", str(cfg)],
                           self.node_dir(node) / "node.log")
        (self.node_dir(node) / "process.json").write_text(json.dumps(record.to_dict()))

    # -- status and down ----------------------------------------------------------------

    def status(self) -> list[dict]:
        """One row per process: what, port, pid, and health."""
        rows = []
        for b in self.spec.brokers:
            rec = self.kafka.record(b.id)
            with self.in_region(b.region):  # a bind test only means something where it listens
                listening = rec is not None and port_in_use(b.port)
            rows.append({"what": f"kafka broker {b.id} ({b.region})", "port": b.port,
                         "pid": rec.pid if rec else None,
                         "health": "listening" if listening else "down"})
        for n in self.spec.nodes:
            pg = self.postgres(n)
            rows.append({"what": f"postgres {n.id}", "port": n.pg_port, "pid": pg.postmaster_pid() if pg.running() else None,
                         "health": "running" if pg.running() else "down"})
            rec = self.node_record(n)
            rows.append({"what": f"node {n.id} ({n.town}, {n.region})", "port": n.http_port,
                         "pid": rec.pid if rec else None,
                         "health": node_health(n.http_port, context=self.http_context()) if rec else "down"})
        return rows

    def down(self, say=print) -> None:
        """Stop nodes, then databases, then brokers; only processes we started."""
        for node in self.spec.nodes:
            rec = self.node_record(node)
            if rec is not None and stop(rec, timeout=20):
                say(f"stopped node {node.id}")
        for node in self.spec.nodes:
            pg = self.postgres(node)
            if pg.running():
                pg.stop()
                say(f"stopped postgres {node.id}")
        running = [b.id for b in self.spec.brokers if self.kafka.record(b.id) is not None]
        self.kafka.stop()
        for broker_id in running:
            say(f"stopped kafka broker {broker_id}")
        if self.layout:
            netns.teardown(self.layout)
            (self.run_dir / netns.LAYOUT_FILE).unlink(missing_ok=True)
            self.layout = None
            say("removed the regions' network namespaces")

    def _setup_netns(self, say) -> None:
        self.layout = self.layout or netns.Layout.from_spec(self.spec)
        say(f"network namespaces: {', '.join(r.ns for r in self.layout.regions)} …")
        netns.setup(self.layout)
        (self.run_dir / netns.LAYOUT_FILE).write_text(self.layout.to_json())


async def _ensure_database(admin_dsn: str, name: str) -> None:
    try:
        conn = await asyncpg.connect(admin_dsn, timeout=10)
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError) as exc:
        raise DeployError(f"PostgreSQL at {urlsplit(admin_dsn).netloc.rpartition('@')[2]} did not accept a connection"
                          f" after its start ({type(exc).__name__}: {exc}); see its postgres.log"
                          " under the run dir") from None
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def node_health(port: int, path: str = "/readyz", *, context: ssl.SSLContext | None = None) -> str:
    """'ready', 'not ready: …' or 'no answer' for a node's /readyz (HTTPS with ``context``)."""
    scheme = "https" if context is not None else "http"
    try:
        with urllib.request.urlopen(f"{scheme}://127.0.0.1:{port}{path}", timeout=5, context=context) as resp:
            return "ready" if resp.status == 200 else f"status {resp.status}"
    except urllib.error.HTTPError as exc:
        detail = json.loads(exc.read() or b"{}").get("checks", {})
        failing = [k for k, v in detail.items() if not v.get("ok")]
        return f"not ready ({', '.join(failing) or exc.code})"
    except OSError:
        return "no answer"


def wait_node_ready(node: NodeSpec, record: ProcessRecord | None, timeout: float = 90, *,
                    context: ssl.SSLContext | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if record is None or not record.is_alive():
            raise DeployError(f"node {node.id} exited during start-up; see its log under run/nodes/{node.id}/node.log")
        if node_health(node.http_port, context=context) == "ready":
            return
        time.sleep(0.3)
    raise DeployError(f"node {node.id} not ready after {timeout:.0f}s: {node_health(node.http_port, context=context)}")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="risai-federation",
                                     description="Start, inspect and stop a local federation.")
    parser.add_argument("command", choices=["up", "status", "down"])
    parser.add_argument("--config", type=Path, default=DEFAULT_FILE, help="federation TOML")
    parser.add_argument("--run-dir", type=Path, default=Path("run"), help="state, logs and data")
    parser.add_argument("--netns", action="store_true",
                        help="up: run each region in its own network namespace (for chaos drills)")
    parser.add_argument("--seed-residents", type=int, default=2000, metavar="N",
                        help="up: synthetic residents per town and a demo account, once per run dir (0: none)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        federation = Federation(load_spec(args.config), args.run_dir)
        if args.command == "up":
            timings = federation.up(use_netns=args.netns, seed_residents=args.seed_residents)
            print(f"federation up in {timings['total']:.1f}s "
                  f"(kafka {timings['kafka']:.1f}s, postgres {timings['postgres']:.1f}s, "
                  f"nodes {timings['nodes']:.1f}s, seed {timings.get('seed', 0):.1f}s)")
            for node in federation.spec.nodes:
                print(f"  {node.id:<18} {federation.url(node)}")
            print(f"HTTPS certificates: TLS CA at {federation.pki_dir / 'tls' / 'ca.pem'}")
            if (federation.run_dir / PASSWORDS).exists():
                print(f"demo staff login: see {federation.run_dir / PASSWORDS}")
            print(f"stop it with: risai-federation down --run-dir {args.run_dir}")
        elif args.command == "status":
            for row in federation.status():
                print(f"{row['what']:<34} port {row['port']:<6} pid {str(row['pid'] or '-'):<8} {row['health']}")
        else:
            federation.down()
    except DeployError as exc:
        print(f"risai-federation: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
