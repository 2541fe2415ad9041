"""The OpenAPI document covers exactly the routes setup_api registers."""

from __future__ import annotations

from aiohttp import web

from service.web import openapi
from service.api.routes import setup_api


def test_every_route_is_documented_and_every_documented_path_is_routed():
    app = web.Application()
    setup_api(app)
    routed = {(r.method.lower(), r.resource.canonical) for r in app.router.routes()
              if r.method != "HEAD" and r.resource.canonical != "/api/v1/openapi.json"}
    documented = {(m, path) for path, ops in openapi.document()["paths"].items() for m in ops}
    assert routed == documented
