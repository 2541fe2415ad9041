"""What handlers need from the node: the acting staff and their reason, keys, town names,
and the durability wait after a commit (DESIGN 4)."""

from __future__ import annotations

import asyncio
from typing import Any, Mapping
from urllib.parse import unquote

from aiohttp import web

from replication.events import Event
from service.counter.access import Actor
from service.errors import InvalidRequest, Unavailable
from service.keyring import Keyring
from service.staff.accounts import Staff
from service.staff.audit import clean_reason
from service.web.appkeys import KEYRING, METRICS, REPLICATION, SETTINGS
from service.web.auth import current_staff

REASON_HEADER = "X-Access-Reason"


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


def access_reason(request: web.Request, body: Mapping[str, Any] | None = None) -> str:
    """The stated reason for accessing another town's data, or 422 ``audit.reason_required``.

    Taken from the ``X-Access-Reason`` header (percent-encode non-ASCII text, e.g.
    ``encodeURIComponent("避難所での申請受付")``) or, failing that, the body's ``reason``.
    """
    header = request.headers.get(REASON_HEADER)
    try:
        reason = clean_reason(unquote(header, errors="strict") if header else None)
    except UnicodeDecodeError:
        raise InvalidRequest.about("reason", f"{REASON_HEADER} must be percent-encoded UTF-8",
                                   "audit.reason_invalid") from None
    if reason is None and body is not None:
        reason = clean_reason(body.get("reason"))
    if reason is None:
        raise InvalidRequest.about(
            "reason", f"a reason is required to access another town's residents "
            f"(header {REASON_HEADER} or body field 'reason')", "audit.reason_required")
    return reason


def actor(request: web.Request, body: dict | None = None) -> Actor:
    """The logged-in staff (401 otherwise) and their stated reason (header, else the body's)."""
    return Actor(current_staff(request), lambda: access_reason(request, body))


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
