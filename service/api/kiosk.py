"""The resident's own calls at a kiosk (issue 13), under /api/v1/kiosk/: household and
dwellings, disasters, apply, applications, certificates, a printed 再交付 copy.

Handlers only: every request is a signed kiosk request with a kiosk session
(service.web.kiosk_auth); the use cases are service.kiosk.self_service, which scope every
id to the resident's household and call the counter's rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import AsyncIterator

from aiohttp import web

from certs.pdf import render_certificate_pdf
from service.api.common import Fields, json_object, now, query_int, reply
from service.api.context import town_info
from service.counter.certificates import printed_content
from service.errors import Unavailable
from service.kiosk import self_service
from service.kiosk.freshness import freshness_of
from service.storage.counter import open_repository
from service.storage.kiosk_audit_queue import QueuedAudit
from service.web.appkeys import SETTINGS
from service.web.kiosk_auth import kiosk_party, kiosk_pool

APPLY_FIELDS = {"kind", "dwelling_id", "property", "disaster_id"}


@contextlib.asynccontextmanager
async def repository(request: web.Request) -> AsyncIterator[QueuedAudit]:
    """The request's one connection from the kiosks' own pool, as this node's repository,
    with its audit records queued (service.storage.kiosk_audit_queue)."""
    settings = request.app[SETTINGS]
    async with open_repository(kiosk_pool(request.app), node_id=settings.node.id, town=settings.node.town_code,
                               timeout=settings.database.acquire_timeout_s) as repo:
        yield QueuedAudit(repo)


async def household(request: web.Request) -> web.Response:
    """GET /api/v1/kiosk/household: the resident, household, dwellings, and how fresh this
    node's copy of their town's data is when it is another town's."""
    device, resident = kiosk_party(request)
    async with repository(request) as repo:
        view = await self_service.my_household(repo, device, resident)
    node = request.app[SETTINGS].node
    view["other_town"] = resident.town_code != node.town_code
    view["town_name"] = _town_name(request, resident.town_code)
    view["freshness"] = (await freshness_of(kiosk_pool(request.app), node.id, "resident", resident.resident_id)
                         if view["other_town"] else None)
    return reply(view)


def _town_name(request: web.Request, code: str) -> str | None:
    """The town's name from the signed trust list (None on a node without keys)."""
    try:
        found = town_info(request)(code)
    except Unavailable:
        return None
    return found[0] if found else None


async def disasters(request: web.Request) -> web.Response:
    """GET /api/v1/kiosk/disasters: the registered disasters that struck the resident's town."""
    _, resident = kiosk_party(request)
    async with repository(request) as repo:
        found = await self_service.disasters_for(repo, resident)
    return reply({"disasters": found})


def _parse_apply(body: dict) -> dict:
    f = Fields(body, APPLY_FIELDS)
    kind = f.choice("kind", ("risai", "hisai"), default="risai")
    parsed = {"kind": kind, "disaster_id": f.text("disaster_id", max_len=64), "disaster": None}
    if kind == "risai":
        parsed["dwelling_id"] = f.text("dwelling_id", max_len=64)
    elif kind == "hisai":
        prop = f.obj("property")
        if prop is not None:
            parsed["property"] = {"description": prop.text("description", max_len=100),
                                  "location": prop.text("location")}
    f.check()
    return parsed


async def apply(request: web.Request) -> web.Response:
    """POST /api/v1/kiosk/applications {kind, dwelling_id | property, disaster_id}."""
    device, resident = kiosk_party(request)
    parsed = _parse_apply(await json_object(request))
    async with repository(request) as repo:
        view, code = await self_service.apply(repo, device, resident, parsed, town=repo.town, at=now())
    return reply({"application": view, "tracking_code": code}, status=201)


async def applications(request: web.Request) -> web.Response:
    """GET /api/v1/kiosk/applications: the household's applications, newest first."""
    device, resident = kiosk_party(request)
    async with repository(request) as repo:
        found = await self_service.my_applications(repo, device, resident)
    return reply({"applications": found})


async def application(request: web.Request) -> web.Response:
    """GET /api/v1/kiosk/applications/{application_id}: one of them (403 otherwise)."""
    device, resident = kiosk_party(request)
    async with repository(request) as repo:
        view = await self_service.my_application(repo, device, resident, request.match_info["application_id"])
    return reply({"application": view})


async def certificates(request: web.Request) -> web.Response:
    """GET /api/v1/kiosk/certificates: the household's certificates with their state."""
    device, resident = kiosk_party(request)
    async with repository(request) as repo:
        found = await self_service.my_certificates(repo, device, resident)
    return reply({"certificates": found})


async def copy(request: web.Request) -> web.Response:
    """POST /api/v1/kiosk/certificates/{number}/copies {copy_reason}: record a 再交付 copy
    with this kiosk as the place; print it with GET .../pdf?copy=N."""
    device, resident = kiosk_party(request)
    body = await json_object(request)
    Fields(body, {"copy_reason"}).check()
    number = request.match_info["number"]
    async with repository(request) as repo:
        _, copy_no, reason = await self_service.print_copy(repo, device, resident, number, body, at=now())
    return reply({"number": number, "copy_no": copy_no, "label": "再交付", "copy_reason": reason.value},
                 status=201)


async def copy_pdf(request: web.Request) -> web.Response:
    """GET /api/v1/kiosk/certificates/{number}/pdf?copy=N: the 再交付 copy N as PDF."""
    device, resident = kiosk_party(request)
    number, copy_no = request.match_info["number"], query_int(request, "copy", 1, 1, 1000)
    async with repository(request) as repo:
        cert, copy_mark, _ = await self_service.printable_copy(repo, device, resident, number, copy_no, at=now())
    render = functools.partial(render_certificate_pdf, printed_content(cert), cert.qr, copy=copy_mark)
    pdf = await asyncio.get_running_loop().run_in_executor(None, render)  # CPU-bound: off the loop
    return web.Response(body=pdf, content_type="application/pdf", headers={"Cache-Control": "no-store"})


def setup_kiosk_api(app: web.Application) -> None:
    """The resident's kiosk routes (called from service.api.routes.setup_api)."""
    r, base = app.router, "/api/v1/kiosk"
    r.add_get(f"{base}/household", household)
    r.add_get(f"{base}/disasters", disasters)
    r.add_post(f"{base}/applications", apply)
    r.add_get(f"{base}/applications", applications)
    r.add_get(f"{base}/applications/{{application_id}}", application)
    r.add_get(f"{base}/certificates", certificates)
    r.add_post(f"{base}/certificates/{{number}}/copies", copy)
    r.add_get(f"{base}/certificates/{{number}}/pdf", copy_pdf)
