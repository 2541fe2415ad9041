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

from service.keyring import Keyring
from service.web.app import create_app
from service.web.appkeys import KEYRING
from service.web.ui import setup_ui
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


@contextlib.asynccontextmanager
async def browser_page(chromium: str) -> AsyncIterator[tuple[object, list[str]]]:
    """A fresh chromium page and the list of page errors and console errors it reports
    (CSP violations included; expected 4xx resource loads excluded)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1180, "height": 900}, locale="ja-JP")
            page.set_default_timeout(10_000)
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
            page.on("console", lambda msg: problems.append(msg.text)
                    if msg.type == "error" and "status of 4" not in msg.text else None)
            yield page, problems
        finally:
            await browser.close()


async def log_in(page, server: TestServer, town: str, username: str, password: str) -> None:
    """Open the UI and log in through its form."""
    from playwright.async_api import expect

    await page.goto(str(server.make_url("/")))
    form = page.locator("#login-form")
    await form.locator("[name=town_code]").fill(town)
    await form.locator("[name=username]").fill(username)
    await form.locator("[name=password]").fill(password)
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#nav")).to_be_visible()


DOCS = Path(__file__).resolve().parents[2] / "docs"


class Screenshots:
    """Screenshots named counter-ui-NAME.png: into docs/ with RISAI_UI_SCREENSHOT=1 (for
    docs/counter-ui.md), else into ``fallback`` so a test run leaves the tree clean."""

    def __init__(self, fallback: Path) -> None:
        self.folder = DOCS if os.environ.get("RISAI_UI_SCREENSHOT") == "1" else fallback
        self.taken: list[Path] = []

    async def __call__(self, page, name: str, full_page: bool = True) -> None:
        path = self.folder / f"counter-ui-{name}.png"
        await page.screenshot(path=str(path), full_page=full_page)
        self.taken.append(path)
