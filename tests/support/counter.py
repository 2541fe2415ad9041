"""Helpers for the counter tests: a federation PKI in a temp folder, a node app with keys
but no Kafka (kafka.mode local-only), synthetic town data, and logged-in staff.

    async with counter_node(database, pki) as node:
        clerk = await node.login("clerk1", ("clerk",))
        await node.client.post(..., headers=clerk.headers)
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import tempfile
import tomllib
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterable

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from certs.ceremony import build_federation_pki
from certs.federation import parse_federation
from deploy.synthetic import generate_town
from service.config import DatabaseSettings, KafkaSettings, KeySettings, NodeSettings, Settings, TlsSettings
from service.imports.stream import write_csv
from service.imports.writer import import_csv
from service.keyring import Keyring
from service.web.app import create_app
from service.web.appkeys import KEYRING, POOL, SETTINGS
from tests.support.auth import LoggedIn, add_staff, ensure_auth, login

TOWN_A, TOWN_B, TOWN_C = "434434", "172049", "032107"  # 益城町, 輪島市, 陸前高田市
TOWN_X = "434418"  # a fourth town that delegated to nobody
NODE_B = "wajima-1"
FEDERATION = Path(__file__).resolve().parents[2] / "deploy" / "federation.toml"


def build_pki(now: dt.datetime | None = None) -> Path:
    """The default federation plus town X (no partners), built in a fresh temp folder."""
    data = tomllib.loads(FEDERATION.read_text())
    data["towns"].append({"code": TOWN_X, "name": "御船町", "mayor": "田中 次郎", "partners": []})
    out = Path(tempfile.mkdtemp(prefix="risai-pki-"))
    build_federation_pki(parse_federation(data), out, now or dt.datetime.now(dt.timezone.utc))
    return out


def node_settings(dsn: str, pki: Path, node_id: str = NODE_B, town: str = TOWN_B) -> Settings:
    """Keys without key_dir: create_app then starts no replication (no Kafka in these tests)."""
    return Settings(node=NodeSettings(id=node_id, town_code=town),
                    database=DatabaseSettings(dsn=dsn, pool_max=6),
                    kafka=KafkaSettings(bootstrap_servers="127.0.0.1:9", mode="local-only"),
                    keys=KeySettings(None, pki / "trust-list.cbor", pki / "root.pem"),
                    tls=TlsSettings(http=False, kafka=False),  # in-process test server, no Kafka
                    secure_cookies=False)


def ensure_api(app: web.Application) -> web.Application:
    """Call setup_api unless create_app already does."""
    from service.api.routes import setup_api

    if not any(getattr(r.resource, "canonical", None) == "/api/v1/openapi.json" for r in app.router.routes()):
        setup_api(app)
    return app


@dataclasses.dataclass
class Node:
    """One running node app and a client per logged-in member of staff."""

    app: web.Application
    clients: list[TestClient]
    server: TestServer

    @property
    def client(self) -> TestClient:
        return self.clients[0]

    async def login(self, username: str, roles: Iterable[str], town: str | None = None) -> "Staffed":
        """A new client (own cookie jar) logged in as a new account."""
        client = TestClient(self.server)  # same server, own cookie jar
        await client.start_server()
        self.clients.append(client)
        await add_staff(self.app, username=username, roles=roles, town_code=town)
        session = await login(client, username=username, town_code=town)
        return Staffed(client, session)


@dataclasses.dataclass
class Staffed:
    """A client logged in as one member of staff; ``post`` adds the CSRF header."""

    client: TestClient
    session: LoggedIn

    async def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        resp = await self.client.get(path, **kw)
        return resp.status, await _body(resp)

    async def post(self, path: str, json: Any = None, headers: dict | None = None, **kw: Any) -> tuple[int, Any]:
        resp = await self.client.post(path, json=json, headers={**self.session.headers, **(headers or {})}, **kw)
        return resp.status, await _body(resp)


async def _body(resp: Any) -> Any:
    if resp.content_type == "application/json":
        return await resp.json()
    return await resp.read()


@contextlib.asynccontextmanager
async def counter_node(dsn: str, pki: Path, node_id: str = NODE_B, town: str = TOWN_B,
                       configure: Callable[[web.Application], None] | None = None) -> AsyncIterator[Node]:
    """A node app with this node's keys loaded after start-up (so no relay is started);
    ``configure`` may add signal handlers before the app starts (and freezes)."""
    settings = node_settings(dsn, pki, node_id, town)
    app = ensure_api(ensure_auth(create_app(settings)))
    if configure is not None:
        configure(app)

    async def load_keys(app: web.Application) -> None:
        app[KEYRING] = Keyring.load(pki / "nodes" / node_id, pki / "trust-list.cbor", pki / "root.pem", town)

    app.on_startup.append(load_keys)
    from service.api.certificates import BEFORE_STORE

    app[BEFORE_STORE] = []  # test hooks inside issuance's store transaction
    server = TestServer(app)
    client = TestClient(server)
    await client.start_server()
    node = Node(app, [client], server)
    try:
        yield node
    finally:
        for extra in node.clients[1:]:
            await extra.close()
        await client.close()


async def seed_town(app: web.Application, code: str = TOWN_A, residents: int = 12, seed: int = 7) -> Any:
    """Generate a small synthetic town and import its three files through the importer."""
    town = generate_town(code, "益城町", residents, seed, damaged_share=1.0, flood_share=0.0)
    settings = app[SETTINGS]
    async with app[POOL].acquire() as conn:
        for kind, records in (("residents", town.residents), ("dwellings", town.dwellings)):
            await import_csv(conn, kind, csv_bytes(kind, records), node_id=settings.node.id,
                             town=settings.node.town_code)
    return town


def csv_bytes(kind: str, records: Iterable[Any]) -> bytes:
    """Records as a CSV file in the documented format."""
    import io

    out = io.StringIO(newline="")
    write_csv(kind, records, out)
    return out.getvalue().encode()
