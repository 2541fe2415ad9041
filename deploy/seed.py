"""Seed a federation with synthetic towns, through each node's importer (the real path).

The launcher calls ``seed_federation`` once the nodes' databases are migrated. Each town's
data is imported into the node(s) of that town only; replication carries it to the other
nodes (as in production, where each town imports its own registry). With
``everywhere=True`` every node imports every town (no Kafka needed, e.g. for demos of
one node). Re-running is harmless: the importer recognises files by SHA-256.
"""

from __future__ import annotations

import io
from typing import Callable, Iterable

import asyncpg

from certs.federation import FederationConfig
from deploy.synthetic import generate_town
from service.imports.stream import write_csv
from service.imports.writer import ImportResult, import_csv

KINDS = ("residents", "dwellings", "surveys")


def _csv(kind: str, records: Iterable) -> bytes:
    out = io.StringIO(newline="")
    write_csv(kind, records, out)
    return out.getvalue().encode()


async def seed_federation(federation: FederationConfig, node_dsns: dict[str, str], *,
                          residents: int = 1000, seed: int = 1, everywhere: bool = False,
                          log: Callable[[str], None] = print) -> dict[str, list[ImportResult]]:
    """Import a synthetic town per federation town into its nodes; returns results by node id."""
    results: dict[str, list[ImportResult]] = {}
    for town in federation.towns:
        data = generate_town(town.code, town.name, residents, seed)
        files = {kind: _csv(kind, getattr(data, kind)) for kind in KINDS}
        for node in federation.nodes:
            if node.id not in node_dsns or (node.town != town.code and not everywhere):
                continue
            conn = await asyncpg.connect(node_dsns[node.id])
            try:
                identity = await conn.fetchrow("SELECT node_id, town_code FROM node_identity")
                node_town = identity["town_code"] if identity else node.town
                for kind in KINDS:  # order matters: dwellings refer to households, surveys to dwellings
                    result = await import_csv(conn, kind, files[kind], node_id=node.id, town=node_town)
                    results.setdefault(node.id, []).append(result)
                    log(f"{node.id}: {town.name} {kind}: {result.rows} rows, {result.changed} changed"
                        + (" (already imported)" if result.already_imported else ""))
            finally:
                await conn.close()
    return results
