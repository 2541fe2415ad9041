"""The offline verifier web app (検証アプリ) at /verifier/, for banks, insurers and aid agencies.

The app is built from verifier/ (JavaScript, npm lockfile, esbuild) into verifier/dist/,
which is committed: a node serves it without Node.js installed, and ./dev setup rebuilds
the same bytes (tests/unit/test_verifier_build.py). This module only fills in what differs
per federation: the pinned root. Each federation has its own root, so the node that serves
the app pins its own root (the one its trust list verified against) into the page.

- ``GET /verifier/``: the app; ``verifier.js``, ``verifier.css``, ``sw.js`` beside it.
- ``GET /verifier/download``: one self-contained HTML file (script, styles, root and the
  node's current verifier bundle inlined) that works from file:// or a USB stick with no
  network (Service Workers do not run there; the page needs none).

The public trust data (``/api/v1/verifier-bundle``, ``/api/v1/trust-list``,
``/api/v1/status-lists/...``) is answered with ``Access-Control-Allow-Origin: *``, so the
downloaded file (origin ``null``) and an app served by another node can refresh from this
node. It is public and signed; no cookie is ever sent or read with it.

If verifier/dist/ is missing (a checkout without the build), every route answers 503
``verifier.not_built`` saying how to build it, never a 500.
"""

from __future__ import annotations

import base64
from pathlib import Path

from aiohttp import web
from cryptography.hazmat.primitives.serialization import Encoding

from service.api.context import keyring
from service.errors import Unavailable

BUNDLE_PATH = "/api/v1/verifier-bundle"
PUBLIC_TRUST_DATA = (BUNDLE_PATH, "/api/v1/trust-list", "/api/v1/status-lists/")
ROOT_PLACEHOLDER = "__RISAI_ROOT__"
FILES = {"verifier.js": "text/javascript", "verifier.css": "text/css", "sw.js": "text/javascript"}
CSP = "; ".join([
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:",
    "media-src 'self' blob:", "connect-src *", "worker-src 'self'", "manifest-src 'self'",
    "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'", "object-src 'none'",
])
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "Cache-Control": "no-cache"}


def dist_dir() -> Path:
    """verifier/dist of this checkout (found upwards from here, so moving service/ keeps it)."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "verifier" / "package.json").is_file():
            return parent / "verifier" / "dist"
    return Path(__file__).resolve().parents[2] / "verifier" / "dist"


def _read(name: str) -> str:
    path = dist_dir() / name
    if not path.is_file():
        raise Unavailable(f"the verifier app is not built ({path} is missing): run ./dev setup, or "
                          "cd verifier && npm ci && node build.mjs", code="verifier.not_built")
    return path.read_text(encoding="utf-8")


def render_page(root_der: bytes) -> str:
    """The served index.html with ``root_der`` pinned."""
    return _read("index.html").replace(ROOT_PLACEHOLDER, base64.b64encode(root_der).decode("ascii"), 1)


def render_standalone(root_der: bytes, bundle: bytes | None) -> str:
    """One self-contained HTML file: script and styles inlined, root pinned, ``bundle`` embedded."""
    page = render_page(root_der)
    script = _read("verifier.js").replace("</script", "<\\/script")
    style = _read("verifier.css").replace("</style", "<\\/style")
    embedded = "" if bundle is None else (
        f'<script type="application/octet-stream" id="risai-bundle">{base64.b64encode(bundle).decode("ascii")}</script>\n')
    page = _replace_once(page, '<link rel="stylesheet" href="verifier.css">', f"<style>\n{style}</style>")
    return _replace_once(page, '<script src="verifier.js"></script>', f"{embedded}<script>\n{script}</script>")


def _replace_once(text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise Unavailable(f"verifier/dist/index.html lacks {old!r}: rebuild the app", code="verifier.not_built")
    return text.replace(old, new)


def _root_der(request: web.Request) -> bytes:
    return keyring(request).trust_list.root.public_bytes(Encoding.DER)


async def _bundle(request: web.Request) -> bytes | None:
    """The bytes this node serves at /api/v1/verifier-bundle, or None if it serves none."""
    for resource in request.app.router.resources():
        if resource.canonical != BUNDLE_PATH:
            continue
        for route in resource:
            if route.method == "GET":
                response = await route.handler(request)
                return bytes(response.body) if response.status == 200 else None
    return None


async def page(request: web.Request) -> web.Response:
    """GET /verifier/: the app with this federation's root pinned."""
    return web.Response(text=render_page(_root_der(request)), content_type="text/html", headers=HEADERS)


async def asset(request: web.Request) -> web.Response:
    """GET /verifier/{verifier.js, verifier.css, sw.js}."""
    name = request.match_info["name"]
    if name not in FILES:
        raise web.HTTPNotFound()
    return web.Response(text=_read(name), content_type=FILES[name], headers=HEADERS)


async def download(request: web.Request) -> web.Response:
    """GET /verifier/download: the self-contained file, with the node's current bundle."""
    html = render_standalone(_root_der(request), await _bundle(request))
    headers = {**HEADERS, "Content-Disposition": 'attachment; filename="risai-verifier.html"'}
    return web.Response(text=html, content_type="text/html", headers=headers)


async def _public_trust_data(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: let any origin read the public, signed trust data."""
    if request.method == "GET" and request.path.startswith(PUBLIC_TRUST_DATA):
        response.headers.setdefault("Access-Control-Allow-Origin", "*")


async def _redirect(request: web.Request) -> web.Response:
    raise web.HTTPPermanentRedirect("/verifier/")


def setup_verifier(app: web.Application) -> None:
    """Register /verifier/ and its files."""
    app.router.add_get("/verifier", _redirect)
    app.router.add_get("/verifier/", page)
    app.router.add_get("/verifier/download", download)
    app.router.add_get("/verifier/{name}", asset)
    app.on_response_prepare.append(_public_trust_data)
