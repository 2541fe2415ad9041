"""Kiosk enrolment over HTTP (issue 13): parse, call service.kiosk.enrolment, reply.

    POST /api/v1/kiosk-enrolments                {public_key_pem}  a kiosk asks (no login)
    GET  /api/v1/kiosk-enrolments/{enrolment_id}                   the kiosk polls
    POST /api/v1/kiosk-enrolments/preview        {pairing_code}    supervisor: the key's fingerprint
    POST /api/v1/kiosk-enrolments/approve        {pairing_code, kiosk_id, name, centre} supervisor
"""

from __future__ import annotations

from aiohttp import web

from service.api.common import json_text_fields
from service.kiosk import enrolment
from service.web.appkeys import POOL
from service.web.auth import current_staff, require_role
from service.web.kiosk_auth import request_time


async def request_enrolment(request: web.Request) -> web.Response:
    """POST /api/v1/kiosk-enrolments {public_key_pem}: a kiosk asks to be enrolled."""
    body = await json_text_fields(request, "public_key_pem")
    async with request.app[POOL].acquire() as conn, conn.transaction():
        reply = await enrolment.request_enrolment(conn, body["public_key_pem"], request_time(request))
    return web.json_response(reply, status=201)


async def enrolment_status(request: web.Request) -> web.Response:
    """GET /api/v1/kiosk-enrolments/{enrolment_id}: pending, approved (with the kiosk id) or expired."""
    return web.json_response(await enrolment.enrolment_status(
        request.app[POOL], request.match_info["enrolment_id"], request_time(request)))


@require_role("supervisor", "admin")
async def preview_enrolment(request: web.Request) -> web.Response:
    """POST /api/v1/kiosk-enrolments/preview {pairing_code} (supervisor): the waiting key's
    fingerprint, to compare with the one on the kiosk's screen before approving."""
    body = await json_text_fields(request, "pairing_code")
    async with request.app[POOL].acquire() as conn:
        return web.json_response(await enrolment.preview_enrolment(conn, body["pairing_code"], request_time(request)))


@require_role("supervisor", "admin")
async def approve_enrolment(request: web.Request) -> web.Response:
    """POST /api/v1/kiosk-enrolments/approve {pairing_code, kiosk_id, name, centre} (supervisor)."""
    body = await json_text_fields(request, "pairing_code", "kiosk_id", "name", "centre")
    staff = current_staff(request)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        reply = await enrolment.approve_enrolment(
            conn, pairing_code=body["pairing_code"], kiosk_id=body["kiosk_id"], name=body["name"],
            centre=body["centre"], approved_by=staff.staff_id, now=request_time(request))
    return web.json_response(reply, status=201)


def setup_routes(app: web.Application) -> None:
    """The enrolment routes (registered with the other kiosk routes)."""
    app.router.add_post("/api/v1/kiosk-enrolments", request_enrolment)
    app.router.add_post("/api/v1/kiosk-enrolments/preview", preview_enrolment)
    app.router.add_post("/api/v1/kiosk-enrolments/approve", approve_enrolment)
    app.router.add_get("/api/v1/kiosk-enrolments/{enrolment_id}", enrolment_status)
