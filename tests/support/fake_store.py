"""An in-memory store for the counter's use cases (service.counter.*): the same ports as
service.storage.counter.CounterRepository, over dicts. Transactions roll back on error, so
"a refused request writes nothing" can be checked against the fake as against PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from service.counter.application_records import Application


class FakeCounterStore:
    """Entities by (type, id); audit records in a list; a snapshot per transaction."""

    def __init__(self, node_id: str = "mashiki-1") -> None:
        self.node_id = node_id
        self.entities: dict[tuple[str, str], dict] = {}
        self.audits: list[dict[str, Any]] = []
        self.reviews: dict[str, dict[str, Any]] = {}  # conflict_key -> review item (+ "resolved")
        self._locks: dict[str, asyncio.Lock] = {}
        self._held: list[asyncio.Lock] = []
        self._depth = 0

    @contextlib.asynccontextmanager
    async def transaction(self):
        saved, audits = dict(self.entities), list(self.audits)
        reviews = {k: dict(v) for k, v in self.reviews.items()}
        self._depth += 1
        try:
            yield
        except BaseException:
            self.entities, self.audits, self.reviews = saved, audits, reviews
            raise
        finally:
            self._depth -= 1
            if not self._depth:  # transaction-level locks end with the outermost transaction
                for lock in self._held:
                    lock.release()
                self._held = []

    async def get(self, entity_type, entity_id, *, for_update=False):
        return self.entities.get((entity_type, entity_id))

    async def find(self, entity_type, field, value, *, limit=100):
        return [s for (t, _), s in sorted(self.entities.items()) if t == entity_type and s.get(field) == value][:limit]

    async def put(self, entity_type, entity_id, state, *, insert_only=False):
        if insert_only and (entity_type, entity_id) in self.entities:
            assert self.entities[(entity_type, entity_id)] == state, "insert-only entity changed"
        self.entities[(entity_type, entity_id)] = state

    async def load(self, record_type, entity_id, *, for_update=False):
        state = await self.get(record_type.entity_type, entity_id)
        return record_type.from_state(state) if state is not None else None

    async def find_records(self, record_type, field, value, *, limit=100):
        return [record_type.from_state(s) for s in await self.find(record_type.entity_type, field, value, limit=limit)]

    async def save(self, record, *, insert_only=False):
        await self.put(record.entity_type, record.entity_id, record.to_state(), insert_only=insert_only)

    async def audit(self, **fields):
        self.audits.append(fields)

    async def staff_with_role(self, role, *, limit=500):
        found = [s for (t, _), s in self.entities.items() if t == "staff" and role in s["roles"]]
        return sorted(found, key=lambda s: (s["town_code"], s["display_name"]))[:limit]

    async def certificates_issued(self, issuing_node, issue_date, *, limit):
        found = []
        for (t, number), s in sorted(self.entities.items()):
            if t == "certificate" and s.get("issuing_node") == issuing_node and s.get("issue_date") == issue_date.isoformat():
                app = self.entities.get(("application", s.get("application_id") or ""), {})
                found.append({"number": number, "competent_town": s["competent_town"],
                              "delivery": (app.get("applicant_details") or {}).get("delivery")})
        return found[:limit]

    async def dwellings_of(self, household_id):
        return [s for (t, _), s in sorted(self.entities.items())
                if t == "dwelling" and household_id in s["household_ids"]][:20]

    async def dwellings_at(self, address, town_code, limit):
        return [s for (t, _), s in sorted(self.entities.items()) if t == "dwelling" and address in s["location"]
                and town_code in (None, s["town_code"])][:limit]

    async def disaster_named(self, name, date):
        return next((s for (t, _), s in sorted(self.entities.items())
                     if t == "disaster" and s["name"] == name and s["date"] == date), None)

    async def list_disasters(self, limit):
        found = [s for (t, _), s in self.entities.items() if t == "disaster"]
        return sorted(found, key=lambda s: (s["date"], s["disaster_id"]), reverse=True)[:limit]

    async def applications_for(self, household_id, dwelling_id):
        return [Application.from_state(s) for (t, _), s in sorted(self.entities.items()) if t == "application"
                and s.get("household_id") == household_id and s.get("dwelling_id") == dwelling_id]

    async def revoked_among(self, numbers):
        return {n for n in numbers if ("revocation", n) in self.entities}

    async def lock_triple(self, key):
        lock = self._locks.setdefault(key, asyncio.Lock())
        if lock not in self._held:
            await lock.acquire()
            self._held.append(lock)

    async def save_review(self, triple_key, item):
        keep = item["conflict_key"] if item else None
        for key, open_item in self.reviews.items():
            if open_item["entity_id"] == triple_key and key != keep:
                open_item["resolved"] = True
        if item is not None:
            self.reviews.setdefault(item["conflict_key"], {**item, "resolved": False})

    async def search_residents(self, query, limit):
        raise NotImplementedError("name search needs risai_search_key: tested against PostgreSQL only")
