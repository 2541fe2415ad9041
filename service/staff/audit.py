"""Audit records (DESIGN 6): who touched another town's resident data, where, and why.

An audit record is an insert-only replicated entity (entity_type "audit") written through
``record_change`` in the caller's transaction: if the access it records rolls back, so does
the record, and if it commits, the outbox carries the record to every node, including the
competent town's. Insert-only entities never conflict (DESIGN 4).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from typing import Any, Callable

from replication.outbox import record_change
from service.errors import InvalidRequest
from service.staff.accounts import Staff
from service.storage.db import node_identity
from service.storage.entities import latest_of_town

ENTITY_TYPE = "audit"
MAX_REASON = 500


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def clean_reason(raw: Any) -> str | None:
    """The reason stripped and checked, or None when absent or blank."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise InvalidRequest.about("reason", "must be text", "audit.reason_invalid")
    reason = unicodedata.normalize("NFC", raw).strip()
    if not reason:
        return None
    if len(reason) > MAX_REASON or any(unicodedata.category(c) == "Cc" for c in reason):
        raise InvalidRequest.about(
            "reason", f"at most {MAX_REASON} printable characters", "audit.reason_invalid")
    return reason


async def _node_town(conn: Any, fallback: str) -> str:
    identity = await node_identity(conn)
    return identity[1] if identity and identity[1] else fallback


def audit_state(*, staff: Staff | None, node_id: str, action: str, subject_type: str,
                subject_id: str, town_code: str, reason: str | None, kiosk_id: str | None = None,
                clock: Callable[[], dt.datetime] = _utc_now) -> dict[str, Any]:
    """The state of one new audit record (its ``audit_id`` inside), checked as ``audit`` does.

    For a caller that writes the record together with its other changes in one
    ``record_changes`` call (issuance); ``audit`` below writes it alone.
    """
    reason = clean_reason(reason)
    if staff is not None and staff.town_code != town_code and reason is None:
        raise InvalidRequest.about("reason", "a reason is required to access another "
                                   "town's residents", "audit.reason_required")
    return {
        "audit_id": str(uuid.uuid4()), "at": clock().isoformat(timespec="milliseconds"),
        "node_id": node_id, "action": action, "subject_type": subject_type,
        "subject_id": subject_id, "town_code": town_code, "reason": reason,
        "staff_id": staff.staff_id if staff else None,
        "staff_town": staff.town_code if staff else None,
        "username": staff.username if staff else None,
        "kiosk_id": kiosk_id,
    }


async def audit(conn: Any, *, staff: Staff | None, node_id: str, action: str,
                subject_type: str, subject_id: str, town_code: str, reason: str | None,
                kiosk_id: str | None = None, node_town: str | None = None,
                clock: Callable[[], dt.datetime] = _utc_now) -> str:
    """Write one audit record in the caller's transaction; returns its audit id.

    ``town_code`` is the competent town of the data touched. Access by staff of another
    town needs a reason (422 ``audit.reason_required`` otherwise), checked here as well as
    by handlers so no path can skip it.
    """
    if not conn.is_in_transaction():
        raise RuntimeError("audit must run inside the caller's transaction")
    state = audit_state(staff=staff, node_id=node_id, action=action, subject_type=subject_type,
                        subject_id=subject_id, town_code=town_code, reason=reason,
                        kiosk_id=kiosk_id, clock=clock)
    await record_change(conn, node_id=node_id,
                        town=node_town or await _node_town(conn, town_code),
                        entity_type=ENTITY_TYPE, entity_id=state["audit_id"], state=state,
                        insert_only=True)
    return state["audit_id"]


async def audit_trail(conn: Any, *, town_code: str,
                      limit: int = 100) -> list[dict[str, Any]]:
    """The latest audit records about one town's data, newest first (for auditors)."""
    return await latest_of_town(conn, ENTITY_TYPE, town_code, limit)
