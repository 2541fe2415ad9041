"""HLC: total order, monotonic ticks, receive, drift bound, sortable encoding."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replication import hlc
from replication.errors import ClockDriftError, MalformedEvent

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


def test_receive_rejects_a_remote_clock_too_far_ahead():
    with pytest.raises(ClockDriftError, match="ahead of the local clock"):
        hlc.receive(hlc.zero("a"), hlc.Timestamp(1_000_000, 0, "b"), 0, max_drift_ms=60_000)


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
