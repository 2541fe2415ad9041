"""One network namespace per region, so chaos drills can cut, slow and thin a region's links.

Layout (only with ``risai-federation up --netns``): a bridge ``risai-br`` in the root
namespace at 10.213.77.1/24, and per region a namespace ``risai-<region>`` joined to the
bridge by a veth, at 10.213.77.(11+i). A region's broker, PostgreSQL and nodes run inside
its namespace.

Every process keeps talking to ``127.0.0.1:<port>``, as in the plain federation: ports are
unique across the federation, so nftables NAT in every namespace (table ``ip risai_net``)
sends a port to the namespace that owns it, and nothing in deploy/ or service/ needs to
know where a service runs. That needs ``route_localnet`` (loopback addresses may leave on
a real link) on our own interfaces only; no system-wide setting changes.

Faults (chaos/faults) add a second table, ``ip risai_chaos``, inside a region namespace;
deleting the namespace deletes its tables too, so ``teardown`` leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import json
import os
import subprocess
from pathlib import Path
from typing import Iterator

from deploy.processes import DeployError

BRIDGE = "risai-br"
SUBNET = "10.213.77"
BRIDGE_IP = f"{SUBNET}.1"
CLONE_NEWNET = 0x40000000
LAYOUT_FILE = "netns.json"


@dataclasses.dataclass(frozen=True)
class RegionNet:
    """One region's namespace: its name, address, and the loopback ports it serves."""

    region: str
    ns: str
    ip: str
    ports: tuple[int, ...]
    http_ports: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class Layout:
    """Every region's namespace; the root namespace reaches them over the bridge."""

    regions: tuple[RegionNet, ...]

    @classmethod
    def from_spec(cls, spec) -> Layout:
        """The layout for a FederationSpec: region i gets address .11+i."""
        out = []
        for i, region in enumerate(spec.regions):
            brokers = [b for b in spec.brokers if b.region == region]
            nodes = [n for n in spec.nodes if n.region == region]
            ports = [p for b in brokers for p in (b.port, b.controller_port)]
            ports += [p for n in nodes for p in (n.http_port, n.pg_port)]
            out.append(RegionNet(region, f"risai-{region}", f"{SUBNET}.{11 + i}", tuple(ports),
                                 tuple(n.http_port for n in nodes)))
        return cls(tuple(out))

    def region(self, region_id: str) -> RegionNet:
        for r in self.regions:
            if r.region == region_id:
                return r
        raise KeyError(region_id)

    def to_json(self) -> str:
        return json.dumps([dataclasses.asdict(r) for r in self.regions], indent=2)

    @classmethod
    def from_json(cls, text: str) -> Layout:
        return cls(tuple(RegionNet(d["region"], d["ns"], d["ip"], tuple(d["ports"]),
                                   tuple(d["http_ports"])) for d in json.loads(text)))


def load_layout(run_dir: Path) -> Layout | None:
    """The layout saved by ``up --netns`` in run_dir, or None for a plain federation."""
    path = Path(run_dir) / LAYOUT_FILE
    return Layout.from_json(path.read_text()) if path.exists() else None


def nat_rules(layout: Layout, here: RegionNet | None, redirect: dict[int, str] | None = None) -> str:
    """The ``ip risai_net`` table for one namespace (None: the root namespace).

    ``redirect`` maps a port to "ip:port" (a Toxiproxy listener) to route that port's new
    connections through a proxy instead of straight to its owner.
    """
    redirect = redirect or {}
    dev = "eth0" if here else BRIDGE
    out = []
    for r in layout.regions:
        if r is here:
            continue
        for port in r.ports:
            out.append(f"ip daddr 127.0.0.1 tcp dport {port} dnat to {redirect.get(port, r.ip)}")
    lines = ["table ip risai_net {", "  chain out {",
             "    type nat hook output priority -100;", *(f"    {rule};" for rule in out), "  }",
             "  chain post {", "    type nat hook postrouting priority 100;",
             f'    oif "{dev}" ip saddr 127.0.0.0/8 masquerade;', "  }"]
    if here is not None:
        own = ", ".join(str(p) for p in here.ports)
        lines += ["  chain pre {", "    type nat hook prerouting priority -100;",
                  f'    iif "eth0" tcp dport {{ {own} }} dnat to 127.0.0.1;', "  }"]
    return "\n".join(lines + ["}", ""])


