"""Helpers for the browser tests: Debian's chromium driven by Playwright, and a node app
with the counter UI on a real PostgreSQL (keys loaded, Kafka in local-only mode).

Chromium is not downloaded by Playwright (no internet): the system's /usr/bin/chromium is
used. Without it the tests skip on a developer machine and fail when CI=true.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from service.app import create_app
from service.appkeys import KEYRING
from service.keyring import Keyring
from service.ui import setup_ui
from tests.support.auth import ensure_auth
from tests.support.counter import NODE_B, TOWN_B, ensure_api, node_settings

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_or_skip() -> str:
    """The chromium executable; skip without it, except in CI (CI=true) where it must exist."""
    path = os.environ.get("RISAI_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    missing = None
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        missing = "playwright is not installed (pip install playwright)"
    if missing is None and not Path(path).exists():
        missing = f"chromium not found at {path} (apt-get install chromium)"
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests need it in CI: {missing}")
        pytest.skip(missing)
    return path


def ensure_ui(app: web.Application) -> web.Application:
    """Call setup_ui unless create_app already does."""
    if not any(getattr(r.resource, "canonical", None) == "/ui/towns" for r in app.router.routes()):
        setup_ui(app)
    return app


@contextlib.asynccontextmanager
async def ui_node(dsn: str, pki: Path, node_id: str = NODE_B, town: str = TOWN_B) -> AsyncIterator[TestServer]:
    """A node app (API + UI) served on a free loopback port; keys loaded after start-up."""
    app = ensure_ui(ensure_api(ensure_auth(create_app(node_settings(dsn, pki, node_id, town)))))

    async def load_keys(app: web.Application) -> None:
        app[KEYRING] = Keyring.load(pki / "nodes" / node_id, pki / "trust-list.cbor", pki / "root.pem", town)

    app.on_startup.append(load_keys)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()
