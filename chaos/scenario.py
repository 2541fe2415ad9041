"""Drill scenarios: TOML files under chaos/scenarios/ (one drill each).

    title = "…"
    duration_s = 60              # how long the workload runs (faults happen inside it)
    convergence_bound_s = 60     # digests must be equal this soon after the workload stops
    [workload]                   # optional; defaults below
    counters_per_node = 2
    kiosks_per_node = 1
    max_requests = 4000          # a hard bound on the whole drill's requests
    contend = false              # during the faults, write one application at two nodes
    duplicate = false            # during a partition, apply for one case at two nodes
    [[faults]]
    kind = "kill_node"           # see chaos.faults.INJECT
    target = "mashiki-1"         # a node, a region, or broker id(s)
    at_s = 10                    # seconds after the workload starts
    for_s = 25                   # undone this long after
    params = { with_db = true }
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"


@dataclass(frozen=True)
class FaultStep:
    kind: str
    target: str
    at_s: float
    for_s: float
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class WorkloadSpec:
    counters_per_node: int = 2
    kiosks_per_node: int = 1
    max_requests: int = 4000
    contend: bool = False
    duplicate: bool = False
    request_timeout_s: float = 5.0


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    description: str
    duration_s: float
    convergence_bound_s: float
    faults: tuple[FaultStep, ...]
    workload: WorkloadSpec = WorkloadSpec()


class ScenarioError(Exception):
    """A scenario file that cannot be run; the message names the file and the field."""


def names() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def load(name_or_path: str) -> Scenario:
    """A scenario by name (chaos/scenarios/NAME.toml) or by file path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SCENARIO_DIR / f"{name_or_path}.toml"
    if not path.exists():
        raise ScenarioError(f"no scenario {name_or_path!r}; known: {', '.join(names())}")
    try:
        data = tomllib.loads(path.read_text())
        return _build(path, data)
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ScenarioError(f"{path}: {type(exc).__name__}: {exc}") from None


def _build(path: Path, data: dict) -> Scenario:
    duration = float(data["duration_s"])
    faults = tuple(FaultStep(str(f["kind"]), str(f["target"]), float(f["at_s"]), float(f["for_s"]),
                             dict(f.get("params", {}))) for f in data.get("faults", []))
    for f in faults:
        if f.at_s < 0 or f.for_s < 0 or f.at_s + f.for_s > duration:
            raise ValueError(f"fault {f.kind} on {f.target} must start and end within duration_s")
    spec = WorkloadSpec(**data.get("workload", {}))
    if (spec.contend or spec.duplicate) and not any(f.kind == "partition" for f in faults):
        raise ValueError("workload.contend and workload.duplicate need a partition fault to act across")
    return Scenario(path.stem, str(data.get("title", path.stem)), str(data.get("description", "")),
                    duration, float(data.get("convergence_bound_s", 60)), faults, spec)
