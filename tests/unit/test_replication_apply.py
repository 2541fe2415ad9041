"""apply.check: what refuses a record, and what does not (a clock far ahead does not)."""

from types import SimpleNamespace

from certs.keys import SoftwareSigner
from replication import apply, envelope, events, hlc
from replication.errors import ReplicationError

NOW = 1_700_000_000_000


def record_from(signer, origin: str, stamp: hlc.Timestamp):
    event = events.Event(event_id=events.new_event_id(), origin_node=origin, origin_town="172049",
                         entity_type="certificate", entity_id="C-1", state={"class": "全壊"},
                         base_version=None, hlc=stamp.encode(), insert_only=True)
    value = envelope.seal(signer, events.encode(event))
    return SimpleNamespace(topic=f"risai.events.{origin}", partition=0, offset=0, value=value)


def test_a_valid_event_far_ahead_of_the_local_clock_is_accepted_not_refused():
    signer = SoftwareSigner.generate()
    ctx = apply.ApplyContext("mashiki-1", "risai.events", envelope.static_key_lookup(signer),
                             clock=lambda: NOW, max_drift_ms=300_000)
    stamp = hlc.Timestamp(NOW + 517_252, 0x1A9, "wajima-1")
    checked = apply.check(record_from(signer, "wajima-1", stamp), ctx, NOW)
    assert not isinstance(checked, ReplicationError), checked
    assert checked.timestamp == stamp
