"""schemathesis against the served OpenAPI document: no input makes the node answer 500.

The node runs in a thread with its own event loop (schemathesis calls it synchronously),
on a real PostgreSQL database with a seeded town and a member of staff holding every role,
so generated requests get past authentication into the handlers. Bounded: 25 examples per
operation.
"""

from __future__ import annotations

import asyncio
import threading
from urllib.parse import quote

import asyncpg
import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from deploy.processes import free_port
from service.keyring import Keyring
from service.web.appkeys import KEYRING
from tests.support.auth import PASSWORD, add_staff, ensure_auth
from tests.support.counter import NODE_B, TOWN_B, build_pki, ensure_api, node_settings, seed_town

pytestmark = pytest.mark.integration
CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]


class LiveNode:
    """create_app served on a loopback port from a background thread."""

    def __init__(self, dsn: str) -> None:
        self.dsn, self.port = dsn, free_port()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(60)

    async def _start(self) -> None:
        from service.web.app import create_app

        pki = build_pki()
        app = ensure_api(ensure_auth(create_app(node_settings(self.dsn, pki))))

        async def load_keys(app: web.Application) -> None:
            app[KEYRING] = Keyring.load(pki / "nodes" / NODE_B, pki / "trust-list.cbor", pki / "root.pem", TOWN_B)

        app.on_startup.append(load_keys)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        await seed_town(app)
        await add_staff(app, username="fuzz", roles=("clerk", "surveyor", "supervisor", "admin", "auditor"))

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def live_node(postgres):
    name = "schemathesis_node"

    async def create() -> None:
        admin = await asyncpg.connect(postgres.dsn())
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()

    asyncio.run(create())
    node = LiveNode(postgres.dsn(name))
    node.start()
    base = f"http://127.0.0.1:{node.port}"
    session = requests.Session()
    resp = session.post(f"{base}/api/v1/auth/login", json={"town_code": TOWN_B, "username": "fuzz",
                                                           "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    session.headers.update({"X-CSRF-Token": resp.json()["csrf_token"],
                            "X-Access-Reason": quote("試験")})
    yield base, session
    session.close()
    node.stop()


def test_no_input_makes_the_node_fail(live_node):
    base, session = live_node
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case) -> None:
            response = case.call(base_url=base, session=session)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.text[:300]}")
                return
            try:  # the reply is one the document describes: its status, type and schema
                case.validate_response(response, checks=CONFORMANCE)
            except FailureGroup as exc:  # every check that failed, with schemathesis's report
                failures.append(f"{case.method} {case.formatted_path} {response.status_code}: {str(exc)[:400]}")

        run()
    assert not failures, failures
