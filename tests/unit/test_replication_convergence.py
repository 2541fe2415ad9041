"""Convergence: any arrival order gives the same state and the same conflicts."""

from hypothesis import given, settings
from hypothesis import strategies as st

from replication import hlc
from replication.convergence import KIND_CONCURRENT, KIND_INSERT_ONLY, Outcome, Replica, wins
from replication.events import Event

NODES = ["a-1", "b-1", "c-1"]
N = 0


def ev(node, wall, entity_id="E1", state=None, base=None, insert_only=False, counter=0):
    global N
    N += 1
    return Event(
        event_id=f"00000000-0000-4000-8000-{N:012d}", origin_node=node, origin_town="434434",
        entity_type="certificate" if insert_only else "resident", entity_id=entity_id,
        state=state if state is not None else {"w": wall, "n": node}, base_version=base,
        hlc=hlc.Timestamp(wall, counter, node).encode(), insert_only=insert_only,
    )


@st.composite
def histories(draw):
    """A plausible multi-node history: each write is based on some earlier version."""
    out = []
    for i in range(draw(st.integers(1, 12))):
        entity = draw(st.sampled_from(["E1", "E2"]))
        earlier = [e.hlc for e in out if e.entity_id == entity]
        base = draw(st.sampled_from([None, *earlier])) if earlier else None
        node = draw(st.sampled_from(NODES))
        wall = draw(st.integers(1, 20))
        e = ev(node, wall, entity, base=base, counter=i)  # counter keeps HLCs unique
        out.append(e)
    return out


@settings(max_examples=300)
@given(histories(), st.randoms(use_true_random=False))
def test_any_permutation_converges_to_the_same_state_and_conflicts(history, rnd):
    reference = Replica()
    for e in history:
        reference.apply(e)
    shuffled = list(history) + rnd.sample(history, k=len(history) // 2)  # with duplicates
    rnd.shuffle(shuffled)
    other = Replica()
    for e in shuffled:
        other.apply(e)
    assert other.snapshot() == reference.snapshot()
    assert set(other.conflicts) == set(reference.conflicts)
    for ref, held in reference.held.items():
        assert held.version == max(e.hlc for e in history if (e.entity_type, e.entity_id) == ref)


def test_concurrent_writes_conflict_and_highest_wins_everywhere():
    base = ev("a-1", 1)
    at_a, at_c = ev("a-1", 5, base=base.hlc), ev("c-1", 4, base=base.hlc)
    r1, r2 = Replica(), Replica()
    for e in (base, at_a, at_c):
        r1.apply(e)
    for e in (base, at_c, at_a):
        r2.apply(e)
    assert r1.snapshot() == r2.snapshot()
    assert r1.held[("resident", "E1")].version == at_a.hlc
    [c1], [c2] = r1.conflicts.values(), r2.conflicts.values()
    assert c1.key == c2.key and c1.kind == KIND_CONCURRENT and c1.winner == at_a.hlc


def test_update_arriving_before_its_base_is_not_a_conflict():
    v1 = ev("a-1", 1)
    v2 = ev("b-1", 2, base=v1.hlc)
    r = Replica()
    assert r.apply(v2) is Outcome.APPLIED
    assert r.apply(v1) is Outcome.SUPERSEDED
    assert r.apply(v2) is Outcome.DUPLICATE
    assert not r.conflicts


def test_insert_only_identical_is_a_noop_and_different_is_flagged():
    first = ev("a-1", 5, "C1", {"class": "全壊"}, insert_only=True)
    same = ev("b-1", 3, "C1", {"class": "全壊"}, insert_only=True)
    differ = ev("c-1", 9, "C1", {"class": "半壊"}, insert_only=True)
    r = Replica()
    for e in (first, same, differ):
        r.apply(e)
    # The earliest insert is the record; the later different one is flagged, never applied.
    assert r.held[("certificate", "C1")].version == same.hlc
    kinds = {c.kind for c in r.conflicts.values()}
    assert kinds == {KIND_INSERT_ONLY} and len(r.conflicts) == 2


def test_wins():
    assert wins("b", None, False) and wins("b", "a", False) and not wins("a", "b", False)
    assert wins("a", "b", True) and not wins("b", "a", True)


@st.composite
def insert_only_histories(draw):
    """Certificates inserted at several nodes, some with the same id, same or other state."""
    out = []
    for i in range(draw(st.integers(1, 8))):
        out.append(ev(draw(st.sampled_from(NODES)), draw(st.integers(1, 20)),
                      draw(st.sampled_from(["C1", "C2"])),
                      {"class": draw(st.sampled_from(["全壊", "半壊"]))},
                      insert_only=True, counter=i))
    return out


@settings(max_examples=200)
@given(insert_only_histories(), st.randoms(use_true_random=False))
def test_insert_only_permutations_converge_on_the_earliest_insert(history, rnd):
    reference, other = Replica(), Replica()
    for e in history:
        reference.apply(e)
    shuffled = list(history)
    rnd.shuffle(shuffled)
    for e in shuffled:
        other.apply(e)
    assert other.snapshot() == reference.snapshot()
    assert set(other.conflicts) == set(reference.conflicts)
    for (_, eid), held in reference.held.items():
        assert held.version == min(e.hlc for e in history if e.entity_id == eid)
