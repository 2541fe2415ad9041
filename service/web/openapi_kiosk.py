"""The kiosk's part of the OpenAPI document (issue 13): the resident's own calls under
/api/v1/kiosk/. Every one is a signed kiosk request (X-Kiosk-Id, X-Kiosk-Timestamp,
X-Kiosk-Nonce, X-Kiosk-Signature; see service/kiosk/signing.py) with the resident's
X-Kiosk-Session; ids of another household are 403 kiosk.other_household."""

from __future__ import annotations

from typing import Any


def kiosk_paths(op: Any, obj: Any, param: Any, text: dict) -> dict[str, Any]:
    """The kiosk paths, built with service.web.openapi's helpers (reply schemas included)."""
    number = param("number", "path")
    string, objects = {"type": "string"}, {"type": "array", "items": {"type": "object"}}
    application = obj({"application_id": string, "status": string}, ["application_id", "status"])
    return {
        "/api/v1/kiosk/household": {"get": op(
            "The kiosk resident's household and dwellings (with the replication freshness of another town's data)",
            tag="kiosk", reply=obj({"resident": {"type": "object"}, "household": {"type": ["object", "null"]},
                                    "dwellings": objects, "other_town": {"type": "boolean"},
                                    "town_name": {"type": ["string", "null"]},
                                    "freshness": {"type": ["object", "null"]}},
                                   ["resident", "dwellings", "other_town"]))},
        "/api/v1/kiosk/disasters": {"get": op("Disasters that struck the kiosk resident's town", tag="kiosk",
                                              reply=obj({"disasters": objects}, ["disasters"]))},
        "/api/v1/kiosk/applications": {
            "get": op("The kiosk resident's household's applications (status, dates)", tag="kiosk",
                      reply=obj({"applications": {"type": "array", "items": application}}, ["applications"])),
            "post": op("Apply at the kiosk (罹災証明書 for a household dwelling, or 被災証明)", tag="kiosk",
                       ok="201", body=obj({"kind": {"type": "string", "enum": ["risai", "hisai"]},
                                           "dwelling_id": text, "disaster_id": text,
                                           "property": obj({"description": text, "location": text})},
                                          ["disaster_id"]),
                       reply=obj({"application": application, "tracking_code": string},
                                 ["application", "tracking_code"]))},
        "/api/v1/kiosk/applications/{application_id}": {"get": op(
            "One of the household's applications", tag="kiosk", params=[param("application_id", "path")],
            reply=obj({"application": application}, ["application"]))},
        "/api/v1/kiosk/certificates": {"get": op("The household's certificates and their state", tag="kiosk",
                                                 reply=obj({"certificates": objects}, ["certificates"]))},
        "/api/v1/kiosk/certificates/{number}/copies": {"post": op(
            "再交付 at the kiosk: record a copy with the kiosk as place (only a current certificate)",
            tag="kiosk", params=[number], ok="201", body=obj({"copy_reason": text}, ["copy_reason"]),
            reply=obj({"number": string, "copy_no": {"type": "integer"}, "label": string, "copy_reason": string},
                      ["number", "copy_no", "label", "copy_reason"]))},
        "/api/v1/kiosk/certificates/{number}/pdf": {"get": op(
            "The PDF of a 再交付 copy recorded at this kiosk", tag="kiosk", content="application/pdf",
            params=[number, param("copy", schema={"type": "integer"})])},
        # Device enrolment (service/kiosk/enrolment.py): the kiosk asks, a supervisor approves.
        "/api/v1/kiosk-enrolments": {"post": op(
            "A kiosk browser asks to be enrolled with its WebCrypto public key (no login)", tag="kiosk", ok="201",
            body=obj({"public_key_pem": string}, ["public_key_pem"]),
            reply=obj({"enrolment_id": string, "pairing_code": string, "fingerprint": string, "expires_at": string},
                      ["enrolment_id", "pairing_code", "fingerprint", "expires_at"]))},
        "/api/v1/kiosk-enrolments/preview": {"post": op(
            "A waiting enrolment's key fingerprint, by its pairing code (supervisor, admin)", tag="kiosk",
            body=obj({"pairing_code": string}, ["pairing_code"]),
            reply=obj({"fingerprint": string, "requested_at": string}, ["fingerprint", "requested_at"]))},
        "/api/v1/kiosk-enrolments/approve": {"post": op(
            "Approve an enrolment: the device is registered with its public key (supervisor, admin)",
            tag="kiosk", ok="201", body=obj({"pairing_code": string, "kiosk_id": text, "name": text, "centre": text},
                                            ["pairing_code", "kiosk_id", "name", "centre"]),
            reply=obj({"kiosk_id": string, "fingerprint": string}, ["kiosk_id", "fingerprint"]))},
        "/api/v1/kiosk-enrolments/{enrolment_id}": {"get": op(
            "An enrolment's state, polled by the kiosk (pending, approved with its kiosk id, or expired)",
            tag="kiosk", params=[param("enrolment_id", "path")],
            reply=obj({"status": {"type": "string", "enum": ["pending", "approved", "expired"]},
                       "kiosk_id": string, "centre": string}, ["status"]))},
    }
