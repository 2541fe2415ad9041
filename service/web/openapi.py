"""The OpenAPI 3.1 document of the node's API, served at GET /api/v1/openapi.json.

Written by hand next to the routes, with a response schema for every operation.
tests/unit/test_api_openapi.py checks that every /api/v1 route of the app is documented and
every documented path is routed; tests/integration/test_openapi_responses.py validates real
responses against the schemas; tests/integration/test_schemathesis.py runs schemathesis.
"""

from __future__ import annotations

from typing import Any

from service.web.openapi_kiosk import kiosk_paths

S = "string"
_STR, _INT, _BOOL = {"type": S}, {"type": "integer"}, {"type": "boolean"}
_NULL_STR = {"type": [S, "null"]}
_STRS = {"type": "array", "items": _STR}
_TEXT = {"type": S, "minLength": 1, "maxLength": 200}
_DATE = {"type": S, "format": "date"}
_NUMBER = {"oneOf": [{"type": "number"}, {"type": S}]}


def _text(max_len: int) -> dict[str, Any]:
    """Non-blank text of at most ``max_len`` characters (the server's Fields.text limit)."""
    return {"type": S, "minLength": 1, "maxLength": max_len}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


def _nullable(name: str) -> dict[str, Any]:
    return {"oneOf": [_ref(name), {"type": "null"}]}


def _all_required(props: dict[str, Any]) -> dict[str, Any]:
    return _obj(props, list(props))


