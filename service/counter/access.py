"""Who acts at the counter, and the rule for touching another town's data (DESIGN 6).

A use case is told who acts by an :class:`Actor`: the staff member and a callable that
yields the stated reason for reading another town's data (it raises 422
``audit.reason_required`` when none was given). Reading or writing another town's
residents needs a reason, checked before any write, and each access is audited in the
use case's transaction. Pure rules over a narrow port; no HTTP, no SQL.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, Callable, Protocol, TypeVar

from service.counter.record_state import RecordBase

R = TypeVar("R", bound=RecordBase)


class Staff(Protocol):
    """What the rules need to know of the acting staff member."""

    staff_id: str
    town_code: str
    display_name: str


@dataclasses.dataclass(frozen=True)
class Actor:
    """The staff member acting, and how to ask for their stated reason."""

    staff: Staff
    reason: Callable[[], str]
    kiosk_id: str | None = None  # set when a kiosk acts for its identified resident (issue 13)


class AuditedStore(Protocol):
    """The storage calls every counter use case needs: read, write, audit, in a transaction."""

    node_id: str

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """One database transaction on the request's one connection."""

    async def get(self, entity_type: str, entity_id: str, *, for_update: bool = False) -> dict | None:
        """The held state of one entity, or None."""

    async def find(self, entity_type: str, field: str, value: str, *, limit: int = 100) -> list[dict]:
        """Entities whose state field equals value."""

    async def put(self, entity_type: str, entity_id: str, state: dict, *,
                  insert_only: bool = False) -> None:
        """Record a change (entities + outbox) in the current transaction (written by the
        end of the transaction at the latest; reads of the store see it at once)."""

    async def audit(self, **fields: Any) -> None:
        """Write an audit record in the current transaction."""


class RecordStore(AuditedStore, Protocol):
    """Typed records in and out (the state form is the store's business)."""

    async def load(self, record_type: type[R], entity_id: str, *, for_update: bool = False) -> R | None:
        """The record of ``record_type`` with this id, or None (``for_update``: row-locked
        to the end of the transaction)."""

    async def find_records(self, record_type: type[R], field: str, value: str, *, limit: int = 100) -> list[R]:
        """Records whose state field equals value."""

    async def save(self, record: RecordBase, *, insert_only: bool = False) -> None:
        """Record a change of a typed record in the current transaction."""


def needs_reason(actor: Actor, towns: set[str]) -> None:
    """Fail early (422 audit.reason_required) before any write, if a reason will be needed."""
    if towns - {actor.staff.town_code}:
        actor.reason()


async def audit_other_towns(store: AuditedStore, actor: Actor, *, towns: set[str], action: str,
                            subject_type: str, subject_id: str) -> None:
    """Audit (in the store's current transaction) each town of the data that is not the actor's."""
    for town in sorted(towns - {actor.staff.town_code}):
        kiosk = {"kiosk_id": actor.kiosk_id} if actor.kiosk_id else {}
        await store.audit(staff=actor.staff, action=action, subject_type=subject_type,
                          subject_id=subject_id, town_code=town, reason=actor.reason(), **kiosk)
