"""Application and certificate records: exact state round trips (other versions read and
write these states, and the digest compares them), field checks, new records by replace."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.counter import lifecycle
from service.counter.application_records import Application
from service.counter.certificate_records import CertificateRecord
from service.counter.records import RecordError

NEW_APPLICATION = {
    "application_id": "A-mashiki-1-0123456789ab", "kind": "risai", "status": "received",
    "applicant_resident_id": "R1", "applicant_town": "434434", "household_id": "H1",
    "competent_town": "434434", "dwelling_id": "D1", "property": None,
    "disaster": {"id": "DS1", "name": "令和8年豪雨", "date": "2026-07-01"},
    "channel": "counter", "received_node": "mashiki-1", "received_town": "434434",
    "received_at": "2026-07-02T01:00:00+00:00", "survey_id": None, "damage_class": None,
    "current_certificate": None, "certificates": [], "tracking_code_sha256": "ab" * 32,
    "tracking_key": "cd" * 32, "applicant_details": {"relationship": "householder"},
    "history": [{"status": "received", "action": "receive", "at": "2026-07-02T01:00:00+00:00",
                 "node": "mashiki-1", "staff": "S1"}],
}
CERTIFICATE = {
    "number": "434434-mashiki-1-000001", "application_id": "A-mashiki-1-0123456789ab",
    "cert_type": "risai", "qr": "HC1 6BF:%", "signed_at": "2026-07-03T01:00:00+00:00",
    "issue_date": "2026-07-03", "competent_town": "434434", "issuing_node": "mashiki-1",
    "issuing_town": "434434", "on_behalf": False, "damage_class": "hankai", "supersedes": None,
    "dwelling_id": "D1", "survey_id": "SV1", "staff_id": "S1", "printed_boxes": {"members": []},
}


def test_a_new_applications_state_round_trips_exactly():
    app = Application.from_state(NEW_APPLICATION)
    assert app.to_state() == NEW_APPLICATION
    assert app.certificates == () and app.history[0]["action"] == "receive"


def test_unknown_keys_of_a_newer_peer_are_kept():
    newer = {**NEW_APPLICATION, "priority": "high", "status": "judged"}
    app = Application.from_state(newer)
    assert app.extra == {"priority": "high"}
    moved = lifecycle.advance(app, "issue", at="t", node="n", staff=None, current_certificate="C1",
                              certificates=("C1",))
    assert moved.to_state()["priority"] == "high"


def test_keys_an_older_state_lacks_stay_out_until_set():
    older = {k: v for k, v in NEW_APPLICATION.items()
             if k not in ("tracking_key", "applicant_details", "applicant_town", "certificates")}
    app = Application.from_state(older)
    assert app.to_state() == older
    assert app.certificates == () and app.towns() == {"434434"}
    withdrawn = lifecycle.advance(app, "withdraw", at="t", node="n", staff="S1", withdrawal={"reason": "r"})
    state = withdrawn.to_state()
    assert state["withdrawal"] == {"reason": "r"} and "tracking_key" not in state
    assert "certificates" not in state and "resurvey_requests" not in state


def test_a_later_key_holding_null_is_kept_as_null():
    state = {**NEW_APPLICATION, "judgement": None}
    assert Application.from_state(state).to_state() == state


def test_a_new_record_has_no_later_keys():
    app = Application(**{k: v for k, v in NEW_APPLICATION.items() if k != "applicant_details"})
    assert set(app.to_state()) == set(NEW_APPLICATION) - {"applicant_details"}


def test_transitions_return_new_records_and_leave_the_old_one():
    app = Application.from_state(NEW_APPLICATION)
    moved = lifecycle.advance(app, "survey", at="t2", node="n", staff="S1", survey_id="SV1")
    assert (app.status, len(app.history)) == ("received", 1)
    assert (moved.status, moved.survey_id, len(moved.history)) == ("surveyed", "SV1", 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        moved.status = "issued"  # type: ignore[misc]


@pytest.mark.parametrize("changes, field", [
    ({"kind": "other"}, "kind"), ({"history": "x"}, "history"), ({"application_id": 5}, "application_id"),
])
def test_application_field_checks(changes, field):
    with pytest.raises(RecordError) as caught:
        Application.from_state({**NEW_APPLICATION, **changes})
    assert [p["field"] for p in caught.value.fields] == [field]


def test_missing_required_keys_are_named():
    with pytest.raises(RecordError) as caught:
        Application.from_state({k: v for k, v in NEW_APPLICATION.items() if k not in ("status", "received_at")})
    assert sorted((p["field"], p["code"]) for p in caught.value.fields) == [
        ("received_at", "record.required"), ("status", "record.required")]


def test_a_replicated_state_with_only_what_the_duplicate_rule_reads_is_an_application():
    state = {k: NEW_APPLICATION[k] for k in ("application_id", "kind", "status", "household_id", "received_at",
                                             "dwelling_id", "disaster")}
    app = Application.from_state(state)
    assert app.to_state() == state and app.history == () and app.competent_town == ""


def test_certificate_state_round_trips_and_keeps_unknown_and_absent_keys():
    assert CertificateRecord.from_state(CERTIFICATE).to_state() == CERTIFICATE
    older = {k: v for k, v in CERTIFICATE.items() if k not in ("printed_boxes", "on_behalf")}
    assert CertificateRecord.from_state(older).to_state() == older
    newer = {**CERTIFICATE, "seal": "x"}
    record = CertificateRecord.from_state(newer)
    assert record.extra == {"seal": "x"} and record.to_state() == newer
    assert record.entity_id == CERTIFICATE["number"]
    with pytest.raises(RecordError):
        CertificateRecord.from_state({**CERTIFICATE, "qr": ""})


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                   max_size=3), max_leaves=8)


@given(drop=st.sets(st.sampled_from(sorted(set(NEW_APPLICATION) - set(Application.REQUIRED_FIELDS)))),
       unknown=st.dictionaries(st.text(min_size=1, max_size=8).filter(lambda k: k not in NEW_APPLICATION),
                               _json, max_size=3))
def test_any_held_application_state_round_trips(drop, unknown):
    state = {**{k: v for k, v in NEW_APPLICATION.items() if k not in drop}, **unknown}
    assert json.dumps(Application.from_state(state).to_state(), sort_keys=True) == json.dumps(state, sort_keys=True)
