"""Test helpers for anything behind a staff login or a kiosk (used across the suite).

    async with auth_client(database) as client:
        clerk = await staff_login(client, username="sato", roles=("clerk",))
        await client.post("/api/v1/...", json=..., headers=clerk.headers)

``clerk.headers`` carries the CSRF token; the session cookie lives in the client's jar.
Each ``auth_client`` has its own cookie jar, so two staff need two clients.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
from typing import Any, AsyncIterator, Callable, Iterable

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from service.config import DatabaseSettings, KafkaSettings, NodeSettings, Settings, TlsSettings
from service.kiosk import signing
from service.staff.accounts import Staff, create_staff, hash_password
from service.staff.sessions import AuthPolicy
from service.web.app import create_app
from service.web.appkeys import POOL, SETTINGS
from service.web.auth import AUTH_POLICY, CSRF_HEADER, LOGIN_PATH, setup_auth

PASSWORD = "correct horse battery staple"
TOWN_A, TOWN_B = "434434", "434418"  # 益城町 and 御船町 (check digits valid)


def node_settings(dsn: str, *, node_id: str = "node-a", town_code: str = TOWN_A,
                  secure_cookies: bool = False) -> Settings:
    """Settings for a node on a test database, without keys (so no replication)."""
    return Settings(node=NodeSettings(id=node_id, town_code=town_code),
                    database=DatabaseSettings(dsn=dsn, pool_max=4),
                    kafka=KafkaSettings(bootstrap_servers="127.0.0.1:9"),
                    tls=TlsSettings(http=False, kafka=False),  # in-process test server, no Kafka
                    secure_cookies=secure_cookies)


def ensure_auth(app: web.Application) -> web.Application:
    """Call setup_auth unless create_app already did."""
    if not any(r.resource is not None and r.resource.canonical == LOGIN_PATH
               for r in app.router.routes()):
        setup_auth(app)
    return app


@contextlib.asynccontextmanager
async def auth_client(dsn: str, *, policy: AuthPolicy | None = None,
                      **settings: Any) -> AsyncIterator[TestClient]:
    """A test client on a full node app (create_app + setup_auth), optionally with a
    session policy (lifetimes, clock)."""
    app = create_app(node_settings(dsn, **settings))
    if policy is not None:
        app[AUTH_POLICY] = policy
    ensure_auth(app)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def add_staff(app: web.Application, *, username: str, roles: Iterable[str] = ("clerk",),
                    town_code: str | None = None, password: str = PASSWORD,
                    display_name: str | None = None) -> Staff:
    """Create an account on the node's database (as the CLI does)."""
    settings = app[SETTINGS]
    async with app[POOL].acquire() as conn, conn.transaction():
        return await create_staff(
            conn, node_id=settings.node.id, node_town=settings.node.town_code,
            town_code=town_code or settings.node.town_code, username=username,
            display_name=display_name or username, roles=list(roles),
            password_hash=hash_password(password))


@dataclasses.dataclass(frozen=True)
class LoggedIn:
    staff: dict[str, Any]
    csrf_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {CSRF_HEADER: self.csrf_token}


async def login(client: TestClient, *, username: str, town_code: str | None = None,
                password: str = PASSWORD) -> LoggedIn:
    """Log in through the API; the cookie goes into the client's jar."""
    town = town_code or client.app[SETTINGS].node.town_code
    resp = await client.post(LOGIN_PATH, json={"town_code": town, "username": username,
                                               "password": password})
    body = await resp.json()
    assert resp.status == 200, body
    return LoggedIn(body["staff"], body["csrf_token"])


async def staff_login(client: TestClient, *, username: str = "clerk1",
                      roles: Iterable[str] = ("clerk",), town_code: str | None = None) -> LoggedIn:
    """Create an account and log in as it."""
    await add_staff(client.app, username=username, roles=roles, town_code=town_code)
    return await login(client, username=username, town_code=town_code)


@dataclasses.dataclass
class SignedKiosk:
    """A registered kiosk device that signs its requests."""

    client: TestClient
    kiosk_id: str
    key: ec.EllipticCurvePrivateKey
    session_token: str | None = None
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)

    def signed_headers(self, method: str, path: str, body: bytes = b"") -> dict[str, str]:
        headers = signing.sign_request(self.key, self.kiosk_id, method, path, body, self.clock())
        if body:
            headers["Content-Type"] = "application/json"
        if self.session_token:
            headers["X-Kiosk-Session"] = self.session_token
        return headers

    async def request(self, method: str, path: str, json_body: Any = None) -> Any:
        body = b"" if json_body is None else json.dumps(json_body).encode()
        return await self.client.request(method, path, data=body,
                                         headers=self.signed_headers(method, path, body))


async def register_kiosk(client: TestClient, admin: LoggedIn, kiosk_id: str = "kiosk-1",
                         **options: Any) -> SignedKiosk:
    """Register a fresh P-256 kiosk device through the admin API."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    resp = await client.post("/api/v1/kiosks", headers=admin.headers,
                             json={"kiosk_id": kiosk_id, "name": "避難所 1", "public_key_pem": pem})
    assert resp.status == 201, await resp.text()
    return SignedKiosk(client, kiosk_id, key, **options)
