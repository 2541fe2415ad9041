"""Hybrid logical clock (HLC), pure.

A timestamp is ``(wall_ms, counter, node_id)`` and is totally ordered in that field order, so
``(HLC, origin node)`` comparison is plain timestamp comparison. Time comes in as an
argument (``physical_ms``); nothing here reads a clock.

Encoding: ``"%012x-%06x-%s" % (wall_ms, counter, node_id)``, e.g.
``"018f1a2b3c4d-000000-mashiki-1"``. The two numeric fields are fixed-width lowercase hex, so
byte-wise string order equals timestamp order. PostgreSQL columns holding encoded HLCs are
declared ``COLLATE "C"`` (byte order) because locale collations may ignore the ``-``.
Node ids are restricted to ``[a-z0-9][a-z0-9._-]*`` (ASCII) for the same reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from replication.errors import MalformedEvent

WALL_HEX = 12  # 48 bits of milliseconds: until the year 10889
COUNTER_HEX = 6
COUNTER_MAX = 16**COUNTER_HEX - 1
NODE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_ENCODED_RE = re.compile(r"^([0-9a-f]{12})-([0-9a-f]{6})-([a-z0-9][a-z0-9._-]{0,62})$")
DEFAULT_MAX_DRIFT_MS = 300_000


@dataclass(frozen=True, order=True)
class Timestamp:
    """One HLC reading; ``order=True`` compares (wall_ms, counter, node_id)."""

    wall_ms: int
    counter: int
    node_id: str

    def __post_init__(self) -> None:
        if not 0 <= self.wall_ms < 16**WALL_HEX:
            raise ValueError(f"wall_ms out of range: {self.wall_ms}")
        if not 0 <= self.counter <= COUNTER_MAX:
            raise ValueError(f"counter out of range: {self.counter}")
        if not NODE_ID_RE.match(self.node_id):
            raise ValueError(f"invalid node id: {self.node_id!r}")

    def encode(self) -> str:
        """Fixed-width sortable text form (see module docstring)."""
        return f"{self.wall_ms:012x}-{self.counter:06x}-{self.node_id}"

    def __str__(self) -> str:
        return self.encode()


def decode(text: str) -> Timestamp:
    """Parse an encoded HLC; raises MalformedEvent on anything else."""
    m = _ENCODED_RE.match(text) if isinstance(text, str) else None
    if m is None:
        raise MalformedEvent(f"not an HLC timestamp: {text!r}")
    return Timestamp(int(m.group(1), 16), int(m.group(2), 16), m.group(3))


def zero(node_id: str) -> Timestamp:
    """The lowest timestamp for a node (what a fresh node starts from)."""
    return Timestamp(0, 0, node_id)


def _advance(node_id: str, wall_ms: int, counter: int) -> Timestamp:
    # A counter overflow (65k events in one millisecond) borrows the next millisecond rather
    # than failing: order is still strictly increasing, wall time runs slightly ahead.
    if counter > COUNTER_MAX:
        return Timestamp(wall_ms + 1, 0, node_id)
    return Timestamp(wall_ms, counter, node_id)


def tick(last: Timestamp, physical_ms: int) -> Timestamp:
    """A new local timestamp, strictly greater than ``last`` even if the clock went back."""
    if physical_ms > last.wall_ms:
        return Timestamp(physical_ms, 0, last.node_id)
    return _advance(last.node_id, last.wall_ms, last.counter + 1)


def ahead_ms(remote: Timestamp, physical_ms: int) -> int:
    """How far ``remote`` is ahead of the local clock (ms; 0 when it is not ahead)."""
    return max(0, remote.wall_ms - physical_ms)


def receive(
    last: Timestamp,
    remote: Timestamp,
    physical_ms: int,
    max_drift_ms: int = DEFAULT_MAX_DRIFT_MS,
) -> Timestamp:
    """Merge a remote timestamp: the result is greater than ``last``, and than ``remote``
    when ``remote`` is at most ``max_drift_ms`` ahead of ``physical_ms``.

    The result keeps the local node id. A remote timestamp further ahead is merged as if
    it were ``physical_ms + max_drift_ms`` (clamped): the event itself is still applied
    (a valid signed event is never dropped for clock reasons, and convergence by
    (HLC, node) stays deterministic), but one node with a clock in 2099 cannot drag every
    other node's clock there. The result never exceeds ``max(last, physical_ms +
    max_drift_ms)`` (but for a counter overflow's borrowed millisecond).
    """
    limit = physical_ms + max_drift_ms
    if remote.wall_ms > limit:
        remote = Timestamp(limit, 0, remote.node_id)
    wall = max(last.wall_ms, remote.wall_ms, physical_ms)
    if wall == last.wall_ms and wall == remote.wall_ms:
        counter = max(last.counter, remote.counter) + 1
    elif wall == last.wall_ms:
        counter = last.counter + 1
    elif wall == remote.wall_ms:
        counter = remote.counter + 1
    else:
        counter = 0
    return _advance(last.node_id, wall, counter)


def after(last: Timestamp, floor: Timestamp | None, physical_ms: int) -> Timestamp:
    """A local timestamp greater than ``last`` and than ``floor`` (e.g. the base version).

    Used for local writes so that a write based on a remote version always sorts after
    it, even when the remote clock runs ahead: otherwise the base would win against the
    write that replaced it. ``floor`` is not clamped (unlike receive): it is already in
    our database, and a write must beat the version it replaces however far ahead it is.
    """
    if floor is not None:
        # Same wall/counter as the floor under our own id, then tick: tick strictly raises
        # wall or counter, so the result beats the floor whatever the node ids are.
        last = max(last, Timestamp(floor.wall_ms, floor.counter, last.node_id))
    return tick(last, physical_ms)
