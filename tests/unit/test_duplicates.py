"""The one-current-certificate rule's pure parts (service.counter.duplicates)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from service.counter import duplicates
from service.counter.application_records import Application
from service.counter.disasters import disaster_id

NOTO = {"name": "令和6年能登半島地震", "date": "2024-01-01"}


def _app(app_id: str, received_at: str, **changes) -> Application:
    return Application.from_state({
        "application_id": app_id, "kind": "risai", "status": "issued", "household_id": "H1",
        "competent_town": "172049", "history": [], "dwelling_id": "D1", "disaster": {"id": None, **NOTO},
        "received_at": received_at, "current_certificate": None, **changes})


def test_the_triple_keys_free_text_by_the_registry_id_and_skips_hisai():
    import datetime as dt

    registered = duplicates.triple_of(_app("A1", "t", disaster={"id": disaster_id(NOTO["name"], dt.date(2024, 1, 1)), **NOTO}))
    assert duplicates.triple_of(_app("A2", "t")) == registered
    assert duplicates.Triple.parse(registered.key) == registered
    assert duplicates.triple_of(_app("A3", "t", kind="hisai", dwelling_id=None)) is None


def test_what_frees_the_triple():
    assert duplicates.is_current(_app("A1", "t"), revoked=set())
    assert not duplicates.is_current(_app("A1", "t", status="withdrawn"), revoked=set())
    assert not duplicates.is_current(_app("A1", "t", status="rejected"), revoked=set())
    assert not duplicates.is_current(_app("A1", "t", current_certificate="N1"), revoked={"N1"})
    assert duplicates.is_current(_app("A1", "t", current_certificate="N2"), revoked={"N1"})


@given(st.permutations([_app("A-wajima-1-9", "2024-01-20T03:05:00+00:00"),
                        _app("A-mashiki-1-1", "2024-01-20T03:00:00+00:00"),
                        _app("A-rikuzentakata-1-3", "2024-01-20T03:00:00+00:00")]))
def test_the_review_item_does_not_depend_on_arrival_order(apps):
    triple = duplicates.triple_of(apps[0])
    item = duplicates.review_item(triple, apps)
    assert item["conflict_key"].endswith("A-mashiki-1-1+A-rikuzentakata-1-3+A-wajima-1-9")
    assert (item["local_version"], item["remote_version"], item["winner"]) == (
        "A-mashiki-1-1", "A-rikuzentakata-1-3", "A-mashiki-1-1")