# Response bodies, as the handlers build them (tests/integration/test_openapi_responses.py
# validates real responses against these). Objects may carry more keys than listed.
SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _obj({"error": _all_required({
        "code": _STR, "message": _STR,
        "fields": {"type": "array", "items": _obj({"field": _STR, "reason": _STR, "code": _STR},
                                                  ["field", "reason"])}})}, ["error"]),
    "Staff": _all_required({"staff_id": _STR, "town_code": _STR, "username": _STR, "display_name": _STR,
                            "roles": _STRS}),
    "StaffAccount": {"allOf": [_ref("Staff"), _all_required({
        "disabled": _BOOL, "sessions_not_before": _NULL_STR, "changed_by": _NULL_STR, "changed_at": _NULL_STR})]},
    "Session": _all_required({"staff": _ref("Staff"), "csrf_token": _NULL_STR}),
    "Resident": _obj({"resident_id": _STR, "household_id": _STR, "town_code": _STR, "family_name": _STR,
                      "given_name": _STR, "family_kana": _STR, "given_kana": _STR, "birth_date": _STR,
                      "sex": _INT, "address": _STR, "is_householder": _BOOL},
                     ["resident_id", "household_id", "town_code", "family_name", "is_householder"]),
    "Household": _obj({"household_id": _STR, "town_code": _STR, "householder_id": _STR, "address": _STR},
                      ["household_id", "town_code"]),
    "Dwelling": _obj({"dwelling_id": _STR, "town_code": _STR, "location": _STR, "structure": _STR,
                      "storeys": _INT, "household_ids": _STRS}, ["dwelling_id", "town_code", "location"]),
    "Disaster": _obj({"disaster_id": _STR, "name": _STR, "date": _DATE, "towns": _STRS,
                      "saigai_kyujo_ho": _BOOL, "shien_ho": _BOOL, "created_at": _STR,
                      "created_node": _STR, "created_by": _STR}, ["disaster_id", "name", "date", "towns"]),
    "HistoryEntry": _obj({"status": _STR, "action": _STR, "at": _STR, "node": _STR, "staff": _STR},
                         ["status", "at"]),
    "Application": _obj({
        "application_id": _STR, "kind": {"type": S, "enum": ["risai", "hisai"]}, "status": _STR,
        "applicant_resident_id": _STR, "household_id": _NULL_STR, "competent_town": _STR,
        "dwelling_id": _NULL_STR, "property": {"type": ["object", "null"]},
        "disaster": _obj({"id": _NULL_STR, "name": _STR, "date": _STR}, ["name", "date"]),
        "channel": _STR, "received_node": _STR, "received_town": _STR, "received_at": _STR,
        "survey_id": _NULL_STR, "damage_class": _NULL_STR, "current_certificate": _NULL_STR,
        "certificates": _STRS, "history": _list("HistoryEntry")},
        ["application_id", "kind", "status", "competent_town", "received_at", "certificates", "history"]),
    "Tracking": _obj({"application_id": _STR, "kind": _STR, "status": _STR, "received_at": _STR,
                      "current_certificate": _NULL_STR, "certificates": _STRS,
                      "history": _list("HistoryEntry")},
                     ["application_id", "status", "received_at", "history"]),
    "Survey": _obj({"survey_id": _STR, "dwelling_id": _STR, "kind": _STR, "surveyor": _STR,
                    "surveyed_on": _DATE, "damage_ratio": _NULL_STR, "flood_depth_m": _NULL_STR,
                    "photo_sha256": _STRS, "notes": _STR}, ["survey_id", "kind", "surveyed_on"]),
    "DamageClass": _all_required({"code": _STR, "ja": _STR, "en": _STR}),
    "Certificate": _obj({
        "number": _STR, "application_id": _STR, "cert_type": {"type": S, "enum": ["risai", "hisai"]},
        "qr": _STR, "signed_at": _STR, "issue_date": _DATE, "competent_town": _STR, "issuing_node": _STR,
        "issuing_town": _STR, "on_behalf": _BOOL, "damage_class": _NULL_STR, "supersedes": _NULL_STR,
        "dwelling_id": _NULL_STR, "survey_id": _NULL_STR, "staff_id": _STR,
        "printed_boxes": {"type": "object"}},
        ["number", "application_id", "cert_type", "qr", "signed_at", "competent_town", "issuing_node"]),
    "CertificateStatus": _obj({"state": {"type": S, "enum": ["issued", "revoked", "superseded", "under_review"]},
                               "by": _STR}, ["state"]),
    "Revocation": _obj({"number": _STR, "at": _STR, "node": _STR, "staff_id": _STR, "reason": _STR},
                       ["number", "at", "reason"]),
    "Check": _obj({"name": _STR, "status": {"type": S, "enum": ["pass", "fail", "unknown", "skipped"]},
                   "ja": _STR, "en": _STR}, ["name", "status"]),
    "Verification": _obj({"ok": _BOOL, "verdict": _STR, "verdict_en": _STR, "checks": _list("Check"),
                          "number": _NULL_STR, "signed_at": _NULL_STR, "superseded_by": _NULL_STR,
                          "status": _nullable("CertificateStatus"), "status_list": {"type": ["object", "null"]}},
                         ["ok", "verdict", "checks"]),
    "ImportJob": _obj({"job_id": _STR, "kind": _STR, "state": _STR, "done": _INT,
                       "total": {"type": ["integer", "null"]}, "applied": _INT,
                       "to_apply": {"type": ["integer", "null"]}, "result": {"type": ["object", "null"]},
                       "error": {"type": ["object", "string", "null"]}}, ["job_id", "kind", "state", "done"]),
    "Conflict": _obj({"id": _INT, "kind": _STR, "entity_type": _STR, "entity_id": _STR,
                      "local_version": _STR, "remote_version": _STR, "winner": _STR,
                      "local_state": {"type": ["object", "null"]}, "remote_state": {"type": ["object", "null"]},
                      "detected_at": _STR}, ["id", "entity_type", "entity_id"]),
    "Quarantined": _all_required({
        "id": _INT, "topic": _STR, "partition": _INT, "offset": _INT, "origin": _STR, "reason": _STR,
        "received_at": _STR, "size": _INT, "replayed_at": _NULL_STR, "replayed_by": _NULL_STR,
        "last_tried_at": _NULL_STR, "replay_result": _NULL_STR}),
    "ListPage": _obj({"rows": {"type": "array", "items": {"type": "object"}}, "total": _INT,
                      "total_capped": _BOOL, "next": _NULL_STR}, ["rows", "total", "total_capped", "next"]),
    "SurveyView": {"allOf": [_ref("Survey"), _obj({
        "kind_ja": _STR, "flooding": _NULL_STR, "flooding_ja": _NULL_STR, "damage_class": _ref("DamageClass")},
        ["kind_ja", "damage_class"])]},
    "BatchPrint": _obj({"job_id": _STR, "status": {"type": S, "enum": ["queued", "rendering", "done", "failed"]},
                        "total": _INT, "done": _INT, "pages": _INT, "progress": {"type": "number"},
                        "skipped": {"type": "array", "items": _obj({"number": _STR, "code": _STR, "reason": _STR},
                                                                   ["number", "code", "reason"])},
                        "error": {"type": ["object", "string", "null"]}, "created_at": _STR,
                        "finished_at": _NULL_STR},
                       ["job_id", "status", "total", "done", "pages", "progress", "skipped"]),
    "KioskSession": _obj({"kiosk_id": _STR, "town_code": _STR, "resident_id": _STR, "method": _STR,
                          "expires_at": _STR}, ["kiosk_id", "town_code", "resident_id"]),
}


