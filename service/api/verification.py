"""Verification of a QR string (anyone), and the trust list (public, cacheable)."""

from __future__ import annotations

import hashlib

from aiohttp import web

from certs.verify import UNKNOWN
from service.api.common import now, reply, repository
from service.api.context import keyring
from service.api.status import published
from service.counter import certificates
from service.errors import InvalidRequest, Unavailable
from service.web.appkeys import SETTINGS

MAX_QR = 8192



async def _qr_from(request: web.Request) -> str:
    raw = await request.read()
    if len(raw) > MAX_QR:
        raise InvalidRequest.about("qr", f"longer than {MAX_QR} bytes", "verify.too_long")
    if request.content_type == "application/json":
        import json

        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise InvalidRequest.about("body", "is not valid JSON", "invalid.json") from None
        if not isinstance(body, dict) or not isinstance(body.get("qr"), str):
            raise InvalidRequest.about("qr", "must be the QR string (JPRC1:...)", "invalid.required")
        return body["qr"].strip()
    try:
        return raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise InvalidRequest.about("qr", "must be ASCII (JPRC1:...)", "invalid.type") from None


async def verify_certificate(request: web.Request) -> web.Response:
    """POST /api/v1/verify: the Verdict with every check, superseded/revoked from this node."""
    qr = await _qr_from(request)
    ring = keyring(request)
    # The federation's status lists as this node publishes them (under review and the
    # list's age come from there). Fetched before this request takes its connection: the
    # cache may need one of its own, and a request never holds two.
    # The build the background refresh keeps (never waiting for one); when it cannot say (a
    # certificate newer than the build, an expired list), once more with a fresh check.
    for fresh in (False, True):
        lists = (await published(request, fresh=fresh)).parsed
        async with repository(request) as repo:
            body = await certificates.verify_here(repo, qr, ring.trust_list, now(), status_lists=lists)
        if body.get("verdict") != UNKNOWN:
            break
    return reply(body)


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
