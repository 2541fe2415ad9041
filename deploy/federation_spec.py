"""The deploy side of a federation TOML: regions, node ports and the Kafka brokers.

Towns, partners and node ids are validated by certs.federation (the PKI reads the same
file); this module adds what the launcher needs and checks it, naming the field at fault.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from certs.errors import CertsError
from certs.federation import FederationConfig, parse_federation
from deploy.kafka_cluster import BrokerSpec
from deploy.processes import DeployError

DEFAULT_FILE = Path(__file__).resolve().parent / "federation.toml"


@dataclass(frozen=True)
class NodeSpec:
    id: str
    town: str
    region: str
    http_port: int
    pg_port: int


@dataclass(frozen=True)
class FederationSpec:
    path: Path
    pki: FederationConfig
    topic_prefix: str
    regions: tuple[str, ...]
    nodes: tuple[NodeSpec, ...]
    brokers: tuple[BrokerSpec, ...]
    replication_factor: int
    min_insync_replicas: int
    heap: str

    def ports(self) -> list[tuple[int, str]]:
        """Every loopback port the federation will listen on, with who uses it."""
        found = []
        for n in self.nodes:
            found += [(n.http_port, f"node {n.id} http_port"), (n.pg_port, f"node {n.id} pg_port")]
        for b in self.brokers:
            found += [(b.port, f"broker {b.id} port"), (b.controller_port, f"broker {b.id} controller_port")]
        return found


def _port(value: object, field: str) -> int:
    if not isinstance(value, int) or not 1024 <= value <= 65535:
        raise DeployError(f"{field} must be a port number from 1024 to 65535, got {value!r}")
    return value


def load_spec(path: Path = DEFAULT_FILE) -> FederationSpec:
    """Read and check a federation TOML; DeployError names the field and the fix."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise DeployError(f"federation file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise DeployError(f"federation file {path} is not valid TOML: {exc}") from None
    try:
        pki = parse_federation(data)
    except CertsError as exc:
        raise DeployError(f"{path}: {exc.message} (field {exc.field})") from None
    regions = tuple(str(r["id"]) for r in data.get("regions", []))
    town_region = {str(t["code"]): str(t.get("region", "")) for t in data["towns"]}
    for code, region in town_region.items():
        if region not in regions:
            raise DeployError(f"{path}: town {code} names region {region!r}, which is not in "
                              f"[[regions]] ({', '.join(regions) or 'none defined'})")
    nodes = tuple(
        NodeSpec(str(n["id"]), str(n["town"]), town_region[str(n["town"])],
                 _port(n.get("http_port"), f"nodes.{n['id']}.http_port"),
                 _port(n.get("pg_port"), f"nodes.{n['id']}.pg_port"))
        for n in data["nodes"]
    )
    kafka = data.get("kafka", {})
    brokers = tuple(
        BrokerSpec(int(b["id"]), str(b["region"]), _port(b.get("port"), f"kafka.brokers.{b['id']}.port"),
                   _port(b.get("controller_port"), f"kafka.brokers.{b['id']}.controller_port"))
        for b in kafka.get("brokers", [])
    )
    if not brokers:
        raise DeployError(f"{path}: [[kafka.brokers]] must list at least one broker")
    for b in brokers:
        if b.region not in regions:
            raise DeployError(f"{path}: broker {b.id} names unknown region {b.region!r}")
    spec = FederationSpec(
        Path(path), pki, str(data.get("federation", {}).get("topic_prefix", "risai.events")),
        regions, nodes, brokers, int(kafka.get("replication_factor", min(3, len(brokers)))),
        int(kafka.get("min_insync_replicas", min(2, len(brokers)))), str(kafka.get("heap", "512m")),
    )
    _check_ports(spec)
    return spec


def _check_ports(spec: FederationSpec) -> None:
    seen: dict[int, str] = {}
    for port, what in spec.ports():
        if port in seen:
            raise DeployError(f"{spec.path}: port {port} is used twice ({seen[port]} and {what})")
        seen[port] = what
    if spec.replication_factor > len(spec.brokers):
        raise DeployError(f"{spec.path}: kafka.replication_factor {spec.replication_factor} exceeds "
                          f"the {len(spec.brokers)} broker(s)")
