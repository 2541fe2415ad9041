"""Events: canonical wire form (fixed vector), upcasting, validation."""

import json

import pytest

from replication import events
from replication.errors import MalformedEvent, UnknownSchemaVersion

EVENT = events.Event(
    event_id="3f1c2a6e-8d4b-4e0f-9a51-7c2d9e8b1a00",
    origin_node="mashiki-1",
    origin_town="434434",
    entity_type="resident",
    entity_id="R-0001",
    state={"name": "山田 花子", "kana": "やまだ はなこ", "born": "1950-04-01"},
    base_version=None,
    hlc="018f1a2b3c4d-000000-mashiki-1",
    insert_only=False,
)
# The fixed vector documented in docs/replication.md: change it only with a schema bump.
WIRE = (
    '{"base_version":null,"entity_id":"R-0001","entity_type":"resident",'
    '"event_id":"3f1c2a6e-8d4b-4e0f-9a51-7c2d9e8b1a00","hlc":"018f1a2b3c4d-000000-mashiki-1",'
    '"insert_only":false,"origin_node":"mashiki-1","origin_town":"434434","schema_version":2,'
    '"state":{"born":"1950-04-01","kana":"やまだ はなこ","name":"山田 花子"}}'
).encode()


def test_wire_form_matches_the_fixed_vector():
    assert events.encode(EVENT) == WIRE
    assert events.decode(WIRE) == EVENT


def test_v1_event_is_upcast_to_v2():
    v1 = {
        "schema_version": 1, "event_id": EVENT.event_id, "node": "mashiki-1", "town": "434434",
        "entity_type": "certificate", "entity_id": "C-1", "state": {"class": "全壊"},
        "base_version": None, "hlc": EVENT.hlc,
    }
    ev = events.decode(json.dumps(v1).encode())
    assert ev.schema_version == 2
    assert (ev.origin_node, ev.origin_town, ev.insert_only) == ("mashiki-1", "434434", True)


def test_newer_schema_version_is_rejected():
    raw = json.loads(WIRE)
    raw["schema_version"] = 99
    with pytest.raises(UnknownSchemaVersion):
        events.decode(json.dumps(raw).encode())


@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: r.pop("state"),
        lambda r: r.update(state=[1]),
        lambda r: r.update(hlc="now"),
        lambda r: r.update(origin_node="wajima-1"),  # differs from the HLC's node
        lambda r: r.update(event_id="not-a-uuid"),
        lambda r: r.update(extra=1),
        lambda r: r.update(schema_version="2"),
        lambda r: r.update(entity_type="Bad Type"),
        lambda r: r.update(base_version=5),
    ],
)
def test_malformed_events_are_rejected(mutate):
    raw = json.loads(WIRE)
    mutate(raw)
    with pytest.raises(MalformedEvent):
        events.decode(json.dumps(raw).encode())


@pytest.mark.parametrize("data", [b"\xff\xfe", b"[]", b"{", b"null"])
def test_non_objects_are_malformed(data):
    with pytest.raises(MalformedEvent):
        events.decode(data)


def test_duplicate_upcaster_registration_fails():
    with pytest.raises(ValueError):
        events.upcaster(1)(lambda raw: raw)
