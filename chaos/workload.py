"""The drill's recorded workload: counters and kiosks at every node, over the real HTTP API.

A counter (窓口) logs in as the drill's staff of its node's town and walks applications
through the counter story: apply → survey → judge → issue, for residents of any town
(so a partner node serves a town whose hall is down). A kiosk (evacuation-centre terminal)
verifies certificates that were handed out and tracks applications with the receipt code.
A contender, when the scenario asks, judges the same application at two nodes on either
side of a partition: those writes are concurrent and must surface as conflicts. A
duplicator applies for one household's case at two nodes on either side of a partition and
takes both to a certificate: after healing, every node must show one review item for them.

Every request is bounded (per-request timeout, a shared request budget, a deadline) and
recorded in the history with its outcome.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import ssl
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import quote

import aiohttp

from chaos.checker import DUPLICATE_BASE, DUPLICATES_TRIED
from chaos.history import FAILED, OK, REJECTED, History, Op
from chaos.scenario import WorkloadSpec

API = "/api/v1"
REASON = {"X-Access-Reason": quote("防災訓練: 相互応援協定による代行受付")}
DISASTER = {"name": "防災訓練 地震", "date": "2024-01-01"}


def drill_disaster(round_no: int | str, drill_id: str) -> dict[str, str]:
    """The disaster a drill's applications name: one per drill and round, so the federation's
    one-current-certificate rule (issue 11) never refuses a drill for an earlier drill's cases."""
    return {"name": f"防災訓練 地震 {drill_id} 第{round_no}回", "date": DISASTER["date"]}


DUPLICATE_ROUND = "重複"  # the duplicator's own disaster: its cases are never the counters' cases


@dataclass
class Target:
    """A node the workload talks to."""

    node: str
    port: int
    town: str


@dataclass
class Shared:
    """State shared by all clients of one drill."""

    history: History
    clock: Callable[[], float]
    deadline: float
    budget: int
    password: str
    households: list[tuple[str, str]]  # (resident_id, dwelling_id) pairs of every town
    issued: list[tuple[str, str]] = field(default_factory=list)  # (number, qr)
    tracking: list[tuple[str, str]] = field(default_factory=list)  # (application id, code)
    tls: ssl.SSLContext | None = None  # verifies the nodes' HTTPS (Federation.http_context)
    drill_id: str = field(default_factory=lambda: f"{random.getrandbits(32):08x}")
    _cases: list[tuple[str, str]] = field(default_factory=list)
    _round: int = 0

    def go(self) -> bool:
        return self.budget > 0 and self.clock() < self.deadline

    def next_case(self, rng: random.Random) -> tuple[str, str, dict[str, str]]:
        """(resident, dwelling, disaster) never applied for before in this drill: households in
        a shuffled order, then again under the next round's disaster."""
        if not self._cases:
            self._cases = list(self.households)
            rng.shuffle(self._cases)
            self._round += 1
        resident, dwelling = self._cases.pop()
        return resident, dwelling, drill_disaster(self._round, self.drill_id)


class Client:
    """One HTTP client (own cookie jar) at one node, recording every request."""

    def __init__(self, shared: Shared, name: str, target: Target, timeout: float) -> None:
        self.shared, self.name, self.target = shared, name, target
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                             connector=aiohttp.TCPConnector(ssl=shared.tls or True),
                                             timeout=aiohttp.ClientTimeout(total=timeout))
        self.headers: dict[str, str] | None = None
        self.staff_id: str | None = None  # the drill account surveys too (it holds every role)

    async def close(self) -> None:
        await self.session.close()

    async def login(self) -> bool:
        status, body = await self.request("login", "POST", "/auth/login", {
            "town_code": self.target.town, "username": "chaos", "password": self.shared.password})
        self.headers = {"X-CSRF-Token": body["csrf_token"], **REASON} if status == 200 else None
        self.staff_id = body["staff"]["staff_id"] if status == 200 else None
        return self.headers is not None

    async def request(self, op: str, method: str, path: str, body: Any = None, *,
                      entity: str | None = None, base: str | None = None,
                      headers: dict | None = None) -> tuple[int | None, dict]:
        """Send one request and append it to the history; (status or None, JSON body)."""
        self.shared.budget -= 1
        start = self.shared.clock()
        status, data, detail = None, {}, ""
        try:
            async with self.session.request(method, f"https://127.0.0.1:{self.target.port}{API}{path}",
                                            json=body, headers=headers or self.headers) as resp:
                status = resp.status
                data = await resp.json(content_type=None) if resp.content_length != 0 else {}
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            detail = type(exc).__name__
        outcome = OK if status and status < 400 else REJECTED if status and status < 500 else FAILED
        if status and status >= 400:
            detail = str((data or {}).get("error", {}).get("code", status))
        elif op == "issue" and isinstance(data, dict):
            detail = str(data.get("replication", ""))  # "acknowledged" or "pending" (DESIGN 4)
        cert = (data or {}).get("certificate") if op == "issue" else None
        self.shared.history.ops.append(Op(
            self.name, self.target.node, op, start, self.shared.clock(), outcome, status,
            cert.get("number") if cert else None, cert.get("qr") if cert else None, entity, base, detail))
        return status, data or {}


async def counter(shared: Shared, client: Client, rng: random.Random) -> None:
    """Walk applications through the counter story until the deadline or the budget ends."""
    while shared.go():
        if client.headers is None and not await client.login():
            await asyncio.sleep(1.0)
            continue
        resident, dwelling, disaster = shared.next_case(rng)
        if not await _story(shared, client, resident, dwelling, disaster):
            await asyncio.sleep(0.5)  # back off from a node in trouble
        await asyncio.sleep(0.05)


