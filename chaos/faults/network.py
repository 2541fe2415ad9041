"""Network faults inside a region's namespace (needs ``risai-federation up --netns``).

A partition or packet loss is one nftables table, ``ip risai_chaos``, in the region's
namespace: it filters the region's only link (eth0, to the bridge). Deleting the table
heals it; deleting the namespace (``risai-federation down``) would too.

The drill's own HTTP clients reach every node from the root namespace, standing in for the
counters and kiosks inside each town, so traffic between the bridge address and a node's
HTTP port is exempt: a partition cuts the region off from the other regions, not from its
own residents.
"""

from __future__ import annotations

from chaos.faults.ledger import Ledger
from deploy import netns
from deploy.launcher import Federation

TABLE = "risai_chaos"


def _layout(fed: Federation) -> netns.Layout:
    if fed.layout is None:
        raise RuntimeError("network faults need a federation started with "
                           "'risai-federation up --netns' (each region in its own namespace)")
    return fed.layout


def filter_rules(region: netns.RegionNet, verdict: str) -> str:
    """The ``risai_chaos`` table: every packet on eth0 gets ``verdict`` except client HTTP.

    verdict is "drop" (partition) or "numgen random mod 100 < N drop" (loss of N %).
    """
    http = ", ".join(str(p) for p in region.http_ports) or "0"
    return "\n".join([
        f"table ip {TABLE} {{",
        "  chain in {", "    type filter hook input priority 0;",
        f'    iif "eth0" ip saddr {netns.BRIDGE_IP} tcp dport {{ {http} }} accept;',
        f'    iif "eth0" {verdict};', "  }",
        "  chain out {", "    type filter hook output priority 0;",
        f'    oif "eth0" ip daddr {netns.BRIDGE_IP} tcp sport {{ {http} }} accept;',
        f'    oif "eth0" {verdict};', "  }",
        "}", ""])


def _load(region: netns.RegionNet, rules: str) -> None:
    _delete(region.ns)
    netns.run(["nft", "-f", "-"], ns=region.ns, stdin=rules)


def _delete(ns: str) -> None:
    if ns in netns.namespaces() and f"table ip {TABLE}" in netns.run(["nft", "list", "tables"], ns=ns, check=False):
        netns.run(["nft", "delete", "table", "ip", TABLE], ns=ns, check=False)


def partition(fed: Federation, ledger: Ledger, target: str, params: dict) -> str:
    """Cut a region off from every other region (its node(s) and broker together)."""
    region = _layout(fed).region(target)
    entry = ledger.add("nft_table", ns=region.ns, table=TABLE)
    _load(region, filter_rules(region, "drop"))
    return entry


def packet_loss(fed: Federation, ledger: Ledger, target: str, params: dict) -> str:
    """Drop a random share (percent) of the region's inter-region packets, both ways."""
    percent = int(params.get("percent", 10))
    if not 0 < percent < 100:
        raise ValueError(f"packet loss percent must be 1..99, got {percent}")
    region = _layout(fed).region(target)
    entry = ledger.add("nft_table", ns=region.ns, table=TABLE)
    _load(region, filter_rules(region, f"numgen random mod 100 < {percent} drop"))
    return entry


def undo_nft_table(fed: Federation, entry: dict) -> None:
    _delete(entry["ns"])


INJECT = {"partition": partition, "packet_loss": packet_loss}
UNDO = {"nft_table": undo_nft_table}