def _error_codes(codes: tuple[str, ...]) -> dict[str, Any]:
    return {c: {"description": "error", "content": {"application/json": {"schema": _ref("Error")}}}
            for c in codes}


ERRORS = ("400", "401", "403", "404", "409", "413", "415", "422", "429", "503")


def _op(summary: str, *, params: list[dict] | None = None, body: dict | None = None,
        ok: str = "200", tag: str = "counter", content: str = "application/json",
        reply: dict | None = None, again: bool = False, also: dict[str, dict] | None = None) -> dict[str, Any]:
    """One operation: ``reply`` is the success body's schema (JSON), ``again`` adds the 200 of
    an idempotent repeat, ``also`` more success statuses {status: schema}."""
    schema = reply if content == "application/json" else {"type": S, "format": "binary"}
    codes: dict[str, Any] = {ok: {"description": "success", "content": {content: {"schema": schema or {}}}}}
    if again:  # idempotent: a repeat returns what the first call made, with 200
        codes["200"] = {"description": "done before: the existing result",
                        "content": {content: {"schema": schema or {}}}}
    for status, extra in (also or {}).items():
        codes[status] = {"description": "success", "content": {"application/json": {"schema": extra}}}
    if content in ("application/cose", "application/statuslist+cwt", "application/cbor"):  # ETag-cacheable
        codes["304"] = {"description": "not modified (If-None-Match matched the ETag)"}
    codes.update(_error_codes(ERRORS))
    op: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": codes, "parameters": params or []}
    if body is not None:
        op["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
    return op


def _param(name: str, where: str = "query", schema: dict | None = None, required: bool = False) -> dict:
    return {"name": name, "in": where, "required": where == "path" or required,
            "schema": schema or {"type": S}}


APP_ID, NUMBER = _param("application_id", "path"), _param("number", "path")
JOB_ID = _param("job_id", "path")
APPLICANT = _obj({"relationship": {"type": "string", "enum": ["householder", "spouse", "child", "parent", "sibling",
                                                            "grandchild", "grandparent", "other_relative",
                                                            "cohabitant", "other"]},
                   "phone": _TEXT, "contact_address": _TEXT,
                   "delivery": {"type": "string", "enum": ["counter", "mail"]}})
AGENT = _obj({"name": _TEXT, "relation": {"type": "string", "enum": ["household", "relative", "legal", "other"]},
              "phone": _TEXT, "power_of_attorney": {"type": "boolean"}}, ["name", "relation"])
APPLICATION = _obj({
    "kind": {"type": S, "enum": ["risai", "hisai"]}, "applicant_resident_id": _text(64),
    "dwelling_id": _text(64), "town_code": _text(6), "disaster_id": _text(64),
    "channel": {"type": S, "enum": ["counter", "kiosk", "mail"]},
    "disaster": _obj({"name": _text(100), "date": _DATE}, ["name", "date"]),
    "property": _obj({"description": _text(100), "location": _TEXT}, ["description", "location"]),
    "applicant": APPLICANT, "agent": AGENT, "reason": _TEXT}, ["applicant_resident_id"])
SURVEY = _obj({"survey_id": _text(64), "kind": {"type": S, "enum": ["first", "second"]},
               "surveyor_id": _text(64), "surveyed_on": _DATE, "damage_ratio": _NUMBER, "flood_depth_m": _NUMBER,
               "inundation": {"type": S, "enum": ["above_floor", "below_floor"]},
               "photo_sha256": {"type": "array", "items": _STR}, "notes": {"type": S},
               "reason": _TEXT}, ["surveyed_on", "surveyor_id"])
APPLICATION_REPLY = _obj({"application": _ref("Application")}, ["application"])
STAFF_REPLY = _obj({"staff": _ref("StaffAccount")}, ["staff"])
JOB_REPLY = _obj({"job": _ref("ImportJob"), "status_url": _STR}, ["job"])
BATCH_REPLY = _obj({"job": _ref("BatchPrint")}, ["job"])
PAGING = [_param("limit", schema={"type": "integer"}), _param("offset", schema={"type": "integer"})]

_COMMON_FILTERS = [_param(n) for n in ("q", "disaster_id", "after")] + [
    _param("scope", schema={"type": "string", "enum": ["own", "all"]}),
    _param("limit", schema={"type": "integer", "minimum": 1, "maximum": 200})]
APPLICATION_FILTERS = [_param(n) for n in (
    "status", "competent_town", "received_node", "kiosk_id", "channel", "kind", "damage_class", "on_behalf",
    "received_from", "received_to")] + _COMMON_FILTERS
CERTIFICATE_FILTERS = [_param(n) for n in (
    "competent_town", "issuing_node", "issuing_town", "on_behalf", "damage_class", "cert_type", "state",
    "issued_from", "issued_to")] + _COMMON_FILTERS
ENCODING = _param("encoding", schema={"type": "string", "enum": ["utf-8", "cp932"]})


def document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    p, o = _param, _obj
    paths = {
        # ---- staff sessions (service/staff/sessions.py)
        "/api/v1/auth/login": {"post": _op(
            "Log in (JSON from the node's own origin); sets the session cookie", tag="auth",
            body=o({"town_code": _text(6), "username": _text(64), "password": _STR},
                   ["town_code", "username", "password"]), reply=_ref("Session"))},
        "/api/v1/auth/logout": {"post": _op("End this session", tag="auth",
                                            reply=o({"logged_out": _BOOL}, ["logged_out"]))},
        "/api/v1/auth/me": {"get": _op("Who is logged in, and this session's CSRF token", tag="auth",
                                       reply=_ref("Session"))},
        # ---- residents and dwellings
        "/api/v1/residents": {"get": _op(
            "Search residents (name, kana by prefix; birth date; address); other towns' matches need a reason",
            params=[p("name"), p("kana"), p("birth_date"), p("address"), p("town_code"),
                    p("limit", schema={"type": "integer"})],
            reply=o({"residents": _list("Resident"), "count": _INT, "other_town_matches": _INT},
                    ["residents", "count"]))},
        "/api/v1/residents/{resident_id}": {"get": _op(
            "A resident with household and dwellings", params=[p("resident_id", "path")],
            reply=o({"resident": _ref("Resident"), "household": _nullable("Household"),
                     "dwellings": _list("Dwelling")}, ["resident", "dwellings"]))},
        "/api/v1/dwellings": {"get": _op("Search dwellings", params=[
            p("address"), p("household_id"), p("resident_id"), p("town_code"), p("limit", schema={"type": "integer"})],
            reply=o({"dwellings": _list("Dwelling"), "count": _INT}, ["dwellings", "count"]))},
        "/api/v1/dwellings/{dwelling_id}": {"get": _op(
            "A dwelling with surveys and applications", params=[p("dwelling_id", "path")],
            reply=o({"dwelling": _ref("Dwelling"), "surveys": _list("Survey"),
                     "applications": {"type": "array", "items": {"type": "object"}}},
                    ["dwelling", "surveys", "applications"]))},
        # ---- disasters
        "/api/v1/disasters": {
            "get": _op("The disaster registry, newest first",
                       reply=o({"disasters": _list("Disaster")}, ["disasters"])),
            "post": _op("Register a disaster (supervisor); a future date is refused", ok="201", body=o({
                "name": _text(100), "date": _DATE, "towns": {"type": "array", "items": _STR, "maxItems": 200},
                "saigai_kyujo_ho": _BOOL, "shien_ho": _BOOL}, ["name", "date", "towns"]),
                reply=o({"disaster": _ref("Disaster")}, ["disaster"]))},
        "/api/v1/disasters/{disaster_id}": {"get": _op(
            "One disaster", params=[p("disaster_id", "path")],
            reply=o({"disaster": _ref("Disaster")}, ["disaster"]))},
        # ---- applications, surveys, judgement
        "/api/v1/applications": {
            "post": _op("Receive an application (any node)", body=APPLICATION, ok="201",
                        reply=o({"application": _ref("Application"), "tracking_code": _STR},
                                ["application", "tracking_code"])),
            "get": _op("申請一覧: filtered, keyset-paged, with the total", params=APPLICATION_FILTERS,
                       reply=_ref("ListPage"))},
        "/api/v1/certificates": {"get": _op("交付台帳: filtered, keyset-paged, with the total",
                                            params=CERTIFICATE_FILTERS, reply=_ref("ListPage"))},
        "/api/v1/exports/applications": {"get": _op("申請一覧 as CSV (UTF-8 with BOM or CP932)",
                                                    params=[*APPLICATION_FILTERS, ENCODING], content="text/csv")},
        "/api/v1/exports/certificates": {"get": _op("交付台帳 as CSV (UTF-8 with BOM or CP932)",
                                                    params=[*CERTIFICATE_FILTERS, ENCODING], content="text/csv")},
        "/api/v1/reports/daikou": {"get": _op(
            "代行 report: what other towns' nodes did in a town's name", params=[p("town")],
            reply=o({"town": _STR, "by_day": {"type": "array", "items": {"type": "object"}},
                     "by_node": {"type": "array", "items": {"type": "object"}},
                     "certificates": {"type": "array", "items": {"type": "object"}}, "certificates_total": _INT,
                     "applications": {"type": "array", "items": {"type": "object"}}, "applications_total": _INT,
                     "audits": {"type": ["array", "null"], "items": {"type": "object"}}},
                    ["town", "by_day", "by_node", "certificates", "applications"]))},
        "/api/v1/statistics": {"get": _op(
            "集計 by damage class, 大字, day and node", params=[
                p("scope", schema={"type": S, "enum": ["town", "node"]}), p("town")],
            reply=o({"scope": _STR, "town": _NULL_STR, "node": _NULL_STR,
                     **{k: {"type": "array", "items": {"type": "object"}} for k in (
                         "applications_by_class", "certificates_by_class", "by_district", "applications_by_day",
                         "certificates_by_day", "applications_by_node", "certificates_by_node")}},
                    ["scope", "applications_by_class", "certificates_by_class", "by_district"]))},
        "/api/v1/applications/{application_id}": {"get": _op(
            "An application (staff view)", params=[APP_ID], reply=APPLICATION_REPLY)},
        "/api/v1/applications/{application_id}/tracking": {"get": _op(
            "Track an application with its tracking code (no login)", params=[APP_ID, p("code", required=True)],
            tag="public", reply=o({"application": _ref("Tracking")}, ["application"]))},
        "/api/v1/tracking": {"get": _op(
            "Track an application with its tracking code alone (no login; case, spaces, dashes ignored)",
            params=[p("code", required=True)], tag="public",
            reply=o({"application": _ref("Tracking")}, ["application"]))},
        "/api/v1/applications/{application_id}/surveys": {
            "post": _op("Enter a new survey record (一次 or 二次; the surveyor is a staff account)",
                        params=[APP_ID], body=SURVEY, ok="201",
                        reply=o({"survey": _ref("SurveyView"), "application": _ref("Application")},
                                ["survey", "application"])),
            "get": _op("The application's surveys (oldest first), 再調査 requests and judgement",
                       params=[APP_ID], reply=o({"surveys": _list("SurveyView"), "judgement": {"type": ["object", "null"]},
                                                 "resurvey_requests": {"type": "array", "items": {"type": "object"}},
                                                 "status": _STR}, ["surveys", "resurvey_requests", "status"]))},
        "/api/v1/surveyors": {"get": _op(
            "Active staff with the surveyor role (the picker)",
            reply=o({"surveyors": {"type": "array", "items": o({"staff_id": _STR, "display_name": _STR,
                                                                 "town_code": _STR},
                                                                ["staff_id", "display_name", "town_code"])}},
                    ["surveyors"]))},
        "/api/v1/applications/{application_id}/judgement": {"post": _op(
            "Judge: the class is derived from the survey, never given (supervisor)", params=[APP_ID],
            body=o({"survey_id": _text(64), "reason": _TEXT}),
            reply=o({"application": _ref("Application"), "damage_class": _ref("DamageClass")},
                    ["application", "damage_class"]))},
        "/api/v1/applications/{application_id}/certificate": {"post": _op(
            "Issue the certificate (durable steps; idempotent)", params=[APP_ID],
            body=o({"place": _text(100), "reason": _TEXT}), ok="201", again=True,
            reply=o({"certificate": _ref("Certificate"), "existing": _BOOL,
                     "replication": {"type": S, "enum": ["acknowledged", "pending", "local-only", "not configured", "already issued"]}},
                    ["certificate", "existing", "replication"]))},
        "/api/v1/applications/{application_id}/resurvey-request": {"post": _op(
            "Request a re-survey (再調査) with its reason", params=[APP_ID],
            body=o({"resurvey_reason": _text(500), "note": _text(500), "reason": _TEXT}), reply=APPLICATION_REPLY)},
        "/api/v1/applications/{application_id}/withdrawal": {"post": _op(
            "申請取下げ: withdraw before issuance, with its reason", params=[APP_ID],
            body=o({"withdraw_reason": _TEXT, "reason": _TEXT}, ["withdraw_reason"]), reply=APPLICATION_REPLY)},
        "/api/v1/applications/{application_id}/applicant": {"post": _op(
            "Correct the applicant's 続柄, contact or agent (代理人, 委任状)", params=[APP_ID],
            body=o({"applicant": APPLICANT, "agent": AGENT, "reason": _TEXT}), reply=APPLICATION_REPLY)},
        "/api/v1/batch-prints": {"post": _op(
            "一括印刷: start a batch PDF of the certificates issued on a day here (optionally only 郵送交付), "
            "or of given numbers; a background job", body=o({
                "issued_on": _DATE, "delivery": {"type": S, "enum": ["counter", "mail"]},
                "numbers": {"type": "array", "items": _TEXT}, "reason": _TEXT}), ok="202", reply=BATCH_REPLY)},
        "/api/v1/batch-prints/{job_id}": {"get": _op("A batch print's progress", params=[JOB_ID], reply=BATCH_REPLY)},
        "/api/v1/batch-prints/{job_id}/pdf": {"get": _op("The finished batch PDF", params=[JOB_ID],
                                                         content="application/pdf")},
        # ---- certificates
        "/api/v1/certificates/{number}": {"get": _op(
            "A certificate and its status", params=[NUMBER],
            reply=o({"certificate": _ref("Certificate"), "status": _ref("CertificateStatus"), "copies": _INT},
                    ["certificate", "status", "copies"]))},
        "/api/v1/certificates/{number}/pdf": {"get": _op(
            "The unified-form PDF, rendered on demand; refused (409) for a revoked or superseded certificate "
            "unless archive=true (supervisor/auditor)", params=[NUMBER, p("copy", schema={"type": "integer"}),
                                                                p("archive", schema={"type": "boolean"})],
            content="application/pdf")},
        "/api/v1/certificates/{number}/copies": {"post": _op(
            "再交付: a copy (same number)", params=[NUMBER],
            body=o({"copy_reason": {"type": S, "enum": ["紛失", "汚損", "追加"]}, "reason": _TEXT}), ok="201",
            reply=o({"number": _STR, "copy_no": _INT, "label": _STR, "copy_reason": _STR, "qr": _STR},
                    ["number", "copy_no", "label", "copy_reason", "qr"]))},
        "/api/v1/certificates/{number}/revoke": {"post": _op(
            "Revoke (supervisor; idempotent)", params=[NUMBER], body=o({"reason": _text(500)}, ["reason"]),
            ok="201", again=True, reply=o({"revocation": _ref("Revocation")}, ["revocation"]))},
        # ---- verification (public)
        "/api/v1/verify": {"post": _op("Verify a QR string: every check, with this node's status",
                                       body=o({"qr": _STR}, ["qr"]), tag="public", reply=_ref("Verification"))},
        "/api/v1/trust-list": {"get": _op("The signed trust list (cacheable)", tag="public",
                                          content="application/cose")},
        "/api/v1/status-lists/{node_id}": {"get": _op(
            "Signed status list of one issuing node (失効/差替え/確認中; ETag, cacheable)",
            params=[p("node_id", "path")], tag="public", content="application/statuslist+cwt")},
        "/api/v1/verifier-bundle": {"get": _op(
            "Verifier bundle: pinned root, trust list and every status list in one file (offline verifiers)",
            tag="public", content="application/cbor")},
        # ---- imports
        "/api/v1/imports": {"post": {**_op(
            "Import a CSV file (raw body or multipart); 202 with a job to poll, or 201 when finished (wait=true)",
            params=[p("kind", required=True, schema={"type": S, "enum": ["residents", "dwellings", "surveys"]}),
                    p("wait"), p("encoding")], ok="202", reply=JOB_REPLY, also={"201": JOB_REPLY}),
            "requestBody": {"required": False, "content": {"text/csv": {"schema": {"type": S}}}}}},
        "/api/v1/imports/{job_id}": {"get": _op("Import progress and result", params=[p("job_id", "path")],
                                                reply=o({"job": _ref("ImportJob")}, ["job"]))},
        "/api/v1/imports/{job_id}/resume": {"post": _op("Resume an import left applying (after a crash)",
                                                        params=[p("job_id", "path")], ok="202", reply=JOB_REPLY)},
        # ---- replication review
        "/api/v1/conflicts": {"get": _op("Open replication conflicts", params=[p("entity_type"), *PAGING],
                                         reply=o({"conflicts": _list("Conflict"), "open": _INT}, ["conflicts", "open"]))},
        "/api/v1/conflicts/{conflict_id}/resolve": {"post": _op(
            "Close a conflict after review (supervisor)", params=[p("conflict_id", "path", {"type": "integer"})],
            body=o({"resolution": _text(2000)}, ["resolution"]),
            reply=o({"conflict": _ref("Conflict")}, ["conflict"]))},
        "/api/v1/replication/freshness": {"get": _op(
            "Replication lag per origin node",
            reply=o({"node": _STR, "origins": {"type": "array", "items": {"type": "object"}}}, ["node", "origins"]))},
        "/api/v1/replication/quarantine": {"get": _op(
            "Quarantined replication events (open, or replayed=true)",
            params=[p("replayed", schema={"type": S, "enum": ["true", "false"]}), *PAGING],
            reply=o({"quarantine": _list("Quarantined"), "open": _INT}, ["quarantine", "open"]))},
        "/api/v1/replication/quarantine/{quarantine_id}/replay": {"post": _op(
            "Verify a quarantined event again with the current keys and apply it (supervisor, admin; idempotent)",
            params=[p("quarantine_id", "path", {"type": "integer"})],
            reply=o({"quarantined": _ref("Quarantined"), "applied": _BOOL}, ["quarantined", "applied"]))},
        # ---- staff accounts (admin)
        "/api/v1/staff": {
            "get": _op("The admin's town's staff accounts", tag="admin",
                       reply=o({"town_code": _STR, "staff": _list("StaffAccount")}, ["town_code", "staff"])),
            "post": _op("Add a staff account to the admin's town", tag="admin", ok="201", body=o({
                "username": _text(64), "display_name": _text(100), "roles": _STRS,
                "password": {"type": S, "minLength": 10, "maxLength": 1024}}, ["username", "roles", "password"]),
                reply=STAFF_REPLY)},
        "/api/v1/staff/{staff_id}": {"post": _op(
            "Change roles, display name or disabled (disabling ends the account's sessions everywhere)",
            tag="admin", params=[p("staff_id", "path")],
            body=o({"roles": _STRS, "display_name": _text(100), "disabled": _BOOL}), reply=STAFF_REPLY)},
        "/api/v1/staff/{staff_id}/password": {"post": _op(
            "Reset a password (ends the account's sessions everywhere)", tag="admin",
            params=[p("staff_id", "path")],
            body=o({"password": {"type": S, "minLength": 10, "maxLength": 1024}}, ["password"]), reply=STAFF_REPLY)},
        # ---- kiosks (service/api/kiosk_identity.py): devices sign requests (X-Kiosk-Id, X-Kiosk-Signature)
        "/api/v1/kiosks": {"post": _op(
            "Register a kiosk device's public key (supervisor)", tag="kiosk", ok="201",
            body=o({"kiosk_id": _text(64), "name": _text(100), "public_key_pem": _STR},
                   ["kiosk_id", "name", "public_key_pem"]), reply=o({"kiosk_id": _STR}, ["kiosk_id"]))},
        "/api/v1/card-cas": {"post": _op(
            "Trust a resident-card CA certificate (supervisor)", tag="kiosk", ok="201",
            body=o({"certificate_pem": _STR}, ["certificate_pem"]),
            reply=o({"fingerprint_sha256": _STR}, ["fingerprint_sha256"]))},
        "/api/v1/application-codes": {"post": _op(
            "A one-time code for a resident to identify at a kiosk (clerk)", tag="kiosk", ok="201",
            body=o({"town_code": _text(6), "resident_id": _text(64), "reason": _TEXT}, ["town_code", "resident_id"]),
            reply=o({"code": _STR, "town_code": _STR, "resident_id": _STR, "expires_at": _STR},
                    ["code", "expires_at"]))},
        "/api/v1/kiosk/challenge": {"get": _op(
            "A challenge for the resident's card to sign (signed kiosk request)", tag="kiosk",
            reply=o({"challenge": _STR, "expires_at": _STR}, ["challenge", "expires_at"]))},
        "/api/v1/kiosk/identify": {"post": _op(
            "Identify with the card's signature of the challenge; opens a kiosk session", tag="kiosk",
            body=o({"challenge": _STR, "card_certificate": _STR, "signature": _STR},
                   ["challenge", "card_certificate", "signature"]),
            reply={"allOf": [_ref("KioskSession"), o({"session_token": _STR}, ["session_token"])]})},
        "/api/v1/kiosk/redeem": {"post": _op(
            "Identify with a one-time code from the counter; opens a kiosk session", tag="kiosk",
            body=o({"code": _STR}, ["code"]),
            reply={"allOf": [_ref("KioskSession"), o({"session_token": _STR}, ["session_token"])]})},
        "/api/v1/kiosk/me": {"get": _op("The kiosk session's resident", tag="kiosk", reply=_ref("KioskSession"))},
        "/api/v1/kiosk/logout": {"post": _op("End the kiosk session", tag="kiosk",
                                             reply=o({"logged_out": _BOOL}, ["logged_out"]))},
    }
    paths.update(kiosk_paths(_op, _obj, _param, _TEXT))
    return {"openapi": "3.1.0",
            "info": {"title": "risai node counter API", "version": "1",
                     "description": "罹災証明書 federation node. Staff endpoints need a session cookie "
                                    "(POST /api/v1/auth/login) and X-CSRF-Token on POST. Access to another "
                                    "town's residents needs X-Access-Reason (percent-encoded) and is audited. "
                                    "Every error is {error: {code, message, fields}}."},
            "paths": paths, "components": {"schemas": SCHEMAS}}
