"""Certificates: issue, read, PDF, copies (再交付), revoke. Handlers only: the use cases are
service.counter.issuance and service.counter.certificates."""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

from aiohttp import web

from certs.pdf import render_certificate_pdf
from service.api.common import Fields, json_object, now, query_int, reply, repository
from service.api.context import access_reason, acknowledger, acting_staff, actor, keyring, town_info
from service.counter import certificates, printing
from service.counter.issuance import IssuanceContext, issue_certificate
from service.web.appkeys import METRICS, SEALS, SETTINGS
from service.web.auth import require_role

# Test-only: a list of async callables run inside issuance's store transaction, to widen
# the window between reading the application and inserting the certificate (concurrency
# tests). A list, set before start-up, so a test can add to it on a running app.
BEFORE_STORE: web.AppKey[list] = web.AppKey("issuance_before_store", list)


@require_role("clerk", "supervisor")
async def issue(request: web.Request) -> web.Response:
    """POST /api/v1/applications/{id}/certificate: issue (or return the one already issued)."""
    staff = acting_staff(request)
    body = await json_object(request, optional=True)
    f = Fields(body, {"place", "reason"})
    place = f.text("place", required=False, max_len=100)
    f.check()
    settings, ring = request.app[SETTINGS], keyring(request)
    ctx = IssuanceContext(
        node_id=settings.node.id, node_town=settings.node.town_code, staff_id=staff.staff_id,
        staff_town=staff.town_code, signer_for=ring.signer_for, town_info=town_info(request),
        audit_reason=lambda: access_reason(request, body), staff=staff, place=place,
        acknowledge=acknowledger(request), before_store=_hooks(request))
    started = time.perf_counter()
    # The use case opens its one connection itself, so it can give it back before it
    # waits for Kafka (issue 10: never hold a connection while waiting for another).
    result = await issue_certificate(lambda: repository(request), ctx,
                                     request.match_info["application_id"], now())
    if not result.existing:
        metrics = request.app[METRICS]
        metrics.issued.labels(competent_town=result.certificate.competent_town,
                              kind=result.certificate.cert_type).inc()
        metrics.issue_latency.observe(time.perf_counter() - started)
    return reply({"certificate": result.certificate.to_state() if result.certificate else {},
                  "existing": result.existing,
                  "replication": result.replication}, status=200 if result.existing else 201)


def _hooks(request: web.Request) -> Any:
    hooks = request.app.get(BEFORE_STORE)
    if not hooks:
        return None

    async def run() -> None:
        for hook in hooks:
            await hook()
    return run


@require_role()
async def get_certificate(request: web.Request) -> web.Response:
    """GET /api/v1/certificates/{number}: the stored certificate, its status and copies."""
    who = actor(request)
    async with repository(request) as repo:
        cert, status, copies = await certificates.read_certificate(repo, who, request.match_info["number"])
    return reply({"certificate": cert.to_state(), "status": status, "copies": copies})


@require_role("clerk", "supervisor", "auditor")
async def certificate_pdf(request: web.Request) -> web.Response:
    """GET /api/v1/certificates/{number}/pdf[?copy=N][&archive=true]: rendered on demand (not
    on the issuing path). A withdrawn certificate is refused unless ?archive=true
    (service.counter.printing)."""
    who = actor(request)
    number = request.match_info["number"]
    copy_no = query_int(request, "copy", 0, 0, 1000)
    archive = printing.archive_requested(request.query.get("archive", "false"), who.staff)
    async with repository(request) as repo:
        cert, copy_mark, archive_mark = await certificates.printable(
            repo, who, number, copy_no=copy_no, archive=archive, at=now())
    content = certificates.printed_content(cert)
    seal = request.app[SEALS].for_town(cert.competent_town)
    render = functools.partial(render_certificate_pdf, content, cert.qr, copy=copy_mark, archive=archive_mark,
                               seal=seal)
    # ReportLab is CPU-bound (~40 ms): off the event loop so other counters are not stalled.
    pdf = await asyncio.get_running_loop().run_in_executor(None, render)
    name = f"{number}-archive" if archive else f"{number}-copy-{copy_no}" if copy_no else number
    return web.Response(body=pdf, content_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{name}.pdf"'})


@require_role("clerk", "supervisor")
async def reissue_copy(request: web.Request) -> web.Response:
    """POST /api/v1/certificates/{number}/copies: 再交付 — same number, same QR, marked a copy."""
    body = await json_object(request, optional=True)
    Fields(body, {"reason", "copy_reason"}).check()
    number = request.match_info["number"]
    async with repository(request) as repo:
        cert, copy_no, reason = await certificates.reissue_copy(repo, actor(request, body), number, body, at=now())
    return reply({"number": number, "copy_no": copy_no, "label": "再交付", "copy_reason": reason.value,
                  "qr": cert.qr}, status=201)


@require_role("supervisor")
async def revoke(request: web.Request) -> web.Response:
    """POST /api/v1/certificates/{number}/revoke {reason}: 201, or 200 with the first
    revocation when it was revoked before (idempotent)."""
    body = await json_object(request)
    f = Fields(body, {"reason", "access_reason"})
    reason = f.text("reason", max_len=500)
    f.check()
    # The body's "reason" is the revocation's; another town's certificate needs the header.
    who = actor(request)
    async with repository(request) as repo:
        revocation, created = await certificates.revoke_certificate(
            repo, who, request.match_info["number"], reason, at=now())
    return reply({"revocation": revocation.to_state()}, status=201 if created else 200)
