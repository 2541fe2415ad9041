"""Verification of a QR string (anyone), and the trust list (public, cacheable)."""

from __future__ import annotations

import hashlib
from typing import Any

from aiohttp import web

from certs.boxes import PrintedBoxes
from certs.encoding import decode_certificate
from certs.errors import CertsError
from certs.numbers import CertificateNumber
from certs.state import Issued, Revoked, Superseded
from certs.verify import verify
from service.api.common import now, reply, repository
from service.api.certificates import certificate_status
from service.api.context import keyring
from service.api.status import published
from service.appkeys import SETTINGS
from service.errors import InvalidRequest, Unavailable

MAX_QR = 8192


async def _qr_from(request: web.Request) -> str:
    raw = await request.read()
    if len(raw) > MAX_QR:
        raise InvalidRequest.field("qr", f"longer than {MAX_QR} bytes", "verify.too_long")
    if request.content_type == "application/json":
        import json

        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise InvalidRequest.field("body", "is not valid JSON", "invalid.json") from None
        if not isinstance(body, dict) or not isinstance(body.get("qr"), str):
            raise InvalidRequest.field("qr", "must be the QR string (JPRC1:...)", "invalid.required")
        return body["qr"].strip()
    try:
        return raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise InvalidRequest.field("qr", "must be ASCII (JPRC1:...)", "invalid.type") from None


async def verify_certificate(request: web.Request) -> web.Response:
    """POST /api/v1/verify: the Verdict with every check, superseded/revoked from this node."""
    qr = await _qr_from(request)
    ring = keyring(request)
    statuses: dict[str, Any] = {}
    printed: PrintedBoxes | None = None
    async with repository(request) as repo:
        # verify() is synchronous and calls the lookup once with the decoded number; the
        # status is fetched first from the QR's own number so the lookup is a dict read.
        number = _number_in(qr)
        record = await repo.get("certificate", number) if number is not None else None
        if record is not None:
            statuses[number] = await certificate_status(repo, number)
            # The printed boxes this node holds are checked against the QR's digest too.
            if record.get("printed_boxes") is not None:
                printed = PrintedBoxes.from_record(record["printed_boxes"])

    def lookup(num: CertificateNumber) -> Any:
        status = statuses.get(str(num))
        if status is None:
            return None  # unknown here: the status lists below decide (or it is 確認不能)
        if status["state"] == "revoked":
            return Revoked(status["reason"])
        if status["state"] == "superseded":
            return Superseded(CertificateNumber.parse(status["by"]))
        return Issued()

    # The federation's status lists as this node publishes them (the list's age is shown).
    # With this node's own records too, the stronger state of the two is reported.
    lists = (await published(request)).parsed
    verdict = verify(qr, ring.trust_list, now(), status_lookup=lookup, printed_boxes=printed, status_lists=lists)
    body = verdict.to_dict()
    body["status"] = statuses.get(body["number"]) if body["number"] else None
    return reply(body)


def _number_in(qr: str) -> str | None:
    """The 整理番号 claimed by the QR (unverified: only to fetch its status), or None."""
    try:
        return str(decode_certificate(qr).certificate.number)
    except CertsError:
        return None


async def trust_list(request: web.Request) -> web.Response:
    """GET /api/v1/trust-list: the signed bytes (COSE/CBOR) as published; ETag-cacheable."""
    path = request.app[SETTINGS].keys.trust_list
    if path is None:
        raise Unavailable("this node has no trust list configured", code="keys.not_configured")
    data = path.read_bytes()
    etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300",
               "X-Trust-List-Version": str(keyring(request).trust_list.version)}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=data, content_type="application/cose", headers=headers)
