"""Reading a running federation: seeding it for a drill, digests, final states, lag.

Every node's database is reached at 127.0.0.1:<pg_port> from the root namespace (the
namespaces' NAT carries it), with the launcher's own DSN for that node.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import aiohttp
import asyncpg
from cryptography import x509

from certs.federation import load_federation
from certs.trust_list import load_trust_list
from certs.verify import Status, verify
from chaos.checker import NodeState
from deploy.launcher import NODE_DB, Federation
from deploy.seed import seed_federation
from replication import digest
from service.staff.accounts import create_staff, hash_password, load_account, staff_id_for

STAFF_USER = "chaos"
STAFF_ROLES = "clerk,surveyor,supervisor"
_LAG = re.compile(r'^risai_replication_lag_offsets\{origin="([^"]+)"\}\s+(\S+)', re.M)
_OUTBOX = re.compile(r'^risai_outbox_depth\s+(\S+)', re.M)
OUTBOX = "(outbox)"  # the "origin" of a node's own unpublished outbox rows in lag samples


def dsn(fed: Federation, node) -> str:
    return fed.postgres(node).dsn(NODE_DB)


def federation(fed: Federation):
    return load_federation(Path(fed.spec.path))


def staff_password(fed: Federation) -> str:
    """The drill staff's password, made once per run directory and kept there (0600)."""
    path = fed.run_dir / "chaos" / "staff.password"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(18))
        path.chmod(0o600)
    return path.read_text().strip()


async def prepare(fed: Federation, residents: int) -> None:
    """Make sure every town has residents at its own node, and create the drill's staff
    account there; replication takes both everywhere.

    A federation that ``risai-federation up`` seeded is used as it is; a town without
    residents gets ``residents`` synthetic ones through deploy.seed (the importer, with the
    launcher's seed, so seeding again later changes nothing).
    """
    empty = {}
    for node in fed.spec.nodes:
        conn = await asyncpg.connect(dsn(fed, node))
        try:
            if not await conn.fetchval(_HAS_RESIDENTS, node.town):
                empty[node.id] = dsn(fed, node)
        finally:
            await conn.close()
    if empty:
        await seed_federation(federation(fed), empty, residents=residents, log=lambda _: None)
    password_hash = hash_password(staff_password(fed))
    for node in fed.spec.nodes:
        conn = await asyncpg.connect(dsn(fed, node))
        try:
            if await load_account(conn, staff_id_for(node.town, STAFF_USER)) is None:
                async with conn.transaction():
                    await create_staff(conn, node_id=node.id, node_town=node.town, town_code=node.town,
                                       username=STAFF_USER, display_name="防災訓練", roles=STAFF_ROLES,
                                       password_hash=password_hash)
        finally:
            await conn.close()


_HAS_RESIDENTS = ("SELECT EXISTS (SELECT 1 FROM entities WHERE entity_type = 'resident'"
                  " AND state->>'town_code' = $1)")
_HOUSEHOLDS = """
SELECT resident, dwelling FROM (
  SELECT DISTINCT ON (r.state->>'household_id', d.entity_id) r.entity_id AS resident, d.entity_id AS dwelling
    FROM entities r
    JOIN entities d ON d.entity_type = 'dwelling' AND d.state->'household_ids' ? (r.state->>'household_id')
   WHERE r.entity_type = 'resident' AND r.state->>'town_code' = $1
   ORDER BY r.state->>'household_id', d.entity_id, (r.state->>'is_householder')::boolean DESC, r.entity_id) one
 ORDER BY resident LIMIT $2"""
# One applicant (the householder first) per household and dwelling: a second resident of the
# same household would be the same case, which the one-current-certificate rule refuses.


async def households(fed: Federation, per_town: int) -> list[tuple[str, str]]:
    """(resident, dwelling they live in) pairs, up to ``per_town`` of each town, read at
    the town's own node: the applicants the counters serve."""
    pairs: list[tuple[str, str]] = []
    for node in fed.spec.nodes:
        conn = await asyncpg.connect(dsn(fed, node))
        try:
            pairs += [(r["resident"], r["dwelling"]) for r in await conn.fetch(_HOUSEHOLDS, node.town, per_town)]
        finally:
            await conn.close()
    return sorted(set(pairs))


async def digests(fed: Federation) -> dict[str, str | None]:
    """Each node's overall digest (None when its database does not answer)."""
    out: dict[str, str | None] = {}
    for node in fed.spec.nodes:
        try:
            conn = await asyncpg.connect(dsn(fed, node), timeout=5)
        except (OSError, asyncpg.PostgresError, asyncio.TimeoutError):
            out[node.id] = None
            continue
        try:
            out[node.id] = (await digest.compute(conn)).overall
        finally:
            await conn.close()
    return out


