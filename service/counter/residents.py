"""Residents (住民) and dwellings (住家) at the counter: search and read.

Results from another town need a stated reason and each one is audited (DESIGN 6). Use
cases over the narrow :class:`ResidentStore` port; the SQL is service.storage.counter.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Protocol

from service.counter.access import Actor, AuditedStore, audit_other_towns, needs_reason
from service.errors import InvalidRequest, NotFound


@dataclasses.dataclass(frozen=True)
class ResidentQuery:
    """What a clerk searches residents by (blank criteria are absent)."""

    name: str | None = None
    kana: str | None = None
    birth_date: dt.date | None = None
    address: str | None = None
    town_code: str | None = None

    def has_criteria(self) -> bool:
        """At least one of name, kana, birth date, address (town alone is not a search)."""
        return any((self.name, self.kana, self.birth_date, self.address))


class ResidentStore(AuditedStore, Protocol):
    """The searches the counter needs, on top of read/write/audit."""

    async def search_residents(self, query: ResidentQuery, limit: int) -> list[dict]: ...

    async def count_residents_elsewhere(self, query: ResidentQuery, town_code: str, cap: int) -> int: ...

    async def dwellings_of(self, household_id: str) -> list[dict]: ...

    async def dwellings_at(self, address: str, town_code: str | None, limit: int) -> list[dict]: ...


OTHER_TOWN_COUNT_CAP = 1000  # counting stops here: "1000 or more" is enough to say


async def search_residents(store: ResidentStore, actor: Actor, query: ResidentQuery, limit: int,
                           *, reason_given: bool) -> tuple[list[dict[str, Any]], int]:
    """(residents matching the query, other towns' matches not shown).

    Without a town and without a stated reason, this town's matches are returned and the
    other towns' matches only counted (at most OTHER_TOWN_COUNT_CAP): seeing them needs a
    reason, and each one then shown is audited.
    """
    if not query.has_criteria():
        raise InvalidRequest.about("name", "give at least one of name, kana, birth_date, address",
                                   "search.criteria_required")
    hidden = 0
    async with store.transaction():
        if query.town_code is None and not reason_given:
            own = actor.staff.town_code
            hidden = await store.count_residents_elsewhere(query, own, OTHER_TOWN_COUNT_CAP)
            query = dataclasses.replace(query, town_code=own)
        found = await store.search_residents(query, limit)
        needs_reason(actor, {r["town_code"] for r in found})
        for resident in found:
            await audit_other_towns(store, actor, towns={resident["town_code"]}, action="resident.search",
                                    subject_type="resident", subject_id=resident["resident_id"])
    return found, hidden


async def read_resident(store: ResidentStore, actor: Actor, resident_id: str) -> tuple[dict, dict | None, list]:
    """(resident, household, dwellings), audited for another town's resident."""
    async with store.transaction():
        resident = await store.get("resident", resident_id)
        if resident is None:
            raise NotFound(f"no resident {resident_id}", code="resident.not_found")
        household = await store.get("household", resident["household_id"])
        dwellings = await store.dwellings_of(resident["household_id"])
        await audit_other_towns(store, actor, towns={resident["town_code"]}, action="resident.read",
                                subject_type="resident", subject_id=resident_id)
    return resident, household, dwellings


async def find_dwellings(store: ResidentStore, *, resident_id: str | None, household_id: str | None,
                         address: str | None, town_code: str | None, limit: int) -> list[dict]:
    """Dwellings of a resident, of a household, or at an address (the first one given)."""
    if resident_id:
        resident = await store.get("resident", resident_id)
        found = await store.dwellings_of(resident["household_id"]) if resident else []
    elif household_id:
        found = await store.dwellings_of(household_id)
    elif address:
        found = await store.dwellings_at(address, town_code, limit)
    else:
        raise InvalidRequest.about("address", "give one of address, household_id, resident_id",
                                   "search.criteria_required")
    return found[:limit]


async def read_dwelling(store: ResidentStore, dwelling_id: str) -> tuple[dict, list, list[str]]:
    """(dwelling, its surveys, ids of its applications)."""
    dwelling = await store.get("dwelling", dwelling_id)
    if dwelling is None:
        raise NotFound(f"no dwelling {dwelling_id}", code="dwelling.not_found")
    surveys = await store.find("survey", "dwelling_id", dwelling_id)
    applications = await store.find("application", "dwelling_id", dwelling_id)
    return dwelling, surveys, [a["application_id"] for a in applications]
