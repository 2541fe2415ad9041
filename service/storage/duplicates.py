"""SQL of the one-current-certificate rule (service.counter.duplicates): the index-backed
look-up of a household's applications for a dwelling (migration 0420), the triple lock,
and the review items, which are rows of the replication conflicts table (the review queue
of service/api/conflicts.py) with kind ``duplicate_certificate``."""

from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Any, Sequence, TypeVar

import asyncpg

from replication.events import Event
from replication.store import lock_entity_store, state_json
from service.counter import duplicates
from service.counter.application_records import Application
from service.counter.record_state import RecordBase

R = TypeVar("R", bound=RecordBase)
log = logging.getLogger(__name__)

# Matches the expressions of entities_application_household_dwelling (migration 0420).
APPLICATIONS_FOR_SQL = ("SELECT state FROM entities WHERE entity_type = 'application'"
                        " AND state->>'household_id' = $1 AND state->>'dwelling_id' = $2")
REVOKED_AMONG_SQL = ("SELECT entity_id FROM entities WHERE entity_type = 'revocation'"
                     " AND entity_id = ANY($1::text[])")
# The two-int advisory key space, apart from the entity-store lock ("RISA", 1) and the
# single-bigint keys: "DUPE" and the triple's hash. A hash collision only serialises two
# unrelated triples for a moment.
LOCK_SQL = "SELECT pg_advisory_xact_lock(x'44555045'::int, hashtext($1))"
INSERT_SQL = (
    "INSERT INTO conflicts (conflict_key, kind, entity_type, entity_id, base_version, local_version,"
    " local_state, remote_version, remote_state, winner) VALUES ($1, $2, $3, $4, NULL, $5, $6::jsonb,"
    " $7, $8::jsonb, $9) ON CONFLICT (conflict_key) DO NOTHING")
CLOSE_SQL = (
    "UPDATE conflicts SET resolved_at = now(), resolved_by = 'system', resolution = $3"
    " WHERE kind = $1 AND entity_type = $4 AND entity_id = $2 AND resolved_at IS NULL"
    " AND conflict_key IS DISTINCT FROM $5")
TRIPLES_SQL = "SELECT DISTINCT entity_id FROM conflicts WHERE kind = $1 AND entity_type = $2"
MARKER_SQL = ("SELECT count(*), max(detected_at), max(resolved_at) FROM conflicts"
              " WHERE kind = $1 AND entity_type = $2")


class DuplicateQueries:
    """Mixed into the counter's repository (it has ``conn``): duplicates.DuplicateStore."""

    conn: asyncpg.Connection

    async def applications_for(self, household_id: str, dwelling_id: str) -> list[Application]:
        """Every application of this household for this dwelling (one index probe)."""
        await self.flush()  # the reads see this transaction's collected writes (repository.py)
        rows = await self.conn.fetch(APPLICATIONS_FOR_SQL, household_id, dwelling_id)
        return [Application.from_state(json.loads(r["state"])) for r in rows]

    async def revoked_among(self, numbers: Sequence[str]) -> set[str]:
        """Which of these certificate numbers are revoked."""
        if not numbers:
            return set()
        await self.flush()
        return {r["entity_id"] for r in await self.conn.fetch(REVOKED_AMONG_SQL, list(numbers))}

    async def lock_triple(self, key: str) -> None:
        """A transaction-level advisory lock on the triple. Taken before the receiving
        transaction reads or locks anything else, and never by the consumer, so it adds no
        lock cycle (see replication.store ENTITY_STORE_LOCK for the order of the others)."""
        await self.conn.execute(LOCK_SQL, key)

    async def save_review(self, triple_key: str, item: dict[str, Any] | None) -> None:
        """Record the review item (idempotent by its key) and close the triple's other open
        items. Writers of conflicts hold the entity-store lock: the consumer's batch does,
        and a local revocation has taken it in record_change before this runs."""
        keep = item["conflict_key"] if item else None
        resolution = ("another review item replaced this one" if item else
                      "at most one current application is left (the others were revoked or withdrawn)")
        await self.conn.execute(CLOSE_SQL, duplicates.KIND, triple_key, resolution,
                                duplicates.ENTITY_TYPE, keep)
        if item is not None:
            await self.conn.execute(INSERT_SQL, item["conflict_key"], item["kind"], item["entity_type"],
                                    item["entity_id"], item["local_version"], state_json(item["local_state"]),
                                    item["remote_version"], state_json(item["remote_state"]), item["winner"])

    async def under_review_numbers(self) -> list[str]:
        """Every certificate under review now: candidates are the triples that ever had a
        review item; the status comes from the data (duplicates.under_review's rule)."""
        out: list[str] = []
        for row in await self.conn.fetch(TRIPLES_SQL, duplicates.KIND, duplicates.ENTITY_TYPE):
            apps = await duplicates.current_applications(self, duplicates.Triple.parse(row["entity_id"]))
            if len(apps) >= 2:
                out.extend(a.current_certificate for a in apps if a.current_certificate)
        return out

    async def review_marker(self) -> tuple:
        """Changes when a review item is opened or closed (the status lists' rebuild marker)."""
        return tuple(await self.conn.fetchrow(MARKER_SQL, duplicates.KIND, duplicates.ENTITY_TYPE))


