"""Latency on one region's links, through Toxiproxy (this kernel has no netem).

A Toxiproxy server runs in the root namespace. For every port that crosses the slowed
region's boundary (the other regions' brokers as seen from inside, and the region's own
broker as seen from outside) it gets a proxy on the bridge address, with a latency toxic
each way. The namespaces' NAT then sends new connections to those proxies instead of to
the port's owner, and ``ss -K`` closes the established ones so clients reconnect through
the proxies at once (Kafka clients hold their connections for minutes).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
import urllib.request
from pathlib import Path

from chaos.faults.ledger import Ledger
from chaos.faults.network import _layout
from deploy import netns
from deploy.launcher import Federation
from deploy.processes import ProcessRecord, spawn, stop, wait_for_port

API_PORT = 18474
PORT_SHIFT = 10000  # proxy for port p listens on bridge:(p + PORT_SHIFT)


def toxiproxy_binary() -> str:
    """toxiproxy-server from $RISAI_TOXIPROXY, PATH, or `go install`'s bin folder."""
    gobin = Path(os.environ.get("GOPATH", Path.home() / "go")) / "bin"
    for candidate in (os.environ.get("RISAI_TOXIPROXY"), shutil.which("toxiproxy-server"),
                      gobin / "toxiproxy-server", gobin / "server"):
        if candidate and Path(candidate).exists():
            return str(candidate)
    raise RuntimeError("toxiproxy-server not found; install it with: go install "
                       "github.com/Shopify/toxiproxy/v2/cmd/server@v2.5.0 (or set RISAI_TOXIPROXY)")


def _api(method: str, path: str, body: dict | None = None) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{API_PORT}{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read() or b"{}")


def crossing_ports(layout: netns.Layout, region: netns.RegionNet) -> dict[str, list[int]]:
    """Per namespace, the ports whose connections must go through a proxy (not client HTTP)."""
    def inter(r: netns.RegionNet) -> list[int]:
        return [p for p in r.ports if p not in r.http_ports]
    out = {region.ns: [p for r in layout.regions if r is not region for p in inter(r)]}
    for r in layout.regions:
        if r is not region:
            out[r.ns] = inter(region)
    return out


def add_latency(fed: Federation, ledger: Ledger, target: str, params: dict) -> str:
    """Add latency_ms (± jitter_ms) each way on every link into and out of a region."""
    layout = _layout(fed)
    region = layout.region(target)
    ms, jitter = int(params.get("latency_ms", 200)), int(params.get("jitter_ms", 0))
    log = fed.run_dir / "chaos" / "toxiproxy.log"
    record = spawn("toxiproxy", [toxiproxy_binary(), "-host", "127.0.0.1", "-port", str(API_PORT)], log)
    entry = ledger.add("latency", record=record.to_dict(), region=target)
    wait_for_port(API_PORT, timeout=10, alive=record)
    crossing = crossing_ports(layout, region)
    for port in sorted({p for ports in crossing.values() for p in ports}):
        name = f"p{port}"
        _api("POST", "/proxies", {"name": name, "listen": f"{netns.BRIDGE_IP}:{port + PORT_SHIFT}",
                                  "upstream": f"127.0.0.1:{port}", "enabled": True})
        for stream in ("upstream", "downstream"):
            _api("POST", f"/proxies/{name}/toxics", {"name": f"lat-{stream}", "type": "latency", "stream": stream,
                                                     "attributes": {"latency": ms, "jitter": jitter}})
    for r in layout.regions:
        redirect = {p: f"{netns.BRIDGE_IP}:{p + PORT_SHIFT}" for p in crossing[r.ns]}
        netns.load_nat(layout, r, redirect)
        _reset_connections(r.ns, crossing[r.ns])
    return entry


def _reset_connections(ns: str, ports: list[int]) -> None:
    """Close established connections to these ports so they reconnect via the new NAT."""
    if not ports:
        return
    expr = " or ".join(f"dport = :{p}" for p in ports)
    netns.run(["ss", "-K", "-tn", "state", "established", f"( {expr} )"], ns=ns, check=False)


def undo_latency(fed: Federation, entry: dict) -> None:
    layout = fed.layout
    if layout is not None and set(r.ns for r in layout.regions) <= netns.namespaces():
        region = layout.region(entry["region"])
        crossing = crossing_ports(layout, region)
        for r in layout.regions:
            netns.load_nat(layout, r)  # straight to the owners again
            _reset_connections(r.ns, crossing[r.ns])
    record = ProcessRecord.from_dict(entry["record"])
    stop(record, timeout=5, first=signal.SIGTERM)
    time.sleep(0.2)


INJECT = {"latency": add_latency}
UNDO = {"latency": undo_latency}
