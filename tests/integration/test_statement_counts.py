"""SQL statements per step of the counter story, counted on a real node (issue 10).

Each request's statements (BEGIN and COMMIT included) are counted with asyncpg's query
logger, attributed to the request by a context variable a middleware sets, so the status
lists' background refresh is not counted. The bounds are what the short write path reached
(one record_changes per transaction, batched reads); a change that adds round trips to a
step fails here, before any benchmark notices it.
"""

from __future__ import annotations

import contextvars
from collections import Counter

import asyncpg
import pytest
from aiohttp import web

from service.web import app as app_module
from tests.support.counter import build_pki, counter_node, seed_town
from tests.support.issuing import REASON, household_pairs, staff_id

pytestmark = pytest.mark.integration
DISASTER = {"name": "令和6年能登半島地震", "date": "2024-01-01"}
STEP: contextvars.ContextVar[str | None] = contextvars.ContextVar("step", default=None)
# Statements per step, measured 2026-12-01 (docs/performance.md), counting BEGIN and COMMIT
# and the pool's reset of the connection on release: record_changes is 9 of them (clock,
# store lock, held versions, clock save, history, versions, entities, outbox + NOTIFY).
BOUNDS = {"apply": 16, "survey": 15, "judge": 13, "issue": 21}


@pytest.fixture(scope="module")
def pki():
    return build_pki()


@pytest.fixture
def counted(monkeypatch):
    """Every node pool's connections report their statements, keyed by the current step."""
    counts: Counter[str] = Counter()

    def log(record) -> None:
        step = STEP.get()
        if step is not None:
            counts[step] += 1

    async def init(conn: asyncpg.Connection) -> None:
        conn.add_query_logger(log)

    async def create_pool(dsn, *, min_size=1, max_size=10):
        return await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, command_timeout=30,
                                         init=init)
    monkeypatch.setattr(app_module, "create_pool", create_pool)
    return counts


def _count_steps(app: web.Application) -> None:
    steps = {"/applications": "apply", "/surveys": "survey", "/judgement": "judge", "/certificate": "issue"}

    @web.middleware
    async def middleware(request: web.Request, handler):
        step = next((s for suffix, s in steps.items() if request.method == "POST" and request.path.endswith(suffix)),
                    None)
        token = STEP.set(step)
        try:
            return await handler(request)
        finally:
            STEP.reset(token)
    app.middlewares.insert(0, middleware)


async def test_each_step_of_the_story_stays_within_its_statements(database, pki, counted):
    async with counter_node(database, pki, configure=_count_steps) as node:
        town = await seed_town(node.app)
        clerk = await node.login("clerk1", ("clerk", "surveyor", "supervisor"))
        per_story = []
        for resident, dwelling in household_pairs(town)[:3]:
            before = Counter(counted)
            status, created = await clerk.post("/api/v1/applications", {
                "applicant_resident_id": resident.resident_id, "dwelling_id": dwelling.dwelling_id,
                "disaster": DISASTER}, headers=REASON)
            assert status == 201, created
            app_id = created["application"]["application_id"]
            status, body = await clerk.post(f"/api/v1/applications/{app_id}/surveys", {
                "surveyed_on": "2024-01-10", "damage_ratio": "35", "surveyor_id": staff_id(clerk)}, headers=REASON)
            assert status == 201, body
            status, body = await clerk.post(f"/api/v1/applications/{app_id}/judgement", {}, headers=REASON)
            assert status == 200, body
            status, body = await clerk.post(f"/api/v1/applications/{app_id}/certificate", {}, headers=REASON)
            assert status == 201, body
            per_story.append(counted - before)
    # The first story warms the session cache and the sequence; the later ones are the steady state.
    steady = per_story[-1]
    assert set(steady) == set(BOUNDS), steady
    over = {step: n for step, n in steady.items() if n > BOUNDS[step]}
    assert not over, f"statements per step {dict(steady)} exceed {BOUNDS}"
