"""Set-based apply: plan_batch decides exactly what one-by-one Replica.apply decides."""

from hypothesis import given, settings
from hypothesis import strategies as st

from replication.convergence import Outcome, Replica, Version, plan_batch
from tests.unit.test_replication_convergence import histories, insert_only_histories


def relevant(replica, batch):
    """What store._load reads: held versions, and only the history that can matter."""
    held = {ref: v.version for ref, v in replica.held.items()}
    known = {}
    for e in batch:
        ref = (e.entity_type, e.entity_id)
        for v in replica.history.get(ref, {}).values():
            if e.insert_only or v.version == e.hlc or v.base_version == e.base_version:
                known.setdefault(ref, {})[v.version] = v
    return held, {ref: list(vs.values()) for ref, vs in known.items()}


def apply_plan(replica, batch):
    """Apply a batch through plan_batch (as store.apply_events writes it) to a Replica."""
    plan = plan_batch(batch, *relevant(replica, batch))
    for e in plan.new_versions:
        replica.history.setdefault((e.entity_type, e.entity_id), {})[e.hlc] = Version(
            e.hlc, e.base_version, e.state)
    for ref, e in plan.winners.items():
        replica.held[ref] = Version(e.hlc, e.base_version, e.state)
    for pair in plan.conflicts:
        replica.conflicts.setdefault(pair.key, pair)
    return plan.outcomes


@settings(max_examples=300)
@given(st.one_of(histories(), insert_only_histories()), st.randoms(use_true_random=False),
       st.integers(1, 6))
def test_batches_decide_what_one_by_one_decides(history, rnd, batch_size):
    arrivals = list(history) + rnd.sample(history, k=len(history) // 2)  # with duplicates
    rnd.shuffle(arrivals)
    one_by_one, batched = Replica(), Replica()
    expected = [one_by_one.apply(e) for e in arrivals]
    got = []
    for start in range(0, len(arrivals), batch_size):
        got += apply_plan(batched, arrivals[start:start + batch_size])
    assert [o for o, _ in got] == expected
    assert batched.snapshot() == one_by_one.snapshot()
    # Same conflicts, down to which version was known first (local) on this node.
    assert batched.conflicts == one_by_one.conflicts
    assert sum(len(p) for _, p in got) == len(one_by_one.conflicts)


def test_a_batch_with_two_updates_of_one_entity_keeps_the_later_and_both_versions():
    from tests.unit.test_replication_convergence import ev

    v1 = ev("a-1", 1)
    v2 = ev("a-1", 2, base=v1.hlc)
    plan = plan_batch([v1, v2, v1], {}, {})
    assert [o for o, _ in plan.outcomes] == [Outcome.APPLIED, Outcome.APPLIED, Outcome.DUPLICATE]
    assert plan.new_versions == [v1, v2] and plan.winners == {("resident", "E1"): v2}
    assert plan.conflicts == []