def run(argv: list[str], *, ns: str | None = None, stdin: str | None = None, check: bool = True) -> str:
    """Run a command (inside namespace ns when given); DeployError on failure."""
    full = ["ip", "netns", "exec", ns, *argv] if ns else argv
    result = subprocess.run(full, input=stdin, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise DeployError(f"{' '.join(full)} failed: {(result.stderr or result.stdout).strip()}")
    return result.stdout


def load_nat(layout: Layout, here: RegionNet | None, redirect: dict[int, str] | None = None) -> None:
    """Replace a namespace's NAT table atomically (nft -f is one transaction)."""
    ns = here.ns if here else None
    existing = run(["nft", "list", "tables"], ns=ns)
    prefix = "delete table ip risai_net\n" if "table ip risai_net" in existing else ""
    run(["nft", "-f", "-"], ns=ns, stdin=prefix + nat_rules(layout, here, redirect))


def namespaces() -> set[str]:
    """The names of the network namespaces that exist now."""
    return {line.split()[0] for line in run(["ip", "netns", "list"]).splitlines() if line.strip()}


def setup(layout: Layout) -> None:
    """Create the bridge, the namespaces, their links and NAT (idempotent)."""
    if not _link_exists(BRIDGE):
        run(["ip", "link", "add", BRIDGE, "type", "bridge"])
        run(["ip", "addr", "add", f"{BRIDGE_IP}/24", "dev", BRIDGE])
    run(["ip", "link", "set", BRIDGE, "up"])
    # Loopback-sourced packets may leave on our bridge (after NAT), and only there.
    run(["sysctl", "-qw", f"net.ipv4.conf.{BRIDGE}.route_localnet=1"])
    present = namespaces()
    for r in layout.regions:
        if r.ns not in present:
            _create_namespace(r)
        load_nat(layout, r)
    load_nat(layout, None)


def _create_namespace(r: RegionNet) -> None:
    veth = f"rv-{r.region}"[:15]
    run(["ip", "netns", "add", r.ns])
    run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", r.ns])
    run(["ip", "link", "set", veth, "master", BRIDGE, "up"])
    for argv in (["ip", "addr", "add", f"{r.ip}/24", "dev", "eth0"], ["ip", "link", "set", "eth0", "up"],
                 ["ip", "link", "set", "lo", "up"], ["ip", "route", "add", "default", "via", BRIDGE_IP],
                 ["sysctl", "-qw", "net.ipv4.conf.eth0.route_localnet=1"]):
        run(argv, ns=r.ns)


def teardown(layout: Layout | None) -> None:
    """Delete the namespaces (and with them their tables), the root NAT and the bridge."""
    present = namespaces()
    for r in layout.regions if layout else ():
        if r.ns in present:
            run(["ip", "netns", "del", r.ns], check=False)
    if "table ip risai_net" in run(["nft", "list", "tables"], check=False):
        run(["nft", "delete", "table", "ip", "risai_net"], check=False)
    if _link_exists(BRIDGE):
        run(["ip", "link", "del", BRIDGE], check=False)


def _link_exists(name: str) -> bool:
    return Path(f"/sys/class/net/{name}").exists()


_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise DeployError(f"setns failed: {os.strerror(err)}")


@contextlib.contextmanager
def entered(ns: str | None) -> Iterator[None]:
    """Run the body in namespace ns (None: stay where we are).

    setns() moves only the calling thread; processes it spawns and sockets it opens in the
    body belong to ns. That is how unchanged deploy/ code (pg_ctl, asyncpg, spawn) starts a
    region's processes inside the region.
    """
    if ns is None:
        yield
        return
    with open("/proc/thread-self/ns/net") as home, open(f"/run/netns/{ns}") as target:
        _setns(target.fileno())
        try:
            yield
        finally:
            _setns(home.fileno())


def allow_bridge_clients(hba: Path) -> None:
    """Let PostgreSQL accept connections NATed in from the bridge (other namespaces)."""
    line = f"host all all {SUBNET}.0/24 scram-sha-256\n"
    if hba.exists() and line not in hba.read_text():
        with open(hba, "a") as f:
            f.write("# risai --netns: clients from other namespaces arrive from the bridge\n" + line)


def start_brokers(kafka, layout: Layout) -> None:
    """Format and start every broker inside its region's namespace, then wait for them."""
    from deploy.processes import wait_for_port

    kafka.format()
    for broker_id, spec in kafka.brokers.items():
        with entered(layout.region(spec.region).ns):
            kafka.start_broker(broker_id, wait=False)
    for broker_id, spec in kafka.brokers.items():
        # From the root namespace the port answers through the NAT above.
        wait_for_port(spec.port, timeout=60, host=kafka.host, alive=kafka.record(broker_id))
