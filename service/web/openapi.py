"""The OpenAPI 3.0 document of the counter API, served at GET /api/v1/openapi.json.

Written by hand next to the routes (service/api/routes.py); tests/integration/
test_schemathesis.py runs schemathesis against it and tests/unit/test_api_openapi.py
checks that every route is documented and every documented path is routed.
"""

from __future__ import annotations

from typing import Any

from service.web.openapi_kiosk import kiosk_paths

_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message", "fields"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                   "fields": {"type": "array", "items": {"type": "object"}}}}}}
_TEXT = {"type": "string", "minLength": 1, "maxLength": 200}
_DATE = {"type": "string", "format": "date"}
_NUMBER = {"oneOf": [{"type": "number"}, {"type": "string"}]}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


def _param(name: str, where: str = "query", schema: dict | None = None, required: bool = False) -> dict:
    return {"name": name, "in": where, "required": where == "path" or required,
            "schema": schema or {"type": "string"}}


def _op(summary: str, *, params: list[dict] | None = None, body: dict | None = None,
        ok: str = "200", tag: str = "counter", content: str = "application/json",
        again: bool = False) -> dict[str, Any]:
    codes = {ok: {"description": "success", "content": {content: {"schema": {}}}}}
    if again:  # idempotent: a repeat returns what the first call made, with 200
        codes["200"] = {"description": "done before: the existing result", "content": {content: {"schema": {}}}}
    for code in ("400", "401", "403", "404", "409", "422", "503"):
        codes[code] = {"description": "error", "content": {"application/json": {"schema": _ERROR}}}
    op: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": codes, "parameters": params or []}
    if body is not None:
        op["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
    return op


APP_ID, NUMBER = _param("application_id", "path"), _param("number", "path")
APPLICATION = _obj({
    "kind": {"type": "string", "enum": ["risai", "hisai"]}, "applicant_resident_id": _TEXT,
    "dwelling_id": _TEXT, "town_code": _TEXT, "disaster_id": _TEXT, "channel": {"type": "string", "enum": ["counter", "kiosk", "mail"]},
    "disaster": _obj({"name": _TEXT, "date": _DATE}, ["name", "date"]),
    "property": _obj({"description": _TEXT, "location": _TEXT}, ["description", "location"]),
    "reason": _TEXT}, ["applicant_resident_id"])
SURVEY = _obj({"survey_id": _TEXT, "kind": {"type": "string", "enum": ["first", "second"]},
               "surveyed_on": _DATE, "damage_ratio": _NUMBER, "flood_depth_m": _NUMBER,
               "photo_sha256": {"type": "array", "items": {"type": "string"}}, "notes": {"type": "string"},
               "reason": _TEXT}, ["surveyed_on"])


def document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    p = _param
    paths = {
        "/api/v1/residents": {"get": _op("Search residents (name, kana by prefix; birth date; address)", params=[
            p("name"), p("kana"), p("birth_date"), p("address"), p("town_code"),
            p("limit", schema={"type": "integer"})])},
        "/api/v1/residents/{resident_id}": {"get": _op("A resident with household and dwellings",
                                                       params=[p("resident_id", "path")])},
        "/api/v1/dwellings": {"get": _op("Search dwellings", params=[
            p("address"), p("household_id"), p("resident_id"), p("town_code"), p("limit", schema={"type": "integer"})])},
        "/api/v1/dwellings/{dwelling_id}": {"get": _op("A dwelling with surveys and applications",
                                                       params=[p("dwelling_id", "path")])},
        "/api/v1/disasters": {
            "get": _op("The disaster registry, newest first"),
            "post": _op("Register a disaster (supervisor); a future date is refused", ok="201", body=_obj({
                "name": _TEXT, "date": _DATE, "towns": {"type": "array", "items": {"type": "string"}},
                "saigai_kyujo_ho": {"type": "boolean"}, "shien_ho": {"type": "boolean"}},
                ["name", "date", "towns"]))},
        "/api/v1/disasters/{disaster_id}": {"get": _op("One disaster", params=[p("disaster_id", "path")])},
        "/api/v1/applications": {"post": _op("Receive an application (any node)", body=APPLICATION, ok="201")},
        "/api/v1/applications/{application_id}": {"get": _op("An application (staff view)", params=[APP_ID])},
        "/api/v1/applications/{application_id}/tracking": {"get": _op(
            "Track an application with its tracking code (no login)", params=[APP_ID, p("code", required=True)],
            tag="public")},
        "/api/v1/tracking": {"get": _op(
            "Track an application with its tracking code alone (no login; case, spaces, dashes ignored)",
            params=[p("code", required=True)], tag="public")},
        "/api/v1/applications/{application_id}/surveys": {"post": _op("Enter a survey (surveyor)", params=[APP_ID],
                                                                      body=SURVEY, ok="201")},
        "/api/v1/applications/{application_id}/judgement": {"post": _op(
            "Judge: the class is derived from the survey, never given (supervisor)", params=[APP_ID],
            body=_obj({"survey_id": _TEXT, "reason": _TEXT}))},
        "/api/v1/applications/{application_id}/certificate": {"post": _op(
            "Issue the certificate (durable steps; idempotent)", params=[APP_ID],
            body=_obj({"place": _TEXT, "reason": _TEXT}), ok="201", again=True)},
        "/api/v1/applications/{application_id}/resurvey-request": {"post": _op(
            "Request a re-survey", params=[APP_ID], body=_obj({"note": _TEXT, "reason": _TEXT}))},
        "/api/v1/certificates/{number}": {"get": _op("A certificate and its status", params=[NUMBER])},
        "/api/v1/certificates/{number}/pdf": {"get": _op(
            "The unified-form PDF, rendered on demand; refused (409) for a revoked or superseded certificate "
            "unless archive=true (supervisor/auditor)", params=[NUMBER, p("copy", schema={"type": "integer"}),
                                                                p("archive", schema={"type": "boolean"})],
            content="application/pdf")},
        "/api/v1/certificates/{number}/copies": {"post": _op(
            "再交付: a copy (same number)", params=[NUMBER], body=_obj({"reason": _TEXT}), ok="201")},
        "/api/v1/certificates/{number}/revoke": {"post": _op(
            "Revoke (supervisor; idempotent)", params=[NUMBER], body=_obj({"reason": _TEXT}, ["reason"]),
            ok="201", again=True)},
        "/api/v1/verify": {"post": _op("Verify a QR string: every check, with this node's status",
                                       body=_obj({"qr": {"type": "string"}}, ["qr"]), tag="public")},
        "/api/v1/trust-list": {"get": _op("The signed trust list (cacheable)", tag="public",
                                          content="application/cose")},
        "/api/v1/status-lists/{node_id}": {"get": _op(
            "Signed status list of one issuing node (失効/差替え/確認中; ETag, cacheable)",
            params=[p("node_id", "path")], tag="public", content="application/statuslist+cwt")},
        "/api/v1/verifier-bundle": {"get": _op(
            "Verifier bundle: pinned root, trust list and every status list in one file (offline verifiers)",
            tag="public", content="application/cbor")},
        "/api/v1/imports": {"post": {**_op("Import a CSV file (raw body or multipart)", params=[
            p("kind", required=True, schema={"type": "string", "enum": ["residents", "dwellings", "surveys"]}),
            p("wait"), p("encoding")], ok="202"), "requestBody": {"required": False, "content": {
                "text/csv": {"schema": {"type": "string"}}}}}},
        "/api/v1/imports/{job_id}": {"get": _op("Import progress and result", params=[p("job_id", "path")])},
        "/api/v1/imports/{job_id}/resume": {"post": _op("Resume an import left applying (after a crash)",
                                                        params=[p("job_id", "path")], ok="202")},
        "/api/v1/conflicts": {"get": _op("Open replication conflicts", params=[
            p("entity_type"), p("limit", schema={"type": "integer"}), p("offset", schema={"type": "integer"})])},
        "/api/v1/conflicts/{conflict_id}/resolve": {"post": _op(
            "Close a conflict after review (supervisor)", params=[p("conflict_id", "path")],
            body=_obj({"resolution": _TEXT}, ["resolution"]))},
        "/api/v1/replication/freshness": {"get": _op("Replication lag per origin node")},
    }
    paths.update(kiosk_paths(_op, _obj, _param, _TEXT))
    return {"openapi": "3.0.3",
            "info": {"title": "risai node counter API", "version": "1",
                     "description": "罹災証明書 federation node. Staff endpoints need a session cookie "
                                    "(POST /api/v1/auth/login) and X-CSRF-Token on POST. Access to another "
                                    "town's residents needs X-Access-Reason (percent-encoded) and is audited."},
            "paths": paths}
