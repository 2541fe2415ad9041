"""The casework lists' pure parts: filter parsing, cursors, and the CSV encodings."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from risai_errors import Kind
from service.counter.casework_export import CERTIFICATE_COLUMNS, Encoder, cp932_safe
from service.counter.casework_filters import Cursor, application_query, certificate_query
from service.errors import ServiceError


def test_a_jst_day_range_becomes_utc_instants():
    query = application_query({"received_from": "2024-01-02", "received_to": "2024-01-02"})
    assert query.received_from == dt.datetime(2024, 1, 1, 15, tzinfo=dt.timezone.utc)
    assert query.received_before == dt.datetime(2024, 1, 2, 15, tzinfo=dt.timezone.utc)


def test_every_bad_parameter_is_named_in_one_400():
    with pytest.raises(ServiceError) as caught:
        certificate_query({"state": "x", "issued_from": "yesterday", "limit": "500", "zzz": "1"})
    assert caught.value.kind is Kind.BAD_REQUEST
    assert sorted(p.field for p in caught.value.problems) == ["issued_from", "limit", "state", "zzz"]


def test_full_width_input_and_a_loosely_typed_tracking_code():
    query = application_query({"competent_town": "４３４４３４", "q": "abcd efgh jkmn"})
    assert query.competent_town == "434434"
    assert query.search.tracking_key is not None
    assert application_query({"q": "434434-wajima-1-000001"}).search.tracking_key is None


@given(st.datetimes(timezones=st.just(dt.timezone.utc)), st.text(max_size=40))
def test_cursor_round_trip(at, key):
    cursor = Cursor(at.isoformat(), key)
    assert Cursor.decode(cursor.encode()) == cursor


@pytest.mark.parametrize("text, shown, replaced", [
    ("高橋 〜 − ‖", "高橋 ～ － ∥", 0),   # JIS X 0208 look-alikes folded, nothing lost
    ("髙橋", "髙橋", 0),                  # IBM extension kanji exist in CP932
    ("𠮷野家😀", "〓野家〓", 2),          # outside CP932: the 下駄記号, counted
])
def test_cp932_handling_is_explicit(text, shown, replaced):
    assert cp932_safe(text) == (shown, replaced)


def test_a_formula_looking_cell_is_kept_as_text_and_utf8_has_a_bom():
    row = {name: None for name in ("number", "issue_date", "householder_name", "location", "damage_class",
                                   "cert_type", "competent_town", "issuing_node", "issuing_town", "on_behalf",
                                   "staff_id", "staff_name", "state", "superseded_by", "copies", "application_id",
                                   "disaster_name")}
    row.update(number="=HYPERLINK(1)", copies=0)
    encoder = Encoder(CERTIFICATE_COLUMNS, "utf-8")
    assert encoder.header().startswith("\ufeff整理番号".encode())
    assert encoder.rows([row]).startswith(b"'=HYPERLINK(1)")
