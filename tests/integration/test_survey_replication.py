"""Survey records replicate like every counter record (outbox → Kafka → consumer), and two
nodes that survey one application at the same time both keep their survey: the
application converges to one version (a conflict is recorded), and its surveys are still
both listed, because each survey names its application (service.counter.surveys.surveys_of)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from replication import envelope
from service.counter import applications, surveys
from service.counter.access import Actor
from service.counter.records import Survey
from service.staff.accounts import Staff
from service.storage.counter import CounterRepository
from tests.support.kafka import grant
from tests.support.replication_nodes import SimNode, create_database, drop_database, eventually

pytestmark = pytest.mark.integration
TOWN = "434434"
NOW = dt.datetime(2024, 1, 20, 3, 0, tzinfo=dt.timezone.utc)
CLERK = Staff("staff-1", TOWN, "clerk1", "窓口 一郎", frozenset({"clerk", "supervisor"}))
_prefixes = itertools.count(1)


@pytest.fixture
async def nodes(postgres):
    out = {}
    for node_id in ("mashiki-1", "mashiki-2"):
        out[node_id] = SimNode(node_id, TOWN, await create_database(postgres.dsn(), postgres.dsn, prefix="srv"))
        await out[node_id].open()
    yield out
    for node in out.values():
        await node.close()
        await drop_database(postgres.dsn(), node.dsn)


async def _use(node: SimNode, work):
    async with node.pool.acquire() as conn:
        return await work(CounterRepository(conn, node_id=node.node_id, town=TOWN))


def _actor() -> Actor:
    return Actor(CLERK, lambda: "unused: one town")


def _build(survey_id: str, ratio: str):
    return lambda dwelling, name: Survey(survey_id, dwelling, "first", name, dt.date(2024, 1, 5), Decimal(ratio))


async def _seed(store: CounterRepository) -> None:
    async with store.transaction():
        await store.put("resident", "R1", {"resident_id": "R1", "household_id": "H1", "town_code": TOWN})
        await store.put("dwelling", "D1", {"dwelling_id": "D1", "household_ids": ["H1"], "town_code": TOWN,
                                           "location": "益城町宮園1"})
        for sid in ("surv-1", "surv-2"):
            await store.put("staff", sid, {"staff_id": sid, "town_code": TOWN, "username": sid, "roles": ["surveyor"],
                                           "display_name": f"調査 {sid}", "disabled": False, "password_hash": "x"})


async def test_surveys_made_at_two_nodes_at_once_are_both_kept(nodes, kafka_broker):
    a, b = nodes.values()
    prefix = f"srv{next(_prefixes)}.events"
    lookup = envelope.static_key_lookup(a.signer, b.signer)
    access = await grant(kafka_broker, prefix, list(nodes))

    async def start() -> None:
        for node in (a, b):
            await node.start(kafka_broker.bootstrap_servers, list(nodes), lookup, prefix, kafka=access[node.node_id])

    await start()
    await _use(a, _seed)
    parsed = {"kind": "risai", "applicant": "R1", "dwelling_id": "D1", "channel": "counter",
              "disaster": {"name": "令和6年能登半島地震", "date": dt.date(2024, 1, 1)}}
    app, _ = await _use(a, lambda s: applications.receive_application(s, _actor(), parsed, town=TOWN, at=NOW))
    app_id = app.application_id

    async def held_at(node, entity_type, entity_id) -> bool:
        return await node.held(entity_type, entity_id) is not None

    await eventually(lambda: held_at(b, "application", app_id), what="the application at mashiki-2")
    await eventually(lambda: held_at(b, "staff", "surv-2"), what="the staff accounts at mashiki-2")

    # Both nodes survey while neither hears the other (replication stopped), then reconnect.
    for node in (a, b):
        await node.stop()
    await _use(a, lambda s: surveys.enter_survey(s, _actor(), app_id, "surv-1", _build("S-A", "45"), at=NOW))
    await _use(b, lambda s: surveys.enter_survey(s, _actor(), app_id, "surv-2", _build("S-B", "25"), at=NOW))
    await start()
    for node, survey_id in ((a, "S-B"), (b, "S-A")):
        await eventually(lambda: held_at(node, "survey", survey_id), what=f"{survey_id} at {node.node_id}")

    async def same_app() -> bool:
        states = [await _use(n, lambda s: s.get("application", app_id)) for n in (a, b)]
        return states[0] == states[1]

    await eventually(same_app, what="the application converged")
    for node in (a, b):
        _, found = await _use(node, lambda s: surveys.read_surveys(s, _actor(), app_id))
        assert sorted((s.survey_id, s.surveyor_id, s.damage_ratio) for s in found) == [
            ("S-A", "surv-1", Decimal("45")), ("S-B", "surv-2", Decimal("25"))]
    conflicts = await a.fetchval("SELECT count(*) FROM conflicts WHERE entity_id = $1", app_id) + \
        await b.fetchval("SELECT count(*) FROM conflicts WHERE entity_id = $1", app_id)
    assert conflicts >= 1  # the concurrent writes of the application surface for review
