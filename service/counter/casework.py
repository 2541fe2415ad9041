"""The casework lists at the counter: 申請一覧 and 交付台帳, a page at a time or all of it
for an export, within the access rule of service.counter.access.

Scope: without a stated reason a member of staff sees their own town's cases only (an
application whose competent town and applicant's town are both theirs; a certificate in
their town's name). ``scope=all``, or a competent town that is not theirs, needs a reason
(422 audit.reason_required before anything is read), and each other town whose cases a
page shows is audited once for that page (action ``application.list`` /
``certificate.list``, the filters as the subject), in the page's transaction.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from typing import Any, AsyncIterator, Callable, Protocol

from service.counter.access import Actor, AuditedStore, audit_other_towns
from service.counter.casework_filters import ApplicationQuery, CertificateQuery, Cursor, describe

Query = ApplicationQuery | CertificateQuery


class CaseworkStore(AuditedStore, Protocol):
    """The storage calls of the lists (service.storage.casework.CaseworkQueries)."""

    async def application_page(self, query: ApplicationQuery, towns: frozenset[str] | None,
                               limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` rows after the cursor, newest first."""

    async def application_count(self, query: ApplicationQuery, towns: frozenset[str] | None, cap: int) -> int:
        """Matching rows, the cursor aside, counted up to ``cap``."""

    async def certificate_page(self, query: CertificateQuery, towns: frozenset[str] | None,
                               limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` rows after the cursor, newest first."""

    async def certificate_count(self, query: CertificateQuery, towns: frozenset[str] | None, cap: int) -> int:
        """Matching rows, the cursor aside, counted up to ``cap``."""


# Counting stops here: a count costs a read of every matching index entry, so an exact total
# of 120,000 rows would cost more than the page itself. Below it the total is exact; at it
# the list says "10,000 or more" (集計 gives exact figures by class, day and node).
COUNT_CAP = 10_000


@dataclasses.dataclass(frozen=True)
class ListPage:
    """One page of a list: its rows, how many match (exactly, unless ``total_capped``: then
    at least ``total``), and the next page's cursor."""

    rows: list[dict[str, Any]]
    total: int
    next_cursor: str | None
    total_capped: bool = False


@dataclasses.dataclass(frozen=True)
class _Kind:
    action: str
    page: str
    count: str
    order: tuple[str, str]
    towns: Callable[[dict[str, Any]], set[str]]


APPLICATIONS = _Kind("application.list", "application_page", "application_count",
                     ("received_at", "application_id"),
                     lambda r: {r["competent_town"], r["applicant_town"] or r["competent_town"]})
CERTIFICATES = _Kind("certificate.list", "certificate_page", "certificate_count",
                     ("signed_at", "number"), lambda r: {r["competent_town"]})


def _kind(query: Query) -> _Kind:
    return APPLICATIONS if isinstance(query, ApplicationQuery) else CERTIFICATES


def visible_towns(actor: Actor, query: Query) -> frozenset[str] | None:
    """The towns whose cases the actor sees (None: every town, after a stated reason)."""
    own = actor.staff.town_code
    if query.scope == "all" or (query.competent_town not in (None, own)):
        actor.reason()  # 422 audit.reason_required before anything is read
        return None
    return frozenset({own})


def _cursor(kind: _Kind, row: dict[str, Any]) -> str:
    at = row[kind.order[0]]
    return Cursor(at.isoformat() if isinstance(at, dt.datetime) else str(at), row[kind.order[1]]).encode()


async def _audit_page(store: CaseworkStore, actor: Actor, kind: _Kind, query: Query,
                      rows: list[dict[str, Any]], already: set[str]) -> None:
    towns = set().union(*(kind.towns(r) for r in rows)) - already - {None}
    await audit_other_towns(store, actor, towns=towns, action=kind.action,
                            subject_type=kind.action.split(".")[0] + "_list", subject_id=describe(query))
    already.update(towns)


async def list_page(store: CaseworkStore, actor: Actor, query: Query) -> ListPage:
    """One page of the 申請一覧 (an ApplicationQuery) or the 交付台帳 (a CertificateQuery)."""
    kind = _kind(query)
    towns = visible_towns(actor, query)
    async with store.transaction():
        rows = await getattr(store, kind.page)(query, towns, query.limit + 1)
        total = await getattr(store, kind.count)(query, towns, COUNT_CAP)
        shown = rows[:query.limit]
        await _audit_page(store, actor, kind, query, shown, set())
    more = len(rows) > query.limit
    return ListPage(shown, total, _cursor(kind, shown[-1]) if more and shown else None, total >= COUNT_CAP)


async def export_rows(open_store: Callable[[], contextlib.AbstractAsyncContextManager[CaseworkStore]],
                      actor: Actor, query: Query, *, chunk: int = 1000) -> AsyncIterator[list[dict[str, Any]]]:
    """Every matching row, ``chunk`` at a time, for an export.

    Each chunk opens its own pooled connection and gives it back before the caller writes
    the rows out, so a slow download never holds a connection. Each other town is audited
    once per export, in the transaction of the chunk that first shows its cases.
    """
    kind = _kind(query)
    towns = visible_towns(actor, query)
    audited: set[str] = set()
    query = dataclasses.replace(query, limit=chunk, after=None)
    while True:
        async with open_store() as store, store.transaction():
            rows = await getattr(store, kind.page)(query, towns, chunk)
            await _audit_page(store, actor, kind, query, rows, audited)
        if not rows:
            return
        yield rows
        if len(rows) < chunk:
            return
        query = dataclasses.replace(query, after=Cursor.decode(_cursor(kind, rows[-1])))