class _ConsumerStore(DuplicateQueries):
    """The consumer's connection, inside its batch transaction, as a DuplicateStore."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def flush(self) -> None:
        """Nothing is collected here: the consumer writes through apply_events directly."""

    async def get(self, entity_type: str, entity_id: str, *, for_update: bool = False) -> dict | None:
        raw = await self.conn.fetchval("SELECT state FROM entities WHERE entity_type = $1 AND entity_id = $2",
                                       entity_type, entity_id)
        return json.loads(raw) if raw is not None else None

    async def load(self, record_type: type[R], entity_id: str, *, for_update: bool = False) -> R | None:
        state = await self.get(record_type.entity_type, entity_id)
        return record_type.from_state(state) if state is not None else None


# Households with two or more 罹災証明書 applications for one dwelling: the only places a
# duplicate can be. One scan of the applications, run once at node start.
CANDIDATES_SQL = ("SELECT state->>'household_id' AS h, state->>'dwelling_id' AS d FROM entities"
                  " WHERE entity_type = 'application' AND state->>'kind' = 'risai'"
                  " AND state->>'dwelling_id' IS NOT NULL GROUP BY 1, 2 HAVING count(*) >= 2")


# The triples with an open review item: the sweep looks at them again too (one may have lost
# its second current application while the post-apply step could not run).
OPEN_TRIPLES_SQL = ("SELECT DISTINCT entity_id FROM conflicts WHERE kind = $1 AND entity_type = $2"
                    " AND resolved_at IS NULL")


async def sweep(conn: asyncpg.Connection) -> int:
    """At node start: review every triple that may hold a duplicate, so review items exist
    after a rebuild from Kafka (which applies without the post-apply step) or after a
    post-apply step that failed. Idempotent; returns how many items are open.

    Only triples with two or more applications, or with an open item, are reviewed: a
    household applies for one dwelling under many disasters, and reviewing each of those
    triples made a node with 7,700 applications take two minutes to start (the rolling-
    restart drill's node missed its 120 s readiness bound)."""
    async with conn.transaction():
        await lock_entity_store(conn)  # writers of conflicts hold it (replication.store)
        store = _ConsumerStore(conn)
        triples: set[duplicates.Triple] = set()
        for row in await conn.fetch(CANDIDATES_SQL):
            held = Counter(t for a in await store.applications_for(row["h"], row["d"])
                           if (t := duplicates.triple_of(a)))
            triples.update(t for t, n in held.items() if n >= 2)
        for row in await conn.fetch(OPEN_TRIPLES_SQL, duplicates.KIND, duplicates.ENTITY_TYPE):
            triples.add(duplicates.Triple.parse(row["entity_id"]))
        opened = 0
        for triple in sorted(triples, key=lambda t: t.key):
            opened += await duplicates.review(store, triple) is not None
    return opened


async def review_applied(conn: asyncpg.Connection, events: Sequence[Event]) -> int:
    """The replication consumer's post-apply step (apply.ApplyContext.after_apply): review
    the triples the batch touched, in the batch's transaction. Idempotent: replaying a batch
    finds the same items (same keys) and writes nothing new."""
    return await duplicates.review_events(
        _ConsumerStore(conn), [Application.from_state(e.state) for e in events if e.entity_type == "application"],
        [e.entity_id for e in events if e.entity_type == "revocation"])
