"""casework.list_page over a tiny fake store: the access rule, the cursor, the capped total
and the audit of other towns shown."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt

import pytest

from service.counter import casework
from service.counter.access import Actor
from service.counter.casework_filters import Cursor, application_query
from service.errors import InvalidRequest


@dataclasses.dataclass(frozen=True)
class _Staff:
    staff_id: str = "s1"
    town_code: str = "172049"
    display_name: str = "clerk"
    username: str = "clerk"


class _Store:
    node_id = "wajima-1"

    def __init__(self, rows: list[dict], total: int) -> None:
        self.rows, self.total, self.audits, self.asked = rows, total, [], []

    @contextlib.asynccontextmanager
    async def transaction(self):
        yield

    async def application_page(self, query, towns, limit):
        self.asked.append((towns, limit, query.after))
        return self.rows[:limit]

    async def application_count(self, query, towns, cap):
        return min(self.total, cap)

    async def audit(self, **fields):
        self.audits.append(fields)


def _row(i: int, town: str) -> dict:
    at = dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc) - dt.timedelta(minutes=i)
    return {"application_id": f"A-{i}", "received_at": at, "competent_town": town, "applicant_town": town}


def _refuse() -> str:
    raise InvalidRequest.about("reason", "needed", "audit.reason_required")


async def test_own_scope_needs_no_reason_and_the_cursor_continues_after_the_last_row_shown():
    store = _Store([_row(i, "172049") for i in range(4)], total=4)
    page = await casework.list_page(store, Actor(_Staff(), _refuse), application_query({"limit": "3"}))
    assert [r["application_id"] for r in page.rows] == ["A-0", "A-1", "A-2"]
    assert store.asked == [(frozenset({"172049"}), 4, None)]  # one more row than shown: is there more?
    assert Cursor.decode(page.next_cursor) == Cursor(_row(2, "x")["received_at"].isoformat(), "A-2")
    assert (page.total, page.total_capped, store.audits) == (4, False, [])


async def test_all_towns_need_a_reason_first_and_each_other_town_shown_is_audited_once():
    store = _Store([_row(0, "434434"), _row(1, "434434"), _row(2, "172049")], total=casework.COUNT_CAP + 5)
    with pytest.raises(InvalidRequest):
        await casework.list_page(store, Actor(_Staff(), _refuse), application_query({"scope": "all"}))
    assert store.asked == []  # refused before anything was read
    page = await casework.list_page(store, Actor(_Staff(), lambda: "避難所"), application_query({"scope": "all"}))
    assert page.next_cursor is None and page.total_capped and page.total == casework.COUNT_CAP
    assert [(a["town_code"], a["action"], a["subject_id"]) for a in store.audits] == [
        ("434434", "application.list", "scope=all")]
