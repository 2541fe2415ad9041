"""The OpenAPI document covers exactly the node's /api/v1 routes, each with a response schema."""

from __future__ import annotations

from pathlib import Path

from service.web import openapi
from service.web.app import create_app
from tests.support.counter import node_settings


def _routed() -> set[tuple[str, str]]:
    app = create_app(node_settings("postgresql://nobody@127.0.0.1:9/none", Path("/nonexistent")))
    return {(r.method.lower(), r.resource.canonical) for r in app.router.routes()
            if r.method != "HEAD" and r.resource.canonical.startswith("/api/v1/")
            and r.resource.canonical != "/api/v1/openapi.json"}


def test_every_route_is_documented_and_every_documented_path_is_routed():
    documented = {(m, path) for path, ops in openapi.document()["paths"].items() for m in ops}
    assert _routed() == documented


def test_every_success_reply_has_a_schema_and_every_error_the_error_shape():
    for path, ops in openapi.document()["paths"].items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                for content_type, media in response.get("content", {}).items():
                    schema = media.get("schema")
                    assert schema, (method, path, status, content_type)
                    if status >= "400":
                        assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_every_reference_resolves():
    document = openapi.document()
    names = set(document["components"]["schemas"])
    import json
    import re

    refs = set(re.findall(r'"#/components/schemas/([A-Za-z]+)"', json.dumps(document)))
    assert refs <= names, refs - names
