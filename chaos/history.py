"""What happened during a drill: every request, every fault, and replication lag samples.

The history is the evidence the checker judges. It is plain data (frozen dataclasses) and is
saved as JSON lines so a drill can be re-checked later. Times are seconds since the drill
started (a monotonic clock), so they do not depend on any node's, possibly skewed, clock.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OK = "ok"
REJECTED = "rejected"  # the node answered with a clear refusal (4xx): not an outage
FAILED = "failed"  # 5xx, connection refused or reset, timeout: the node was unavailable

WRITE_OPS = ("apply", "judge", "issue", "update")


@dataclass(frozen=True)
class Op:
    """One request: who sent it where, when, and how it ended."""

    client: str
    node: str
    op: str  # apply | judge | issue | verify | update | …
    start: float
    end: float
    outcome: str  # OK | REJECTED | FAILED
    status: int | None = None
    certificate: str | None = None  # 整理番号 of an issued certificate
    qr: str | None = None  # the signed QR string the node returned
    entity: str | None = None  # "type:id" of the entity a write changed
    base: str | None = None  # the version the write was based on (when the API says)
    detail: str = ""

    @property
    def acknowledged(self) -> bool:
        return self.outcome == OK


@dataclass(frozen=True)
class Fault:
    """One injected fault: what, at whom, from when until it was undone."""

    name: str
    kind: str
    target: str
    start: float
    end: float | None = None
    detail: str = ""


@dataclass(frozen=True)
class LagSample:
    """Replication lag (offsets) one node reported for one origin at time t."""

    t: float
    node: str
    origin: str
    lag: float


@dataclass
class History:
    """A drill's record; appended to while the drill runs, then frozen into JSON."""

    ops: list[Op] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    lag: list[LagSample] = field(default_factory=list)
    # Drill-level times: when the last fault was undone, when the nodes converged.
    marks: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"ops": [dataclasses.asdict(o) for o in self.ops],
                "faults": [dataclasses.asdict(f) for f in self.faults],
                "lag": [dataclasses.asdict(s) for s in self.lag], "marks": dict(self.marks)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> History:
        return cls([Op(**o) for o in data.get("ops", [])], [Fault(**f) for f in data.get("faults", [])],
                   [LagSample(**s) for s in data.get("lag", [])], dict(data.get("marks", {})))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False))

    @classmethod
    def load(cls, path: Path) -> History:
        return cls.from_json(json.loads(path.read_text()))

    def fault_window(self) -> tuple[float, float] | None:
        """From the first fault's start to the last fault's end (None without faults)."""
        if not self.faults:
            return None
        end = max((f.end if f.end is not None else f.start) for f in self.faults)
        return min(f.start for f in self.faults), end
