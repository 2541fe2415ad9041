"""Replication events: frozen, versioned, upcast on read, pure.

Wire form (documented with a fixed vector in docs/replication.md): canonical JSON, i.e.
UTF-8, object keys sorted, no insignificant whitespace, non-ASCII characters kept as is,
no NaN/Infinity. The same bytes are what the origin node signs (see envelope.py), what the
outbox stores, and what a digest would hash, so two encoders always agree byte for byte.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field, fields
from typing import Any, Callable

from replication import hlc
from replication.errors import MalformedEvent, UnknownSchemaVersion


@dataclass(frozen=True)
class Change:
    """One local change to record (replication.outbox.record_changes makes its event): the
    entity's whole new state. Pure, so use cases can build changes without the outbox's I/O."""

    entity_type: str
    entity_id: str
    state: dict[str, Any]
    insert_only: bool = False

SCHEMA_VERSION = 2
ENTITY_TYPE_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_ENTITY_ID = 200
# Insert-only types never change after creation and never conflict (DESIGN 4).
INSERT_ONLY_TYPES = frozenset({"certificate", "revocation", "audit"})

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
# UPCASTERS[n] turns a schema-n dict into a schema-(n+1) dict. Add one per version bump and
# never edit an old one: events of every version stay in Kafka for rebuilds.
UPCASTERS: dict[int, Upcaster] = {}


def upcaster(from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register ``fn`` as the upcaster from ``from_version`` to ``from_version + 1``."""

    def register(fn: Upcaster) -> Upcaster:
        if from_version in UPCASTERS:
            raise ValueError(f"duplicate upcaster for schema version {from_version}")
        UPCASTERS[from_version] = fn
        return fn

    return register


@upcaster(1)
def _v1_to_v2(raw: dict[str, Any]) -> dict[str, Any]:
    """v1 called the origin fields ``node`` and ``town`` and had no insert_only flag."""
    out = {k: v for k, v in raw.items() if k not in ("node", "town")}
    out["origin_node"] = raw.get("node")
    out["origin_town"] = raw.get("town")
    out["insert_only"] = raw.get("entity_type") in INSERT_ONLY_TYPES
    out["schema_version"] = 2
    return out


@dataclass(frozen=True)
class Event:
    """One change of one entity: its whole new state, its base version and its HLC."""

    event_id: str
    origin_node: str
    origin_town: str
    entity_type: str
    entity_id: str
    state: dict[str, Any] = field(hash=False)
    base_version: str | None
    hlc: str
    insert_only: bool = False
    schema_version: int = SCHEMA_VERSION

    @property
    def timestamp(self) -> hlc.Timestamp:
        """The decoded HLC (also the version this event produces)."""
        return hlc.decode(self.hlc)

    @property
    def key(self) -> bytes:
        """Kafka message key: per-entity order holds because one key maps to one partition."""
        return f"{self.entity_type}:{self.entity_id}".encode()


_EVENT_FIELDS = tuple(f.name for f in fields(Event))


def canonical_json(obj: Any) -> bytes:
    """Canonical JSON bytes (sorted keys, compact, UTF-8, no NaN)."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def new_event_id() -> str:
    """A random event id (uuid4, canonical text form)."""
    return str(uuid.uuid4())


def encode(event: Event) -> bytes:
    """The event's wire form (canonical JSON of all fields)."""
    # A shallow dict, not dataclasses.asdict: asdict deep-copies the state first, which
    # was most of a 100k-row import's CPU time. The JSON bytes are the same.
    return canonical_json({name: getattr(event, name) for name in _EVENT_FIELDS})


def decode(data: bytes) -> Event:
    """Parse, upcast and validate wire bytes; raises MalformedEvent or UnknownSchemaVersion."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedEvent(f"not UTF-8 JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise MalformedEvent("event is not a JSON object")
    return from_dict(upcast(raw))


def upcast(raw: dict[str, Any]) -> dict[str, Any]:
    """Bring a raw dict of any known schema version up to SCHEMA_VERSION."""
    version = raw.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise MalformedEvent(f"schema_version must be a positive integer, got {version!r}")
    if version > SCHEMA_VERSION:
        raise UnknownSchemaVersion(
            f"schema_version {version} is newer than supported ({SCHEMA_VERSION})"
        )
    while version < SCHEMA_VERSION:
        step = UPCASTERS.get(version)
        if step is None:
            raise UnknownSchemaVersion(f"no upcaster from schema_version {version}")
        raw = step(raw)
        version = raw["schema_version"]
    return raw


_FIELDS = {
    "event_id": str, "origin_node": str, "origin_town": str, "entity_type": str,
    "entity_id": str, "state": dict, "hlc": str, "insert_only": bool, "schema_version": int,
}


def from_dict(raw: dict[str, Any]) -> Event:
    """Validate a current-version dict and build the Event."""
    extra = set(raw) - set(_FIELDS) - {"base_version"}
    if extra:
        raise MalformedEvent(f"unknown fields: {sorted(extra)}")
    for name, typ in _FIELDS.items():
        if not isinstance(raw.get(name), typ):
            raise MalformedEvent(f"field {name!r} must be {typ.__name__}")
    base = raw.get("base_version")
    if base is not None and not isinstance(base, str):
        _bad("base_version must be a string or null")
    if base is not None:
        hlc.decode(base)
    stamp = hlc.decode(raw["hlc"])
    if stamp.node_id != raw["origin_node"]:
        _bad("hlc node id differs from origin_node")
    if not ENTITY_TYPE_RE.match(raw["entity_type"]):
        _bad(f"invalid entity_type {raw['entity_type']!r}")
    if not 0 < len(raw["entity_id"]) <= MAX_ENTITY_ID:
        _bad("entity_id must be 1 to 200 characters")
    try:
        uuid.UUID(raw["event_id"])
    except ValueError:
        _bad(f"event_id is not a UUID: {raw['event_id']!r}")
    return Event(**{k: raw.get(k) for k in (*_FIELDS, "base_version")})


def _bad(message: str) -> None:
    raise MalformedEvent(message)
