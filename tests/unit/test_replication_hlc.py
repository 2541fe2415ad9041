"""HLC: total order, monotonic ticks, receive, drift bound, sortable encoding."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replication import hlc
from replication.errors import MalformedEvent

nodes = st.sampled_from(["a", "b", "mashiki-1", "wajima-1", "z.9"])
stamps = st.builds(hlc.Timestamp, st.integers(0, 2**40), st.integers(0, hlc.COUNTER_MAX), nodes)


def test_encoding_is_fixed_width_and_round_trips():
    ts = hlc.Timestamp(0x18F1A2B3C4D, 7, "mashiki-1")
    assert ts.encode() == "018f1a2b3c4d-000007-mashiki-1"
    assert hlc.decode(ts.encode()) == ts


@given(stamps, stamps)
def test_string_order_equals_timestamp_order(a, b):
    assert (a < b) == (a.encode() < b.encode())
    # PostgreSQL compares COLLATE "C" text as UTF-8 bytes
    assert (a < b) == (a.encode().encode() < b.encode().encode())


@given(stamps, st.integers(0, 2**40))
def test_tick_is_strictly_increasing_even_when_the_clock_goes_back(last, now):
    nxt = hlc.tick(last, now)
    assert nxt > last and nxt.node_id == last.node_id
    assert nxt.wall_ms >= now


def test_counter_overflow_borrows_the_next_millisecond():
    last = hlc.Timestamp(100, hlc.COUNTER_MAX, "a")
    assert hlc.tick(last, 50) == hlc.Timestamp(101, 0, "a")


@given(stamps, stamps, st.integers(0, 2**40))
def test_receive_is_after_both(last, remote, now):
    merged = hlc.receive(last, remote, now, max_drift_ms=2**41)
    assert merged > last and (merged.wall_ms, merged.counter) > (remote.wall_ms, remote.counter)
    assert merged.node_id == last.node_id


@given(stamps, stamps, st.integers(0, 2**40), st.integers(0, 2**30))
def test_receive_never_goes_beyond_physical_plus_the_drift_bound(last, remote, now, bound):
    merged = hlc.receive(last, remote, now, max_drift_ms=bound)
    assert merged > last and merged.node_id == last.node_id
    # +1: a counter overflow borrows the next millisecond
    assert merged.wall_ms <= max(last.wall_ms, now + bound) + 1
    if remote.wall_ms <= now + bound:
        assert (merged.wall_ms, merged.counter) > (remote.wall_ms, remote.counter)


def test_receive_clamps_a_remote_clock_too_far_ahead_instead_of_refusing_it():
    # The drill: wajima-1 517 s ahead of mashiki-1, bound 300 s.
    now, bound = 1_700_000_000_000, 300_000
    remote = hlc.Timestamp(now + 517_252, 0x1A9, "wajima-1")
    assert hlc.ahead_ms(remote, now) == 517_252
    merged = hlc.receive(hlc.Timestamp(now - 5, 3, "mashiki-1"), remote, now, bound)
    assert merged == hlc.Timestamp(now + bound, 1, "mashiki-1")
    # A local write based on the far-ahead version still sorts after it (after's floor).
    assert hlc.after(merged, remote, now) > remote


def test_ahead_ms_is_zero_for_a_remote_clock_behind():
    assert hlc.ahead_ms(hlc.Timestamp(10, 0, "b"), 50) == 0


@given(stamps, st.none() | stamps, st.integers(0, 2**40))
def test_after_beats_last_and_floor(last, floor, now):
    ts = hlc.after(last, floor, now)
    assert ts > last
    if floor is not None:
        assert ts > floor


@pytest.mark.parametrize("bad", ["", "18f-0-a", "018f1a2b3c4d-000007-A", None, "018f1a2b3c4d-00000g-a"])
def test_decode_rejects_garbage(bad):
    with pytest.raises(MalformedEvent):
        hlc.decode(bad)


def test_invalid_node_id_is_rejected():
    with pytest.raises(ValueError):
        hlc.Timestamp(1, 0, "Bad Node")
