"""Deterministic convergence and conflict detection, pure.

Rules (DESIGN 4):

* **Winner.** For mutable entities the highest version wins; a version is the encoded HLC
  of the write, which ends with the origin node id, so this is "highest (HLC, origin node)".
  For insert-only entities (certificate, revocation, audit) the *lowest* version wins: the
  first issuance is the record, and a node never silently replaces a certificate it has
  already handed out. Either way the result does not depend on arrival order.
* **Conflict.** Two writes conflict when they are siblings: based on the same version (or
  both creations, base None) but different. Detecting forks in the version graph rather
  than comparing the base with whatever a node happens to hold makes the set of conflicts
  the same on every node whatever the arrival order, and avoids false conflicts on a node
  that receives A's update before the write it was based on (topics are independent).
  Insert-only entities never have sibling conflicts; a second insert with the same id is a
  no-op when its state is identical and an ``insert_only_violation`` conflict otherwise.

The in-memory ``Replica`` is the reference model: the PostgreSQL apply (store.py) makes the
same decisions with the same functions, and the property tests run against this model.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from replication.events import Event

KIND_CONCURRENT = "concurrent_write"
KIND_INSERT_ONLY = "insert_only_violation"


class Outcome(enum.Enum):
    """What applying one event did."""

    APPLIED = "applied"  # the event's state is now the held state
    SUPERSEDED = "superseded"  # recorded in history, but a winning version is held
    DUPLICATE = "duplicate"  # this version was already known: nothing changed


@dataclass(frozen=True)
class Version:
    """One known version of an entity (a row of entity_versions)."""

    version: str
    base_version: str | None
    state: dict[str, Any] = field(hash=False)


@dataclass(frozen=True)
class ConflictPair:
    """Two versions of one entity that conflict; ``key`` is the same on every node."""

    entity_type: str
    entity_id: str
    kind: str
    local: Version
    remote: Version
    winner: str

    @property
    def key(self) -> str:
        """Order-independent identity: type, id and the two versions sorted."""
        low, high = sorted((self.local.version, self.remote.version))
        return f"{self.entity_type}/{self.entity_id}/{low}/{high}"


def wins(incoming: str, held: str | None, insert_only: bool) -> bool:
    """Whether version ``incoming`` replaces the held version (see module docstring)."""
    if held is None:
        return True
    return incoming < held if insert_only else incoming > held


def pair_winner(a: str, b: str, insert_only: bool) -> str:
    """The winning version of two."""
    return min(a, b) if insert_only else max(a, b)


def find_conflicts(event: Event, known: Iterable[Version]) -> list[ConflictPair]:
    """Conflicts that ``event`` forms with already known versions of the same entity."""
    mine = Version(event.hlc, event.base_version, event.state)
    out = []
    for other in known:
        if other.version == event.hlc:
            continue
        if event.insert_only:
            clash, kind = other.state != event.state, KIND_INSERT_ONLY
        else:
            clash, kind = other.base_version == event.base_version, KIND_CONCURRENT
        if clash:
            winner = pair_winner(other.version, event.hlc, event.insert_only)
            out.append(ConflictPair(event.entity_type, event.entity_id, kind, other, mine,
                                    winner))
    return out


EntityRef = tuple[str, str]  # (entity_type, entity_id)


@dataclass
class BatchPlan:
    """What applying a batch of events does, decided in memory; store.apply_events writes it.

    ``outcomes[i]`` is events[i]'s outcome and the conflicts it formed; ``new_versions``
    are the events to record in history (no duplicates), ``winners`` the entities whose
    held version changes, with the final winning event, and ``conflicts`` every new pair.
    """

    outcomes: list[tuple[Outcome, list[ConflictPair]]] = field(default_factory=list)
    new_versions: list[Event] = field(default_factory=list)
    winners: dict[EntityRef, Event] = field(default_factory=dict)
    conflicts: list[ConflictPair] = field(default_factory=list)


def plan_batch(events: Sequence[Event], held: Mapping[EntityRef, str],
               known: Mapping[EntityRef, Iterable[Version]]) -> BatchPlan:
    """Apply ``events`` in order, exactly as ``Replica.apply`` one by one would.

    ``held`` is the held version per entity before the batch; ``known`` the versions
    already recorded that matter to this batch: at least every version equal to an event's
    version, every version sharing a mutable event's base, and every version of an entity
    with an insert-only event (the rest can neither be a duplicate nor form a conflict).
    """
    history = {ref: {v.version: v for v in versions} for ref, versions in known.items()}
    current = dict(held)
    plan = BatchPlan()
    for event in events:
        ref = (event.entity_type, event.entity_id)
        versions = history.setdefault(ref, {})
        if event.hlc in versions:
            plan.outcomes.append((Outcome.DUPLICATE, []))
            continue
        pairs = find_conflicts(event, versions.values())
        versions[event.hlc] = Version(event.hlc, event.base_version, event.state)
        plan.new_versions.append(event)
        plan.conflicts.extend(pairs)
        if wins(event.hlc, current.get(ref), event.insert_only):
            current[ref] = event.hlc
            plan.winners[ref] = event
            plan.outcomes.append((Outcome.APPLIED, pairs))
        else:
            plan.outcomes.append((Outcome.SUPERSEDED, pairs))
    return plan


@dataclass
class Replica:
    """In-memory reference model of one node's replicated state."""

    held: dict[tuple[str, str], Version] = field(default_factory=dict)
    history: dict[tuple[str, str], dict[str, Version]] = field(default_factory=dict)
    conflicts: dict[str, ConflictPair] = field(default_factory=dict)

    def apply(self, event: Event) -> Outcome:
        """Apply one event: idempotent, and commutative with every other event."""
        ref = (event.entity_type, event.entity_id)
        known = self.history.setdefault(ref, {})
        if event.hlc in known:
            return Outcome.DUPLICATE
        for pair in find_conflicts(event, known.values()):
            self.conflicts.setdefault(pair.key, pair)
        version = Version(event.hlc, event.base_version, event.state)
        known[event.hlc] = version
        current = self.held.get(ref)
        if wins(event.hlc, current.version if current else None, event.insert_only):
            self.held[ref] = version
            return Outcome.APPLIED
        return Outcome.SUPERSEDED

    def snapshot(self) -> dict[tuple[str, str], tuple[str, Any]]:
        """Held (version, state) per entity, for comparing replicas."""
        return {ref: (v.version, v.state) for ref, v in self.held.items()}
