"""The counter web UI for staff (窓口画面): static files served by the node itself.

No build step and no CDN: index.html, ES modules and CSS in service/static, because a
counter in a damaged town may have no internet at all, only the node. The UI calls the
JSON API (/api/v1) with the session cookie and the CSRF token from the login reply.

Every UI response carries a strict Content-Security-Policy: scripts only from this
origin (no inline script, no eval), styles only from files, requests only to this
origin, and the page cannot be framed (clickjacking a counter that issues certificates).

Two small read-only helpers live here because the UI needs them and the API does not yet
give them: ``GET /ui/towns`` (town names and mayors from the signed trust list) and
``GET /ui/certificates/{number}/content`` (the printed content decoded from the stored
QR, behind the same role check and audit as the API's certificate read).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from aiohttp import web

from certs.errors import PkiError
from certs.pki import delegation_of, kid_of
from service.api.certificates import get_certificate
from service.api.context import keyring
from service.counter.certificate_records import CertificateRecord
from service.counter.certificates import printed_content
from service.web.appkeys import POOL, SETTINGS

STATIC = Path(__file__).resolve().parent.parent / "static"

CSP = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "frame-src 'self' blob:",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Revalidate every time (ETag/Last-Modified): a node upgrade must reach every counter.
    "Cache-Control": "no-cache",
}


def _is_ui(path: str) -> bool:
    return path == "/" or path.startswith("/ui/")


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: the UI's headers on every UI response (static files too)."""
    if _is_ui(request.path):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)


async def index(request: web.Request) -> web.FileResponse:
    """GET /: the single page."""
    return web.FileResponse(STATIC / "index.html", headers={"Content-Type": "text/html; charset=utf-8"})


async def towns(request: web.Request) -> web.Response:
    """GET /ui/towns: code → name, mayor, the nodes that may issue in its name now, and
    whether this node is one of them (all from the trust list: public data, like the list).

    The counter says at the start of a case when this node cannot issue for a town
    (「この町の証明書はこのノードでは交付できません」), and names the nodes that can.
    """
    trust_list = keyring(request).trust_list
    issuers = current_issuers(trust_list, dt.datetime.now(dt.timezone.utc))
    here = request.app[SETTINGS].node.id
    body = {t.code: {"name": t.name, "mayor": t.mayor, "issuers": sorted(issuers.get(t.code, ())),
                     "here": here in issuers.get(t.code, ())} for t in trust_list.towns}
    return web.json_response({"towns": body, "node_id": here}, dumps=_dumps)


def current_issuers(trust_list, now: dt.datetime) -> dict[str, set[str]]:
    """town code → node ids holding a delegation valid at ``now`` and not revoked."""
    out: dict[str, set[str]] = {}
    for cert in trust_list.delegations:
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            continue
        if trust_list.key_revocation(kid_of(cert)) is not None:
            continue
        try:
            delegation = delegation_of(cert)
        except PkiError:
            continue
        out.setdefault(delegation.town_code, set()).add(delegation.node_id)
    return out


async def certificate_content(request: web.Request) -> web.Response:
    """GET /ui/certificates/{number}/content: the API's certificate read plus its content.

    The stored QR is the source of the printed content (the PDF is rendered the same
    way), so the mayor and the issuing place shown here are exactly what is certified.
    """
    response = await get_certificate(request)  # role check, 404 and audit happen there
    body = json.loads(response.body)
    cert = printed_content(CertificateRecord.from_state(body["certificate"]))
    body["content"] = {
        "householder_name": cert.householder_name,
        "householder_address": cert.householder_address,
        "dwelling_address": cert.dwelling_address,
        "disaster": {"name": cert.disaster.name, "date": cert.disaster.date.isoformat()},
        "competent_town": {"code": cert.competent_town.code, "name": cert.competent_town.name,
                           "mayor": cert.competent_town.mayor},
        "issuing": {"town_code": cert.issuing.town_code, "town_name": cert.issuing.town_name,
                    "place": cert.issuing.place, "node_id": cert.issuing.node_id},
        "on_behalf": cert.on_behalf,
        "issue_date": cert.issue_date.isoformat(),
    }
    body["replication"] = await _replication_state(request, body["certificate"])
    return web.json_response(body, dumps=_dumps)


async def _replication_state(request: web.Request, cert: dict) -> str:
    """acknowledged / pending (this node's outbox row), or received (came over Kafka)."""
    row = await request.app[POOL].fetchrow(
        "SELECT published_at FROM outbox WHERE entity_type = 'certificate' AND entity_id = $1"
        " ORDER BY id DESC LIMIT 1", cert["number"])
    if row is not None:
        return "acknowledged" if row["published_at"] is not None else "pending"
    if cert["issuing_node"] != request.app[SETTINGS].node.id:
        return "received"
    return "unknown"


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)


def setup_ui(app: web.Application) -> None:
    """Register the counter UI: GET / and /ui/static/*, plus its two read helpers."""
    app.router.add_get("/", index)
    app.router.add_get("/ui/towns", towns)
    app.router.add_get("/ui/certificates/{number}/content", certificate_content)
    app.router.add_static("/ui/static/", STATIC, follow_symlinks=False, append_version=False)
    app.on_response_prepare.append(_security_headers)