async def wait_converged(fed: Federation, timeout: float, clock: Callable[[], float]) -> float | None:
    """Poll digests until all are equal; the time (by ``clock``) they were, or None."""
    deadline = clock() + timeout
    while clock() < deadline:
        values = set((await digests(fed)).values())
        if len(values) == 1 and None not in values:
            return clock()
        await asyncio.sleep(1.0)
    return None


async def unready(fed: Federation) -> list[str]:
    """What is not serving now: brokers not listening, nodes whose /readyz is not 200."""
    down = []
    for broker in fed.spec.brokers:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", broker.port), 2)
            writer.close()
        except (OSError, asyncio.TimeoutError):
            down.append(f"kafka broker {broker.id}")
    async with https_session(fed, timeout=aiohttp.ClientTimeout(total=3)) as session:
        for node in fed.spec.nodes:
            try:
                async with session.get(f"https://127.0.0.1:{node.http_port}/readyz") as resp:
                    if resp.status != 200:
                        down.append(f"node {node.id} (readyz {resp.status})")
            except (aiohttp.ClientError, asyncio.TimeoutError):
                down.append(f"node {node.id} (no answer)")
    return down


def https_session(fed: Federation, **options) -> aiohttp.ClientSession:
    """An aiohttp session that verifies the nodes' HTTPS certificates (the federation's TLS CA)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=fed.http_context()), **options)


async def wait_ready(fed: Federation, timeout: float, clock: Callable[[], float]) -> list[str]:
    """Poll until every broker and node serves; what still does not after ``timeout``."""
    deadline = clock() + timeout
    while True:
        down = await unready(fed)
        if not down or clock() >= deadline:
            return down
        await asyncio.sleep(1.0)


# The open duplicate review items (service.counter.duplicates: kind duplicate_certificate,
# one row per pair, its two application ids as local_version and remote_version).
_OPEN_REVIEWS = ("SELECT ARRAY[local_version, remote_version] AS ids FROM conflicts"
                 " WHERE kind = 'duplicate_certificate' AND resolved_at IS NULL")


async def final_states(fed: Federation) -> list[NodeState]:
    """Digest, certificates and conflicts of every node (after healing)."""
    states = []
    for node in fed.spec.nodes:
        conn = await asyncpg.connect(dsn(fed, node), timeout=10)
        try:
            d = await digest.compute(conn)
            certs = await conn.fetch("SELECT entity_id, state->>'qr' AS qr FROM entities"
                                     " WHERE entity_type = 'certificate' ORDER BY entity_id")
            conflicts = await conn.fetch("SELECT DISTINCT entity_type || ':' || entity_id AS k FROM conflicts")
            reviews = await conn.fetch(_OPEN_REVIEWS)
        finally:
            await conn.close()
        states.append(NodeState(node.id, d.overall, d.rows, tuple((r["entity_id"], r["qr"]) for r in certs),
                                frozenset(r["k"] for r in conflicts),
                                frozenset(frozenset(r["ids"]) for r in reviews)))
    return states


async def lag(session: aiohttp.ClientSession, port: int) -> list[tuple[str, float]]:
    """From a node's /metrics: (origin, offsets behind) per peer, and (OUTBOX, rows not yet
    acknowledged by Kafka). Both matter: a node cut off from the brokers cannot see how far
    behind its consumers are, but its outbox grows. Empty when the node does not answer."""
    try:
        async with session.get(f"https://127.0.0.1:{port}/metrics",
                               timeout=aiohttp.ClientTimeout(total=1.5)) as resp:
            text = await resp.text()
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return []
    out = [(origin, float(value)) for origin, value in _LAG.findall(text)]
    return out + [(OUTBOX, float(value)) for value in _OUTBOX.findall(text)]


def make_verifier(run_dir: Path, now: Callable[[], datetime] | None = None) -> Callable[[str], str | None]:
    """certs.verify against <run-dir>/pki/trust-list.cbor anchored at root.pem."""
    now = now or (lambda: datetime.now(timezone.utc))
    pki = Path(run_dir) / "pki"
    anchor = x509.load_pem_x509_certificate((pki / "root.pem").read_bytes())
    trust_list = load_trust_list(pki / "trust-list.cbor", anchor)

    def check(qr: str) -> str | None:
        verdict = verify(qr or "", trust_list, now())
        if verdict.ok:
            return None
        return "; ".join(f"{c.name}: {c.en}" for c in verdict.checks if c.status is Status.FAIL)
    return check


def summary(states: list[NodeState]) -> dict[str, dict]:
    return {s.node: {"digest": s.digest, "rows": s.rows, "certificates": len(s.certificates),
                     "conflicts": len(s.conflicts)} for s in states}


def dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)
