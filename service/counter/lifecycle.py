"""The application's lifecycle (申請の状態), as pure functions over its record.

received → surveyed → judged → issued; then re-survey requested → resurveyed → rejudged →
reissued (and again). A 被災証明 application goes received → issued (no survey, no class).
Before it is issued an application can be withdrawn (申請取下げ): withdrawn is final, and
nothing more may happen to it (409 application.withdrawn).
No I/O and no clock: ``at`` comes in. Each transition returns a new
service.counter.application_records.Application (``dataclasses.replace``).
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from service.counter.application_records import Application
from service.errors import Conflict

# action → {from status: to status}
TRANSITIONS: dict[str, dict[str, str]] = {
    "survey": {"received": "surveyed", "surveyed": "surveyed",
               "resurvey_requested": "resurveyed", "resurveyed": "resurveyed"},
    "judge": {"surveyed": "judged", "judged": "judged",
              "resurveyed": "rejudged", "rejudged": "rejudged"},
    "issue": {"judged": "issued", "rejudged": "reissued"},
    "request_resurvey": {"issued": "resurvey_requested", "reissued": "resurvey_requested"},
    # Only before a certificate exists: an issued one is revoked instead, never withdrawn.
    "withdraw": {"received": "withdrawn", "surveyed": "withdrawn", "judged": "withdrawn"},
}
HISAI_TRANSITIONS = {"issue": {"received": "issued"}, "withdraw": {"received": "withdrawn"}}
STATUSES = ("received", "surveyed", "judged", "issued", "resurvey_requested", "resurveyed",
            "rejudged", "reissued", "withdrawn")
ISSUED = ("issued", "reissued")


def tracking_hash(application_id: str, code: str) -> str:
    """What is stored instead of the tracking code (the code itself is shown once)."""
    return hashlib.sha256(f"{application_id}\x00{code}".encode()).hexdigest()


def next_status(app: Application, action: str) -> str:
    """The status after ``action``, or Conflict (409 application.state) naming what is allowed."""
    table = (HISAI_TRANSITIONS if app.kind == "hisai" else TRANSITIONS).get(action, {})
    status = app.status
    refuse_withdrawn(app, action)
    if status not in table:
        allowed = ", ".join(table) or "none"
        raise Conflict(f"cannot {action.replace('_', ' ')} an application that is {status} "
                       f"(allowed from: {allowed})", code="application.state")
    return table[status]


def refuse_withdrawn(app: Application, action: str) -> None:
    """409 application.withdrawn: nothing more happens to a withdrawn application (checked
    before the request's own input, so the clerk hears the reason that matters)."""
    if app.status == "withdrawn":
        raise Conflict(f"the application was withdrawn (申請取下げ); it cannot {action.replace('_', ' ')}",
                       code="application.withdrawn",
                       fields=[{"field": "status", "reason": "withdrawn", "code": "application.withdrawn"}])


def advance(app: Application, action: str, *, at: str, node: str, staff: str | None,
            detail: dict[str, Any] | None = None, **changes: Any) -> Application:
    """Apply ``action``: new status, the given field changes, and a history entry (with
    ``detail``: e.g. the survey a judgement used, or a withdrawal's reason)."""
    status = next_status(app, action)
    return noted(app, {"status": status, "action": action, "at": at, "node": node, "staff": staff,
                       **(detail or {})}, status=status, **changes)


def noted(app: Application, entry: dict[str, Any], **changes: Any) -> Application:
    """A new record with ``changes`` and ``entry`` appended to its history (no status check:
    for changes that are not transitions, such as a corrected applicant)."""
    return dataclasses.replace(app, history=(*app.history, entry), **changes)


def public_view(app: Application, states: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """What the applicant sees when tracking: status and dates, no personal data of others.

    ``states``: number → certificate status (issued / superseded by / revoked), so a revoked
    or superseded certificate is never shown as the current one.
    """
    states = states or {}

    def state(number: str) -> dict[str, Any]:
        status = states.get(number, {"state": "issued"})
        return {"number": number, "state": status["state"], "superseded_by": status.get("by")}

    current = app.current_certificate
    shown = current if current and state(current)["state"] == "issued" else None
    return {"application_id": app.application_id, "kind": app.kind, "status": app.status,
            "received_at": app.received_at, "current_certificate": shown,
            "certificates": [state(n) for n in app.certificates],
            "history": [{"status": h["status"], "at": h["at"]} for h in app.history]}


def staff_view(app: Application) -> dict[str, Any]:
    """The application as staff see it: every key it holds, as replicated, except the
    tracking code's hashes."""
    return {k: v for k, v in app.to_state().items() if k not in ("tracking_code_sha256", "tracking_key")}
