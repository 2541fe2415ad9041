"""The node serves the counter UI itself: the page, its modules and styles, with a strict
Content-Security-Policy (no inline script), and nothing outside service/static."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient

from service.web.ui import STATIC
from tests.browser.support import ui_node
from tests.support.counter import build_pki

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pki():
    return build_pki()


def test_index_has_no_inline_script_or_style():
    html = (STATIC / "index.html").read_text()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all("src=" in s for s in scripts)
    assert "style=" not in html and "<style" not in html
    for js in STATIC.glob("*.js"):
        text = js.read_text()
        assert "innerHTML" not in text and "eval(" not in text and "new Function" not in text, js.name


async def test_page_and_static_files_carry_a_strict_csp(database, pki):
    async with ui_node(database, pki) as server:
        client = TestClient(server)
        await client.start_server()
        try:
            page = await client.get("/")
            assert page.status == 200 and page.content_type == "text/html"
            csp = page.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
            assert "frame-ancestors 'none'" in csp and page.headers["X-Content-Type-Options"] == "nosniff"
            assert "罹災証明 窓口" in await page.text()

            for name, kind in (("app.js", "javascript"), ("style.css", "text/css")):
                resp = await client.get(f"/ui/static/{name}")
                assert resp.status == 200 and kind in resp.content_type, name
                assert resp.headers["Content-Security-Policy"] == csp

            assert (await client.get("/ui/static/../ui.py")).status in (403, 404)
            assert (await client.get("/ui/static/%2e%2e/ui.py")).status in (403, 404)
            api = await client.get("/api/v1/openapi.json")
            assert "Content-Security-Policy" not in api.headers  # the API is not a page

            towns = await (await client.get("/ui/towns")).json()
            assert towns["towns"]["434434"]["name"] == "益城町"
            assert (await client.get("/ui/certificates/434434-wajima-1-000001/content")).status == 401
        finally:
            await client.close()
