"""The kiosk's part of the OpenAPI document (issue 13): the resident's own calls under
/api/v1/kiosk/. Every one is a signed kiosk request (X-Kiosk-Id, X-Kiosk-Timestamp,
X-Kiosk-Nonce, X-Kiosk-Signature; see service/kiosk/signing.py) with the resident's
X-Kiosk-Session; ids of another household are 403 kiosk.other_household."""

from __future__ import annotations

from typing import Any


def kiosk_paths(op: Any, obj: Any, param: Any, text: dict) -> dict[str, Any]:
    """The kiosk paths, built with service.web.openapi's helpers."""
    number = param("number", "path")
    return {
        "/api/v1/kiosk/household": {"get": op("The kiosk resident's household and dwellings (with the "
                                              "replication freshness of another town's data)", tag="kiosk")},
        "/api/v1/kiosk/disasters": {"get": op("Disasters that struck the kiosk resident's town", tag="kiosk")},
        "/api/v1/kiosk/applications": {
            "get": op("The kiosk resident's household's applications (status, dates)", tag="kiosk"),
            "post": op("Apply at the kiosk (罹災証明書 for a household dwelling, or 被災証明)", tag="kiosk",
                       ok="201", body=obj({"kind": {"type": "string", "enum": ["risai", "hisai"]},
                                           "dwelling_id": text, "disaster_id": text,
                                           "property": obj({"description": text, "location": text})},
                                          ["disaster_id"]))},
        "/api/v1/kiosk/applications/{application_id}": {"get": op(
            "One of the household's applications", tag="kiosk", params=[param("application_id", "path")])},
        "/api/v1/kiosk/certificates": {"get": op("The household's certificates and their state", tag="kiosk")},
        "/api/v1/kiosk/certificates/{number}/copies": {"post": op(
            "再交付 at the kiosk: record a copy with the kiosk as place (only a current certificate)",
            tag="kiosk", params=[number], ok="201", body=obj({"copy_reason": text}, ["copy_reason"]))},
        "/api/v1/kiosk/certificates/{number}/pdf": {"get": op(
            "The PDF of a 再交付 copy recorded at this kiosk", tag="kiosk", content="application/pdf",
            params=[number, param("copy", schema={"type": "integer"})])},
    }
