"""The casework lists over HTTP: 申請一覧, 交付台帳, and their CSV exports. Handlers only:
the filters are service.counter.casework_filters, the use cases service.counter.casework,
the CSV form service.counter.casework_export."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Callable

from aiohttp import web

from service.api.common import reply, repository
from service.api.context import actor
from service.counter import casework
from service.counter.casework_export import APPLICATION_COLUMNS, CERTIFICATE_COLUMNS, ENCODINGS, JST, Encoder
from service.counter.casework_filters import application_query, certificate_query
from service.errors import ServiceError
from service.web.auth import require_role

log = logging.getLogger("service.casework")


def json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def _page_body(page: casework.ListPage) -> dict[str, Any]:
    return {"rows": [{k: json_value(v) for k, v in row.items()} for row in page.rows],
            "total": page.total, "total_capped": page.total_capped, "next": page.next_cursor}


@require_role()
async def list_applications(request: web.Request) -> web.Response:
    """GET /api/v1/applications?status=&competent_town=&disaster_id=&received_node=&kiosk_id=
    &channel=&kind=&damage_class=&received_from=&received_to=&q=&scope=&limit=&after="""
    query = application_query(request.query)
    async with repository(request) as repo:
        page = await casework.list_page(repo, actor(request), query)
    return reply(_page_body(page))


@require_role()
async def list_certificates(request: web.Request) -> web.Response:
    """GET /api/v1/certificates?competent_town=&issuing_node=&issuing_town=&on_behalf=
    &damage_class=&cert_type=&state=&disaster_id=&issued_from=&issued_to=&q=&scope=&limit=&after="""
    query = certificate_query(request.query)
    async with repository(request) as repo:
        page = await casework.list_page(repo, actor(request), query)
    return reply(_page_body(page))


def _encoding(request: web.Request) -> tuple[str, dict[str, str]]:
    params = dict(request.query)
    encoding = params.pop("encoding", "utf-8").lower().replace("_", "-")
    encoding = {"utf8": "utf-8", "shift-jis": "cp932", "sjis": "cp932", "windows-31j": "cp932"}.get(encoding, encoding)
    if encoding not in ENCODINGS:
        raise ServiceError.about("encoding", "must be utf-8 or cp932", "list.invalid_value")
    return encoding, params


async def _export(request: web.Request, name: str, parse: Callable, columns: tuple) -> web.StreamResponse:
    encoding, params = _encoding(request)
    query = parse(params)
    rows = casework.export_rows(lambda: repository(request), actor(request), query)
    # The first chunk is read before the reply starts, so a refusal (a reason needed, the
    # database unavailable) is still a JSON error and not a truncated file.
    first = await anext(rows, [])
    encoder = Encoder(columns, encoding)
    charset = "Shift_JIS" if encoding == "cp932" else "utf-8"
    stamp = dt.datetime.now(dt.timezone.utc).astimezone(JST).strftime("%Y%m%d-%H%M")
    response = web.StreamResponse(headers={
        "Content-Type": f"text/csv; charset={charset}",
        "Content-Disposition": f'attachment; filename="{name}-{stamp}-{encoding}.csv"'})
    await response.prepare(request)
    await response.write(encoder.header())
    await response.write(encoder.rows(first))
    async for chunk in rows:
        await response.write(encoder.rows(chunk))
    await response.write_eof()
    if encoder.replaced:
        log.info("cp932 export replaced characters", extra={"replaced": encoder.replaced, "list": name})
    return response


@require_role("clerk", "supervisor", "auditor")
async def export_applications(request: web.Request) -> web.StreamResponse:
    """GET /api/v1/exports/applications?encoding=utf-8|cp932&<the list's filters>: CSV."""
    return await _export(request, "applications", application_query, APPLICATION_COLUMNS)


@require_role("clerk", "supervisor", "auditor")
async def export_certificates(request: web.Request) -> web.StreamResponse:
    """GET /api/v1/exports/certificates?encoding=utf-8|cp932&<the ledger's filters>: CSV."""
    return await _export(request, "certificates", certificate_query, CERTIFICATE_COLUMNS)
