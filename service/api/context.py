"""What handlers need from the node: the acting staff, audit of other towns' data, keys,
and the durability wait after a commit (DESIGN 4)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from replication.events import Event
from service.web.appkeys import KEYRING, METRICS, REPLICATION, SETTINGS
from service.staff.audit import access_reason
from service.staff.sessions import current_staff
from service.errors import Unavailable
from service.keyring import Keyring
from service.staff.accounts import Staff


def keyring(request: web.Request) -> Keyring:
    """The node's keys, or 503 when this node was started without them."""
    ring = request.app.get(KEYRING)
    if ring is None:
        raise Unavailable("this node has no keys configured; it cannot sign or verify",
                          code="keys.not_configured")
    return ring


def town_info(request: web.Request):
    """code → (name, mayor) from the signed trust list (the authority on towns)."""
    trust_list = keyring(request).trust_list

    def lookup(code: str) -> tuple[str, str] | None:
        town = trust_list.town(code)
        return (town.name, town.mayor) if town else None

    return lookup


async def audit_other_town(repo: Any, request: web.Request, staff: Staff, *, towns: set[str],
                           action: str, subject_type: str, subject_id: str,
                           body: dict | None = None) -> None:
    """Audit (in the repo's current transaction) when the data belongs to another town."""
    for town in sorted(towns - {staff.town_code}):
        await repo.audit(staff=staff, action=action, subject_type=subject_type,
                         subject_id=subject_id, town_code=town, reason=access_reason(request, body))


def needs_reason(request: web.Request, staff: Staff, towns: set[str], body: dict | None = None) -> None:
    """Fail early (422 audit.reason_required) before any write, if a reason will be needed."""
    if towns - {staff.town_code}:
        access_reason(request, body)


def acting_staff(request: web.Request) -> Staff:
    """The logged-in staff (401 otherwise)."""
    return current_staff(request)


def acknowledger(request: web.Request):
    """Step 6 of issuance: wait for Kafka's ack per settings.kafka.mode; count pending."""
    settings = request.app[SETTINGS]
    replication = request.app.get(REPLICATION)
    metrics = request.app[METRICS]

    async def acknowledge(event: Event) -> str:
        if settings.kafka.mode == "local-only":
            return "local-only"
        if replication is None:
            return "not configured"
        try:
            acked = await replication.acknowledged(event, settings.kafka.ack_timeout_s)
        except (OSError, asyncio.TimeoutError):
            acked = False
        if not acked:
            metrics.pending_replication.inc()
            return "pending"
        return "acknowledged"

    return acknowledge
