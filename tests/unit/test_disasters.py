"""The disaster registry's rules (service/disasters.py): pure, no database."""

from __future__ import annotations

import datetime as dt

import pytest

from certs.errors import InvalidInput
from service.counter.disasters import application_disaster, disaster_id, new_disaster

TODAY = dt.date(2024, 1, 10)
NOTO = dt.date(2024, 1, 1)


def _new(**changes):
    args = {"name": "令和6年能登半島地震", "date": NOTO, "towns": ["172049", "172049", "434434"],
            "saigai_kyujo_ho": True, "shien_ho": False, "today": TODAY, "node": "wajima-1",
            "staff_id": "S1", "at": "2024-01-10T00:00:00+00:00"} | changes
    return new_disaster(args.pop("name"), args.pop("date"), args.pop("towns"), **args)


def test_a_disaster_gets_a_stable_readable_id_and_sorted_towns():
    record = _new()
    assert record["disaster_id"] == disaster_id("令和6年能登半島地震", NOTO) and record["disaster_id"].startswith("D-20240101-")
    assert record["towns"] == ["172049", "434434"] and record["saigai_kyujo_ho"] is True and record["shien_ho"] is False
    assert disaster_id("令和6年能登半島地震", NOTO) != disaster_id("令和6年能登半島地震", dt.date(2024, 1, 2))


@pytest.mark.parametrize("changes, code, field", [
    ({"date": dt.date(2024, 1, 11)}, "record.future_date", "date"),
    ({"towns": []}, "disaster.towns", "towns"),
    ({"towns": ["172048"]}, "town_code.check_digit", "towns"),
])
def test_bad_disasters_are_refused_naming_the_field(changes, code, field):
    with pytest.raises(InvalidInput) as err:
        _new(**changes)
    assert (err.value.code, err.value.field) == (code, field)


def test_an_application_takes_a_registered_disaster_or_links_free_text():
    record = _new()
    assert application_disaster(record, record["disaster_id"], None, TODAY) == {
        "id": record["disaster_id"], "name": "令和6年能登半島地震", "date": "2024-01-01"}
    with pytest.raises(InvalidInput) as err:
        application_disaster(None, "D-20240101-0000000000", None, TODAY)
    assert err.value.code == "disaster.unknown" and err.value.field == "disaster_id"
    free = {"name": "令和6年能登半島地震", "date": NOTO}
    assert application_disaster(record, None, free, TODAY)["id"] == record["disaster_id"]  # same name and date
    assert application_disaster(None, None, free, TODAY) == {"id": None, "name": free["name"], "date": "2024-01-01"}
    with pytest.raises(InvalidInput) as err:
        application_disaster(None, None, {"name": "x", "date": dt.date(2024, 2, 1)}, TODAY)
    assert err.value.code == "record.future_date"
