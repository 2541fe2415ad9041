"""The drill's verdict: invariants over the history and the nodes' final states (pure).

No I/O here: the caller gathers each node's final state (chaos/observe.py) and passes a
``verify`` function (the real one wraps certs.verify.verify with the trust list), so the
checker can be fed known-bad histories in unit tests.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable

from chaos.history import FAILED, OK, REJECTED, WRITE_OPS, History, Op

# Returns None when a QR string verifies, else the reason it does not.
DUPLICATE_BASE = "duplicate:"  # Op.base of an application the duplicator sent at two nodes
DUPLICATES_TRIED = "duplicates_tried"  # History.marks: how many households it applied for twice
Verifier = Callable[[str], str | None]


@dataclass(frozen=True)
class NodeState:
    """What one node holds after healing."""

    node: str
    digest: str
    rows: int
    certificates: tuple[tuple[str, str], ...]  # (整理番号, signed QR string), as stored
    conflicts: frozenset[str] = frozenset()  # "type:id" of every entity with a recorded conflict
    reviews: frozenset[frozenset[str]] = frozenset()  # application ids of each open duplicate review item


@dataclass(frozen=True)
class Invariant:
    name: str
    ok: bool
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    invariants: tuple[Invariant, ...]
    availability: dict[str, dict[str, float]] = field(default_factory=dict)
    convergence_s: float | None = None

    @property
    def ok(self) -> bool:
        return all(i.ok for i in self.invariants)

    def failed(self) -> list[Invariant]:
        return [i for i in self.invariants if not i.ok]


def check(history: History, states: Iterable[NodeState], verify: Verifier, *,
          convergence_bound_s: float) -> Verdict:
    """Every invariant of DESIGN 7, plus availability and time to converge."""
    states = list(states)
    convergence = converge_time(history)
    invariants = (
        acknowledged_everywhere(history, states),
        unique_numbers(history, states),
        certificates_verify(history, states, verify),
        converged(states, convergence, convergence_bound_s),
        conflicts_surfaced(history, states),
    )
    if history.marks.get(DUPLICATES_TRIED):
        invariants += (duplicates_reviewed(history, states),)
    return Verdict(invariants, availability(history), convergence)


def acknowledged_everywhere(history: History, states: list[NodeState]) -> Invariant:
    """Every certificate a node acknowledged exists on every node after healing."""
    problems = []
    held = {s.node: {number for number, _ in s.certificates} for s in states}
    for op in history.ops:
        if not (op.acknowledged and op.certificate):
            continue
        missing = sorted(node for node, numbers in held.items() if op.certificate not in numbers)
        if missing:
            problems.append(f"acknowledged certificate {op.certificate} (issued by {op.node} at "
                            f"t={op.start:.1f}s) is missing on {', '.join(missing)}")
    return Invariant("no acknowledged certificate lost", not problems, tuple(problems))


def unique_numbers(history: History, states: list[NodeState]) -> Invariant:
    """No 整理番号 names two different certificates, in the history or on any node."""
    contents: dict[str, set[str]] = defaultdict(set)
    problems = []
    for op in history.ops:
        if op.acknowledged and op.certificate and op.qr:
            contents[op.certificate].add(op.qr)
    for s in states:
        seen: set[str] = set()
        for number, qr in s.certificates:
            if number in seen:
                problems.append(f"整理番号 {number} appears twice on {s.node}")
            seen.add(number)
            contents[number].add(qr)
    for number, qrs in sorted(contents.items()):
        if len(qrs) > 1:
            problems.append(f"整理番号 {number} is used by {len(qrs)} different certificates")
    return Invariant("no duplicate 整理番号", not problems, tuple(problems))


def certificates_verify(history: History, states: list[NodeState], verify: Verifier) -> Invariant:
    """Every certificate handed out or stored verifies against the trust list."""
    qrs: dict[str, str] = {}
    for op in history.ops:
        if op.acknowledged and op.qr:
            qrs.setdefault(op.qr, f"{op.certificate} from {op.node}")
    for s in states:
        for number, qr in s.certificates:
            qrs.setdefault(qr, f"{number} on {s.node}")
    problems = []
    for qr, where in qrs.items():
        reason = verify(qr)
        if reason is not None:
            problems.append(f"certificate {where} does not verify: {reason}")
    return Invariant("every certificate verifies", not problems, tuple(problems))


def converge_time(history: History) -> float | None:
    """Seconds from healing (and the workload stopping) to equal digests (None: never)."""
    done = history.marks.get("converged")
    if done is None:
        return None
    # Digests can only settle once writes stop, so the clock starts at whichever is later:
    # the last fault undone, or the workload stopped.
    start = max(history.marks.get("healed", 0.0), history.marks.get("quiesced", 0.0))
    return max(0.0, done - start)


def converged(states: list[NodeState], seconds: float | None, bound: float) -> Invariant:
    """All digests equal, reached within the scenario's bound after healing."""
    problems = []
    digests = defaultdict(list)
    for s in states:
        digests[s.digest].append(f"{s.node} ({s.rows} rows)")
    if len(digests) > 1:
        groups = "; ".join(f"{d[:12]}…: {', '.join(nodes)}" for d, nodes in digests.items())
        problems.append(f"nodes diverged: {groups}")
    if seconds is None:
        problems.append(f"digests were not equal within {bound:.0f}s of healing")
    elif seconds > bound:
        problems.append(f"converged after {seconds:.1f}s, over the bound of {bound:.0f}s")
    return Invariant("all nodes converge", not problems, tuple(problems))


