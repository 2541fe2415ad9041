"""Certificates: issue (the durable use case), read, PDF, copies (再交付), revoke."""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

from aiohttp import web

from certs.boxes import PrintedBoxes
from certs.encoding import decode_certificate
from certs.model import Certificate
from certs.pdf import render_certificate_pdf
from service.api.certificate_print import JST, archive_requested, copy_reason, load_copy, print_marks
from service.api.common import Fields, json_object, now, query_int, reply, repository
from service.api.context import (acknowledger, acting_staff, audit_other_town, keyring,
                                 needs_reason, town_info)
from service.appkeys import METRICS, SETTINGS
from service.audit import access_reason
from service.auth import require_role
from service.errors import Conflict, NotFound
from service.issuance import IssuanceContext, issue_certificate

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
    async with repository(request) as repo:
        result = await issue_certificate(repo, ctx, request.match_info["application_id"], now())
    if not result.existing:
        metrics = request.app[METRICS]
        metrics.issued.labels(competent_town=result.certificate["competent_town"],
                              kind=result.certificate["cert_type"]).inc()
        metrics.issue_latency.observe(time.perf_counter() - started)
    return reply({"certificate": result.certificate, "existing": result.existing,
                  "replication": result.replication}, status=200 if result.existing else 201)


def _hooks(request: web.Request) -> Any:
    hooks = request.app.get(BEFORE_STORE)
    if not hooks:
        return None

    async def run() -> None:
        for hook in hooks:
            await hook()
    return run


async def certificate_status(repo: Any, number: str) -> dict[str, Any]:
    """issued / superseded (by) / revoked (reason), from this node's data."""
    revocation = await repo.get("revocation", number)
    if revocation is not None:
        return {"state": "revoked", "reason": revocation["reason"], "at": revocation["at"]}
    successors = await repo.find("certificate", "supersedes", number, limit=1)
    if successors:
        return {"state": "superseded", "by": successors[0]["number"]}
    return {"state": "issued"}


async def _load(repo: Any, number: str) -> dict[str, Any]:
    cert = await repo.get("certificate", number)
    if cert is None:
        raise NotFound(f"no certificate {number} on this node", code="certificate.not_found")
    return cert


@require_role()
async def get_certificate(request: web.Request) -> web.Response:
    """GET /api/v1/certificates/{number}: the stored certificate, its status and copies."""
    staff = acting_staff(request)
    number = request.match_info["number"]
    async with repository(request) as repo, repo.transaction():
        cert = await _load(repo, number)
        status = await certificate_status(repo, number)
        copies = await repo.find("certificate_copy", "number", number)
        await audit_other_town(repo, request, staff, towns={cert["competent_town"]},
                               action="certificate.read", subject_type="certificate", subject_id=number)
    return reply({"certificate": cert, "status": status, "copies": len(copies)})


def printed_content(record: dict[str, Any]) -> Certificate:
    """What the paper shows: the QR's signed content plus the stored printed boxes (members,
    other damage, place), which are checked against the digest the QR carries."""
    boxes = record.get("printed_boxes")
    return decode_certificate(
        record["qr"], PrintedBoxes.from_record(boxes) if boxes is not None else None).certificate


@require_role("clerk", "supervisor", "auditor")
async def certificate_pdf(request: web.Request) -> web.Response:
    """GET /api/v1/certificates/{number}/pdf: rendered on demand (not on the issuing path).

    A withdrawn certificate is refused unless ?archive=true (see certificate_print.py)."""
    staff = acting_staff(request)
    number = request.match_info["number"]
    copy_no = query_int(request, "copy", 0, 0, 1000)
    archive = archive_requested(request, staff)
    async with repository(request) as repo, repo.transaction():
        cert = await _load(repo, number)
        copy, status = await load_copy(repo, number, copy_no), await certificate_status(repo, number)
        copy_mark, archive_mark = print_marks(number, status, archive, copy, now().astimezone(JST).date())
        await audit_other_town(repo, request, staff, towns={cert["competent_town"]},
                               action="certificate.archive_pdf" if archive else "certificate.pdf",
                               subject_type="certificate", subject_id=number)
    content = printed_content(cert)
    render = functools.partial(render_certificate_pdf, content, cert["qr"], copy=copy_mark, archive=archive_mark)
    # ReportLab is CPU-bound (~40 ms): off the event loop so other counters are not stalled.
    pdf = await asyncio.get_running_loop().run_in_executor(None, render)
    name = f"{number}-archive" if archive else f"{number}-copy-{copy_no}" if copy_no else number
    return web.Response(body=pdf, content_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{name}.pdf"'})


@require_role("clerk", "supervisor")
async def reissue_copy(request: web.Request) -> web.Response:
    """POST /api/v1/certificates/{number}/copies: 再交付 — same number, same QR, marked a copy."""
    staff = acting_staff(request)
    body = await json_object(request, optional=True)
    Fields(body, {"reason", "copy_reason"}).check()
    number = request.match_info["number"]
    async with repository(request) as repo, repo.transaction():
        cert = await _load(repo, number)
        reason = copy_reason(body)  # after the lookup: an unknown number is a 404 first
        status = await certificate_status(repo, number)
        if status["state"] != "issued":
            raise Conflict(f"certificate {number} is {status['state']}; a copy is not allowed",
                           code="certificate.not_current")
        needs_reason(request, staff, {cert["competent_town"]}, body)
        copy_no = len(await repo.find("certificate_copy", "number", number, limit=10_000)) + 1
        state = {"number": number, "copy_no": copy_no, "at": now().isoformat(),
                 "node": repo.node_id, "staff_id": staff.staff_id, "copy_reason": reason.name.lower()}
        await repo.put("certificate_copy", f"{number}/copy-{copy_no}", state, insert_only=True)
        await audit_other_town(repo, request, staff, towns={cert["competent_town"]}, action="certificate.copy",
                               subject_type="certificate", subject_id=number, body=body)
    return reply({"number": number, "copy_no": copy_no, "label": "再交付", "copy_reason": reason.value,
                  "qr": cert["qr"]}, status=201)


@require_role("supervisor")
async def revoke(request: web.Request) -> web.Response:
    """POST /api/v1/certificates/{number}/revoke {reason}: its own insert-only event."""
    staff = acting_staff(request)
    body = await json_object(request)
    f = Fields(body, {"reason", "access_reason"})
    reason = f.text("reason", max_len=500)
    f.check()
    number = request.match_info["number"]
    async with repository(request) as repo, repo.transaction():
        cert = await _load(repo, number)
        if await repo.get("revocation", number) is not None:
            raise Conflict(f"certificate {number} is already revoked", code="certificate.revoked")
        state = {"number": number, "reason": reason, "at": now().isoformat(),
                 "node": repo.node_id, "staff_id": staff.staff_id}
        if cert["competent_town"] != staff.town_code:
            access_reason(request)
        await repo.put("revocation", number, state, insert_only=True)
        await audit_other_town(repo, request, staff, towns={cert["competent_town"]},
                               action="certificate.revoke", subject_type="certificate", subject_id=number)
    return reply({"revocation": state}, status=201)
