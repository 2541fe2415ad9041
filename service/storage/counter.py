"""The counter's repository: the Repository's typed records (its storage seam), and the SQL
of the counter's searches over the entity store (residents by name, reading, birth date and
address; dwellings by household or address).

Names and readings match by prefix after search_key normalisation (the SQL twin
risai_search_key backs expression indexes, migration 0250), so "たかはし", "ﾀｶﾊｼ" and
"タカハシ" find the same people, and so do "髙橋" and "高橋". Addresses match anywhere.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, AsyncIterator

import asyncpg

from service.counter.records import search_key
from service.counter.residents import ResidentQuery
from service.counter.search_keys import address_key
from service.storage.casework import CaseworkQueries
from service.storage.casework_report import ReportQueries
from service.storage.db import acquire
from service.storage.disasters import DisasterQueries
from service.storage.duplicates import DuplicateQueries
from service.storage.repository import Repository
from service.storage.status_lists import StatusListQueries

_NAME = "risai_search_key((state->>'family_name') || (state->>'given_name'))"
_KANA = "risai_search_key((state->>'family_kana') || (state->>'given_kana'))"


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _where(query: ResidentQuery) -> tuple[list[str], list[Any]]:
    where: list[str] = ["entity_type = 'resident'"]
    args: list[Any] = []

    def add(sql: str, value: Any) -> None:
        args.append(value)
        where.append(sql.replace("?", f"${len(args)}"))

    if query.name:
        add(f"{_NAME} LIKE ? || '%'", _like(search_key(query.name)))
    if query.kana:
        add(f"{_KANA} LIKE ? || '%'", _like(search_key(query.kana)))
    if query.birth_date:
        add("state->>'birth_date' = ?", query.birth_date.isoformat())
    if query.address:
        add("risai_address_key(state->>'address') LIKE '%' || ? || '%'", _like(address_key(query.address)))
    if query.town_code:
        add("state->>'town_code' = ?", query.town_code)
    return where, args


class CounterRepository(Repository, DisasterQueries, DuplicateQueries, StatusListQueries, CaseworkQueries,
                        ReportQueries):
    """The Repository plus typed records (the storage seam), the counter's search queries, the
    disaster registry's, the one-current-certificate rule's, the status lists' and the casework
    lists' and reports' (service.storage.casework*)."""

    async def search_residents(self, query: ResidentQuery, limit: int) -> list[dict]:
        """Residents matching every criterion, by reading then id."""
        where, args = _where(query)
        await self.flush()  # a read sees this transaction's collected writes
        rows = await self.conn.fetch(
            f"SELECT state FROM entities WHERE {' AND '.join(where)}"
            f" ORDER BY {_KANA}, entity_id LIMIT {int(limit)}", *args)
        return [json.loads(r["state"]) for r in rows]

    async def count_residents_elsewhere(self, query: ResidentQuery, town_code: str, cap: int) -> int:
        """How many residents outside ``town_code`` match (counting stops at ``cap``)."""
        where, args = _where(query)
        args.append(town_code)
        await self.flush()  # a read sees this transaction's collected writes
        return await self.conn.fetchval(
            f"SELECT count(*) FROM (SELECT 1 FROM entities WHERE {' AND '.join(where)}"
            f" AND state->>'town_code' <> ${len(args)} LIMIT {int(cap)}) AS m", *args)

    async def staff_with_role(self, role: str, *, limit: int = 500) -> list[dict]:
        """Staff account states holding ``role`` (the surveyor picker; a group has a few
        hundred accounts, read through the entities primary key's type prefix)."""
        rows = await self.conn.fetch(
            "SELECT state FROM entities WHERE entity_type = 'staff' AND state->'roles' ? $1"
            " ORDER BY state->>'town_code', state->>'display_name' LIMIT $2", role, limit)
        return [json.loads(r["state"]) for r in rows]

    async def certificates_issued(self, issuing_node: str, issue_date: Any, *, limit: int) -> list[dict]:
        """{number, competent_town, delivery} of what ``issuing_node`` issued on ``issue_date``
        (the batch print's selection; index 0431), with the application's 交付方法."""
        rows = await self.conn.fetch(
            "SELECT c.entity_id AS number, c.state->>'competent_town' AS competent_town,"
            " a.state->'applicant_details'->>'delivery' AS delivery"
            " FROM entities c LEFT JOIN entities a ON a.entity_type = 'application'"
            " AND a.entity_id = c.state->>'application_id'"
            " WHERE c.entity_type = 'certificate' AND c.state->>'issue_date' = $1"
            " AND c.state->>'issuing_node' = $2 ORDER BY c.entity_id LIMIT $3",
            issue_date.isoformat(), issuing_node, limit)
        return [dict(r) for r in rows]

    async def dwellings_of(self, household_id: str) -> list[dict]:
        """Dwellings a household lives in (GIN index on household_ids)."""
        await self.flush()  # a read sees this transaction's collected writes
        rows = await self.conn.fetch(
            "SELECT state FROM entities WHERE entity_type = 'dwelling' AND state->'household_ids' @> $1::jsonb"
            " ORDER BY entity_id LIMIT 20", json.dumps([household_id]))
        return [json.loads(r["state"]) for r in rows]

    async def dwellings_at(self, address: str, town_code: str | None, limit: int) -> list[dict]:
        """Dwellings whose location contains ``address`` (both folded by address_key),
        optionally in one town."""
        await self.flush()  # a read sees this transaction's collected writes
        rows = await self.conn.fetch(
            "SELECT state FROM entities WHERE entity_type = 'dwelling'"
            " AND risai_address_key(state->>'location') LIKE '%' || $1 || '%'"
            " AND ($2::text IS NULL OR state->>'town_code' = $2)"
            f" ORDER BY entity_id LIMIT {int(limit)}",
            _like(address_key(address)), town_code)
        return [json.loads(r["state"]) for r in rows]


@contextlib.asynccontextmanager
async def open_repository(pool: asyncpg.Pool, *, node_id: str, town: str,
                          timeout: float) -> AsyncIterator[CounterRepository]:
    """One pooled connection as the counter's repository, for one request. Waiting longer
    than ``timeout`` for a connection is NodeBusy (503), never a request that hangs."""
    async with acquire(pool, timeout) as conn:
        yield CounterRepository(conn, node_id=node_id, town=town)