async def _story(shared: Shared, client: Client, resident: str, dwelling: str, disaster: dict[str, str],
                 *, base: str | None = None) -> bool:
    status, body = await client.request("apply", "POST", "/applications", {
        "applicant_resident_id": resident, "dwelling_id": dwelling, "disaster": disaster}, base=base)
    if status == 401:
        client.headers = None
    if status != 201:
        return False
    app_id = body["application"]["application_id"]
    shared.tracking.append((app_id, body["tracking_code"]))
    entity = f"application:{app_id}"
    if base is not None:  # the apply's record names the application it made
        op = shared.history.ops[-1]
        shared.history.ops[-1] = dataclasses.replace(op, entity=entity)
    steps = [("survey", f"/applications/{app_id}/surveys", {"surveyed_on": "2024-01-10", "damage_ratio": "35",
                                                            "surveyor_id": client.staff_id}),
             ("judge", f"/applications/{app_id}/judgement", {}),
             ("issue", f"/applications/{app_id}/certificate", {"place": "防災訓練会場"})]
    for op, path, payload in steps:
        if not shared.go():
            return True
        status, body = await client.request(op, "POST", path, payload, entity=entity)
        if status not in (200, 201):
            return False
    shared.issued.append((body["certificate"]["number"], body["certificate"]["qr"]))
    return True


async def kiosk(shared: Shared, client: Client, rng: random.Random) -> None:
    """Verify handed-out certificates and track applications (no staff login)."""
    while shared.go():
        if shared.issued and rng.random() < 0.6:
            _, qr = rng.choice(shared.issued)
            await client.request("verify", "POST", "/verify", {"qr": qr}, headers={})
        elif shared.tracking:
            app_id, code = rng.choice(shared.tracking)
            await client.request("track", "GET", f"/applications/{app_id}/tracking?code={code}", headers={})
        await asyncio.sleep(0.3)


async def contender(shared: Shared, inside: Client, outside: Client, at: float, pairs: int = 3) -> None:
    """Before ``at``: prepare surveyed applications seen by both nodes. At ``at`` (inside a
    partition): judge each at both nodes at once. Both writes are based on the same version."""
    prepared = []
    for client in (inside, outside):
        while client.headers is None and shared.go():
            if not await client.login():
                await asyncio.sleep(1)
    for resident, dwelling in shared.households[:pairs]:
        status, body = await outside.request("apply", "POST", "/applications", {
            "applicant_resident_id": resident, "dwelling_id": dwelling,
            "disaster": drill_disaster(0, shared.drill_id)})
        if status == 201:
            app_id = body["application"]["application_id"]
            status, _ = await outside.request("survey", "POST", f"/applications/{app_id}/surveys",
                                              {"surveyed_on": "2024-01-10", "damage_ratio": "45",
                                               "surveyor_id": outside.staff_id},
                                              entity=f"application:{app_id}")
            if status == 201:
                prepared.append(app_id)
    while shared.clock() < at and shared.go():
        await asyncio.sleep(0.2)
    for app_id in prepared:
        ent, base = f"application:{app_id}", f"contended:{app_id}"
        await asyncio.gather(*(c.request("judge", "POST", f"/applications/{app_id}/judgement", {},
                                         entity=ent, base=base) for c in (inside, outside)))


async def duplicator(shared: Shared, inside: Client, outside: Client, at: float, cases: int = 3) -> None:
    """At ``at`` (inside a partition): apply for each of ``cases`` households' dwellings at both
    nodes at once, under the same disaster, and take each application to a certificate at
    the node that received it. Neither node can see the other's application, so both accept:
    the federation's one-current-certificate rule can only catch it after healing."""
    for client in (inside, outside):
        while client.headers is None and shared.go():
            if not await client.login():
                await asyncio.sleep(1)
    while shared.clock() < at and shared.go():
        await asyncio.sleep(0.2)
    disaster = drill_disaster(DUPLICATE_ROUND, shared.drill_id)
    chosen = shared.households[-cases:]
    shared.history.marks[DUPLICATES_TRIED] = float(len(chosen))
    for resident, dwelling in chosen:
        base = f"{DUPLICATE_BASE}{resident}/{dwelling}"
        await asyncio.gather(*(_story(shared, c, resident, dwelling, disaster, base=base)
                               for c in (inside, outside)))


async def run(shared: Shared, targets: list[Target], spec: WorkloadSpec, *,
              contend: tuple[str, str, float] | None = None,
              duplicate: tuple[str, str, float] | None = None, seed: int = 6) -> None:
    """Run every client until the deadline or budget; ``contend`` and ``duplicate`` =
    (node inside the partition, node outside, when)."""
    rng = random.Random(seed)
    clients: list[Client] = []

    def client(name: str, target: Target) -> Client:
        clients.append(Client(shared, name, target, spec.request_timeout_s))
        return clients[-1]
    jobs = []
    for t in targets:
        jobs += [counter(shared, client(f"counter-{t.node}-{i}", t), random.Random(rng.random()))
                 for i in range(spec.counters_per_node)]
        jobs += [kiosk(shared, client(f"kiosk-{t.node}-{i}", t), random.Random(rng.random()))
                 for i in range(spec.kiosks_per_node)]
    if contend:
        by_node = {t.node: t for t in targets}
        jobs.append(contender(shared, client("contender-in", by_node[contend[0]]),
                              client("contender-out", by_node[contend[1]]), contend[2]))
    if duplicate:
        by_node = {t.node: t for t in targets}
        jobs.append(duplicator(shared, client("duplicator-in", by_node[duplicate[0]]),
                               client("duplicator-out", by_node[duplicate[1]]), duplicate[2]))
    try:
        await asyncio.gather(*jobs)
    finally:
        await asyncio.gather(*(c.close() for c in clients))
