"""The evacuation-centre kiosk web app (キオスク) at /kiosk/, separate from the counter UI.

Plain ES modules and CSS in service/static_kiosk (no build step, no CDN), like the counter
UI: a kiosk in a shelter may reach nothing but its town's node. A few of the counter UI's
own modules are served here too, under /kiosk/counter/ (dates in JST and 和暦, the DOM
builder, error messages and labels, damage classes), so each rule has one home.

The page's Content-Security-Policy allows requests to this node and to the card bridge on
the kiosk's own loopback (http://127.0.0.1:<port>, see card_bridge/); nothing else. Kiosk
API answers (/api/v1/kiosk/...) carry ``Cache-Control: no-store``: a shared device must
not keep a resident's data in its HTTP cache either.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
KIOSK = ROOT / "static_kiosk"
SHARED = frozenset({"dates", "dom", "messages", "damage"})  # modules (.js) of service/static
TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}
CSP = "; ".join([
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "connect-src 'self' http://127.0.0.1:* http://localhost:*", "frame-src 'none'",
    "form-action 'none'", "base-uri 'none'", "frame-ancestors 'none'", "object-src 'none'",
])
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}


def _file(name: str, shared: bool = False) -> Path:
    if "/" in name or (shared and (Path(name).stem not in SHARED or not name.endswith(".js"))):
        raise web.HTTPNotFound()
    path = (ROOT / "static" if shared else KIOSK) / name
    if path.suffix not in TYPES or not path.is_file():
        raise web.HTTPNotFound()
    return path


async def page(request: web.Request) -> web.Response:
    """GET /kiosk/: the kiosk page."""
    return web.Response(body=_file("index.html").read_bytes(), content_type="text/html", charset="utf-8",
                        headers=HEADERS)


async def asset(request: web.Request) -> web.Response:
    """GET /kiosk/{name}, /kiosk/counter/{name}: its modules, stylesheet, the counter's shared modules."""
    path = _file(request.match_info["name"], shared=request.path.startswith("/kiosk/counter/"))
    return web.Response(body=path.read_bytes(), content_type=TYPES[path.suffix], charset="utf-8",
                        headers=HEADERS)


async def _no_store(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: nothing of a resident's kiosk session in any HTTP cache."""
    if request.path.startswith(("/api/v1/kiosk/", "/api/v1/kiosk-enrolments")):
        response.headers["Cache-Control"] = "no-store"


async def _redirect(request: web.Request) -> web.Response:
    raise web.HTTPPermanentRedirect("/kiosk/")


def setup_kiosk_app(app: web.Application) -> None:
    """Register /kiosk/ and its files."""
    app.router.add_get("/kiosk", _redirect)
    app.router.add_get("/kiosk/", page)
    app.router.add_get("/kiosk/{name}", asset)
    app.router.add_get("/kiosk/counter/{name}", asset)
    app.on_response_prepare.append(_no_store)