def concurrent_writes(ops: list[Op]) -> list[tuple[Op, Op]]:
    """Pairs of acknowledged writes to one entity at two nodes that did not see each other:
    both based on the same version, or (when the API gives no base) overlapping in time."""
    by_entity: dict[str, list[Op]] = defaultdict(list)
    for op in ops:
        if op.acknowledged and op.entity and op.op in WRITE_OPS:
            by_entity[op.entity].append(op)
    pairs = []
    for writes in by_entity.values():
        for i, a in enumerate(writes):
            for b in writes[i + 1:]:
                if a.node == b.node:
                    continue
                if a.base is not None and b.base is not None:
                    concurrent = a.base == b.base
                else:
                    concurrent = a.start < b.end and b.start < a.end
                if concurrent:
                    pairs.append((a, b))
    return pairs


def conflicts_surfaced(history: History, states: list[NodeState]) -> Invariant:
    """Every concurrent write pair shows up as a conflict on every node."""
    problems = []
    for a, b in concurrent_writes(history.ops):
        missing = sorted(s.node for s in states if a.entity not in s.conflicts)
        if missing:
            problems.append(f"concurrent writes to {a.entity} at {a.node} and {b.node} "
                            f"show no conflict on {', '.join(missing)}")
    return Invariant("every concurrent write is a conflict", not problems, tuple(problems))


def duplicate_pairs(ops: list[Op]) -> dict[str, frozenset[str]]:
    """Per household case the duplicator tried: the application ids accepted at two or more
    different nodes (one case's applications on both sides of a partition)."""
    accepted: dict[str, dict[str, str]] = defaultdict(dict)  # base -> application id -> node
    for op in ops:
        if op.op == "apply" and op.acknowledged and op.entity and (op.base or "").startswith(DUPLICATE_BASE):
            accepted[op.base][op.entity.removeprefix("application:")] = op.node
    return {base: frozenset(ids) for base, ids in accepted.items() if len(set(ids.values())) >= 2}


def duplicates_reviewed(history: History, states: list[NodeState]) -> Invariant:
    """Every case applied for on both sides of a partition is one open review item, the same
    on every node (issue 11: both certificates under review until a supervisor decides)."""
    pairs = duplicate_pairs(history.ops)
    problems = []
    if not pairs:
        problems.append(f"no duplicate was formed: of {history.marks.get(DUPLICATES_TRIED, 0):.0f} cases "
                        "applied for at two nodes, none was accepted at both (was the partition in place?)")
    for base, ids in sorted(pairs.items()):
        missing = sorted(s.node for s in states if not any(ids <= item for item in s.reviews))
        if missing:
            problems.append(f"applications {', '.join(sorted(ids))} ({base.removeprefix(DUPLICATE_BASE)}) "
                            f"are not under review on {', '.join(missing)}")
    return Invariant("every duplicate across the partition is under review", not problems, tuple(problems))


def availability(history: History) -> dict[str, dict[str, float]]:
    """Per node: share of requests answered during the fault window and outside it.

    A clear refusal (4xx) counts as answered: the node was up and said no.
    """
    window = history.fault_window()
    tallies: dict[str, dict[str, list[int]]] = defaultdict(lambda: {"during": [0, 0], "outside": [0, 0]})
    for op in history.ops:
        if op.outcome not in (OK, REJECTED, FAILED):
            continue
        inside = window is not None and window[0] <= op.start <= window[1]
        tally = tallies[op.node]["during" if inside else "outside"]
        tally[0] += op.outcome != FAILED
        tally[1] += 1
    return {node: {phase: (ans / total if total else float("nan")) for phase, (ans, total) in t.items()}
            | {"requests": float(sum(v[1] for v in t.values()))}
            for node, t in sorted(tallies.items())}
