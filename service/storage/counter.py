"""The counter's storage seam: typed records to and from their replicated state, and the SQL
of the counter's searches over the entity store (residents by name, reading, birth date and
address; dwellings by household or address).

Names and readings match by prefix after search_key normalisation (the SQL twin
risai_search_key backs expression indexes, migration 0250), so "たかはし", "ﾀｶﾊｼ" and
"タカハシ" find the same people, and so do "髙橋" and "高橋". Addresses match anywhere.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, AsyncIterator, TypeVar

import asyncpg

from replication.events import Event

from service.counter.records import search_key
from service.counter.search_keys import address_key
from service.counter.residents import ResidentQuery
from service.counter.record_state import RecordBase
from service.storage.casework import CaseworkQueries
from service.storage.casework_report import ReportQueries
from service.storage.db import acquire
from service.storage.disasters import DisasterQueries
from service.storage.repository import Repository

R = TypeVar("R", bound=RecordBase)

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


class CounterRepository(Repository, DisasterQueries, CaseworkQueries, ReportQueries):
    """The Repository plus typed records (the storage seam), the counter's search queries, the
    disaster registry's and the casework lists' and reports' (service.storage.casework*)."""

    async def load(self, record_type: type[R], entity_id: str) -> R | None:
        """The record of ``record_type`` with this id, rebuilt from its held state, or None."""
        state = await self.get(record_type.entity_type, entity_id)
        return record_type.from_state(state) if state is not None else None

    async def save(self, record: RecordBase, *, insert_only: bool = False) -> Event:
        """Record a change of a typed record, as its state (entities + outbox)."""
        return await self.put(record.entity_type, record.entity_id, record.to_state(),
                              insert_only=insert_only)

    async def search_residents(self, query: ResidentQuery, limit: int) -> list[dict]:
        """Residents matching every criterion, by reading then id."""
        where, args = _where(query)
        rows = await self.conn.fetch(
            f"SELECT state FROM entities WHERE {' AND '.join(where)}"
            f" ORDER BY {_KANA}, entity_id LIMIT {int(limit)}", *args)
        return [json.loads(r["state"]) for r in rows]

    async def count_residents_elsewhere(self, query: ResidentQuery, town_code: str, cap: int) -> int:
        """How many residents outside ``town_code`` match (counting stops at ``cap``)."""
        where, args = _where(query)
        args.append(town_code)
        return await self.conn.fetchval(
            f"SELECT count(*) FROM (SELECT 1 FROM entities WHERE {' AND '.join(where)}"
            f" AND state->>'town_code' <> ${len(args)} LIMIT {int(cap)}) AS m", *args)

    async def dwellings_of(self, household_id: str) -> list[dict]:
        """Dwellings a household lives in (GIN index on household_ids)."""
        rows = await self.conn.fetch(
            "SELECT state FROM entities WHERE entity_type = 'dwelling' AND state->'household_ids' @> $1::jsonb"
            " ORDER BY entity_id LIMIT 20", json.dumps([household_id]))
        return [json.loads(r["state"]) for r in rows]

    async def dwellings_at(self, address: str, town_code: str | None, limit: int) -> list[dict]:
        """Dwellings whose location contains ``address`` (both folded by address_key),
        optionally in one town."""
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
