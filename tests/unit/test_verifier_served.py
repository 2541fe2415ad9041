"""The node serves the verifier app at /verifier/ with its own federation root pinned, a
strict CSP, the self-contained download (script, styles, root and bundle inlined), and a
clear 503 when the app was never built."""

from __future__ import annotations

import base64
import re

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.serialization import Encoding

import service.web.verifier as verifier_app
from service.keyring import Keyring
from service.web.appkeys import KEYRING
from service.web.errors import error_middleware
from service.web.verifier import setup_verifier
from tests.unit.certs_fixtures import build_pki

BUNDLE = b"\xa1\x66format\x01"  # what the stand-in bundle endpoint serves (bytes only, not parsed here)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    out = tmp_path_factory.mktemp("pki")
    build_pki(out)
    return out


def app_for(pki, with_bundle: bool) -> web.Application:
    app = web.Application(middlewares=[error_middleware])
    app[KEYRING] = Keyring.load(pki / "nodes" / "wajima-1", pki / "trust-list.cbor", pki / "root.pem", "172049")
    if with_bundle:
        async def bundle(request: web.Request) -> web.Response:
            return web.Response(body=BUNDLE, content_type="application/cbor")
        app.router.add_get("/api/v1/verifier-bundle", bundle)
    setup_verifier(app)
    return app


async def client_for(app: web.Application) -> TestClient:
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


async def test_page_pins_the_nodes_root_under_a_strict_csp(pki):
    client = await client_for(app_for(pki, with_bundle=True))
    try:
        page = await client.get("/verifier/")
        assert page.status == 200 and page.content_type == "text/html"
        html = await page.text()
        root = app_root(client)
        assert f'<meta name="risai-root" content="{base64.b64encode(root).decode()}">' in html
        assert "__RISAI_ROOT__" not in html
        csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert all("src=" in tag for tag in re.findall(r"<script\b[^>]*>", html))  # no inline script
        for name, kind in (("verifier.js", "javascript"), ("verifier.css", "text/css"), ("sw.js", "javascript")):
            response = await client.get(f"/verifier/{name}")
            assert response.status == 200 and kind in response.content_type, name
        assert (await client.get("/verifier/../service/web/verifier.py")).status == 404
        assert (await client.get("/verifier/package.json")).status == 404
        redirect = await client.get("/verifier", allow_redirects=False)
        assert redirect.status == 308 and redirect.headers["Location"] == "/verifier/"
    finally:
        await client.close()


def app_root(client: TestClient) -> bytes:
    return client.server.app[KEYRING].trust_list.root.public_bytes(Encoding.DER)


async def test_download_is_one_file_with_root_and_bundle_inlined(pki):
    client = await client_for(app_for(pki, with_bundle=True))
    try:
        response = await client.get("/verifier/download")
        assert response.status == 200
        assert response.headers["Content-Disposition"] == 'attachment; filename="risai-verifier.html"'
        html = await response.text()
        assert 'src="verifier.js"' not in html and 'href="verifier.css"' not in html
        assert html.count("<script") == 2 and "<style>" in html
        assert f'id="risai-bundle">{base64.b64encode(BUNDLE).decode()}</script>' in html
        assert base64.b64encode(app_root(client)).decode() in html
        script = html.split('<script>\n', 1)[1].rsplit("</script>", 1)[0]
        assert "</script" not in script  # the inlined bundle cannot end its own element
        bundle = await client.get("/api/v1/verifier-bundle")  # the download's refresh comes from origin null
        assert bundle.headers["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Origin" not in response.headers  # the app itself is not shared
    finally:
        await client.close()


async def test_download_without_a_bundle_endpoint_still_pins_the_root(pki):
    client = await client_for(app_for(pki, with_bundle=False))
    try:
        html = await (await client.get("/verifier/download")).text()
        assert 'id="risai-bundle"' not in html and base64.b64encode(app_root(client)).decode() in html
    finally:
        await client.close()


async def test_missing_build_gives_a_clear_503(pki, tmp_path, monkeypatch):
    monkeypatch.setattr(verifier_app, "dist_dir", lambda: tmp_path / "dist")
    client = await client_for(app_for(pki, with_bundle=False))
    try:
        for path in ("/verifier/", "/verifier/verifier.js", "/verifier/download"):
            response = await client.get(path)
            body = await response.json()
            assert response.status == 503, path
            assert body["error"]["code"] == "verifier.not_built" and "./dev setup" in body["error"]["message"]
    finally:
        await client.close()
