"""The federation description (deploy/federation.toml) as far as the PKI needs it.

Only towns (code, name, mayor, partners), nodes (id, town, optional signing_alg), the Kafka
broker ids and ``[tls] hosts`` are read (the transport PKI issues a certificate per broker
and names those hosts); everything else in the file belongs to the deploy launcher.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import InvalidInput
from .keys import ALGORITHMS, ES256
from .model import Town
from .numbers import validate_node_id
from .town_code import validate_town_code


@dataclass(frozen=True)
class TownConfig(Town):
    """A town (certs.model.Town) and the towns whose nodes may issue in its name."""

    partners: tuple[str, ...] = ()


@dataclass(frozen=True)
class NodeConfig:
    """An issuance node, the town that runs it, and its key algorithm."""

    id: str
    town: str
    alg: str = ES256


@dataclass(frozen=True)
class FederationConfig:
    """Towns and nodes of one mutual-aid group."""

    name: str
    towns: tuple[TownConfig, ...]
    nodes: tuple[NodeConfig, ...]
    broker_ids: tuple[int, ...] = ()
    # Host names or addresses the servers are reached by, besides 127.0.0.1 and localhost
    # (the TLS certificates' subjectAltName).
    tls_hosts: tuple[str, ...] = ()

    def delegates_of(self, town_code: str) -> tuple[NodeConfig, ...]:
        """Nodes that ``town_code``'s CA delegates to: its own nodes and its partners' nodes."""
        town = next(t for t in self.towns if t.code == town_code)
        allowed = {town.code, *town.partners}
        return tuple(n for n in self.nodes if n.town in allowed)


def parse_federation(data: dict) -> FederationConfig:
    """Build a FederationConfig from parsed TOML, naming the first bad field."""
    try:
        towns = tuple(
            TownConfig(
                code=validate_town_code(str(t["code"]), "towns.code"),
                name=str(t["name"]),
                mayor=str(t["mayor"]),
                partners=tuple(validate_town_code(str(p), "towns.partners") for p in t.get("partners", ())),
            )
            for t in data["towns"]
        )
        nodes = tuple(
            NodeConfig(validate_node_id(str(n["id"]), "nodes.id"), str(n["town"]), str(n.get("signing_alg", ES256)))
            for n in data["nodes"]
        )
        name = str(data.get("federation", {}).get("name", "risai federation"))
        brokers = tuple(int(b["id"]) for b in data.get("kafka", {}).get("brokers", ()))
        hosts = tuple(str(h) for h in data.get("tls", {}).get("hosts", ()))
    except KeyError as exc:
        raise InvalidInput("federation.missing", f"federation file lacks required field {exc.args[0]!r}", str(exc.args[0])) from None
    _check_references(towns, nodes)
    return FederationConfig(name, towns, nodes, brokers, hosts)


def load_federation(path: Path) -> FederationConfig:
    """Read and validate a federation TOML file."""
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput("federation.unreadable", f"cannot read {path}: {exc}", "config") from None
    return parse_federation(data)


def _check_references(towns: tuple[TownConfig, ...], nodes: tuple[NodeConfig, ...]) -> None:
    codes = [t.code for t in towns]
    if len(set(codes)) != len(codes):
        raise InvalidInput("federation.duplicate_town", "a town code appears twice", "towns.code")
    if len({n.id for n in nodes}) != len(nodes):
        raise InvalidInput("federation.duplicate_node", "a node id appears twice", "nodes.id")
    for town in towns:
        for partner in town.partners:
            if partner not in codes:
                raise InvalidInput("federation.unknown_partner", f"{town.code} lists unknown partner {partner}", "towns.partners")
    for node in nodes:
        if node.town not in codes:
            raise InvalidInput("federation.unknown_town", f"node {node.id} belongs to unknown town {node.town}", "nodes.town")
        if node.alg not in ALGORITHMS:
            raise InvalidInput("federation.alg", f"node {node.id}: signing_alg must be one of {ALGORITHMS}", "nodes.signing_alg")
