"""Server rules behind the counter defects of issue 15: future dates, one decimal rule,
外字 refused, one code rule for tracking and kiosk codes, encoding aliases, address
folding, and 503 for a database that went away."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from decimal import Decimal

import asyncpg
import pytest
from aiohttp.test_utils import make_mocked_request

from service.counter import codes
from service.counter.record_checks import check_not_after, jst_today
from service.counter.records import RecordError, Resident, Sex, Survey
from service.counter.search_keys import address_key
from service.imports.source import canonical_encoding
from service.imports.stream import parse_residents
from service.kiosk.sessions import normalise_code
from service.web.errors import database_unavailable, error_middleware

UTC = dt.timezone.utc
HEADER = "住民ID,市区町村コード,氏,名,氏カナ,名カナ,生年月日,性別,住所,世帯番号,世帯主\n"


def test_today_is_the_day_in_japan():
    assert jst_today(dt.datetime(2026, 11, 30, 14, 59, tzinfo=UTC)) == dt.date(2026, 11, 30)
    assert jst_today(dt.datetime(2026, 11, 30, 15, 0, tzinfo=UTC)) == dt.date(2026, 12, 1)


def test_a_date_after_today_is_refused():
    today = dt.date(2026, 12, 1)
    assert check_not_after("surveyed_on", today, today) is None
    problem = check_not_after("surveyed_on", dt.date(2099, 12, 31), today)
    assert problem.code == "record.future_date" and problem.field == "surveyed_on"


def _survey(ratio):
    return Survey("S1", "D1", "first", "調査 一郎", dt.date(2024, 1, 10), ratio, None, (), "")


def test_trailing_zeros_are_not_precision():
    # A JSON string "50.000" and the number 50.000 are the same ratio (one rule).
    assert _survey(Decimal("50.000")).damage_class.code == "zenkai"
    assert _survey(Decimal("42.50")).damage_class.code == "daikibo-hankai"
    with pytest.raises(RecordError) as err:
        _survey(Decimal("42.505"))
    assert err.value.code == "record.precision"


def _resident(**changes):
    base = dict(resident_id="R1", town_code="434434", family_name="山田", given_name="太郎",
                family_kana="ヤマダ", given_kana="タロウ", birth_date=dt.date(1970, 3, 1), sex=Sex.MALE,
                address="熊本県益城町宮園1丁目2番3号", household_id="H1", is_householder=True)
    return Resident(**{**base, **changes})


@pytest.mark.parametrize("field", ["family_name", "given_name", "address"])
def test_private_use_characters_are_refused(field):
    with pytest.raises(RecordError) as err:
        _resident(**{field: "山\ue000田" if field != "address" else "益城町\uf8ff宮園"})
    assert err.value.code == "record.gaiji" and err.value.field == field
    assert "外字" in err.value.reason


def test_a_cp932_file_with_gaiji_bytes_names_row_column_and_reason():
    # F0 40 is the first user-defined (外字) code point of CP932: it decodes to U+E000.
    row = "R1,434434,".encode("cp932") + b"\xf0\x40" + ",太郎,ヤマダ,タロウ,1970-03-01,1,益城町宮園,H1,1\n".encode("cp932")
    result = parse_residents(HEADER.encode("cp932") + row, encoding="cp932")
    assert not result.ok
    [error] = result.errors
    assert (error.row, error.column, error.code) == (2, "氏", "record.gaiji")
    assert "外字" in error.reason and "U+E000" in error.reason


def test_tracking_and_kiosk_codes_follow_one_rule():
    code = codes.new_code()
    assert len(code) == 14 and code.count("-") == 2
    for typed in (code.lower(), code.replace("-", ""), code.replace("-", " "), f" {code.lower()} "):
        assert codes.code_key(typed) == codes.code_key(code)
        assert codes.tracking_lookup_key(typed) == codes.tracking_lookup_key(code)
        assert normalise_code(typed) == code
    assert codes.code_key("db1d-941f") == codes.code_key("DB1D941F") == "DB1D941F"
    assert codes.code_key("ＤＢ１Ｄ－９４１Ｆ") == "DB1D941F"  # typed with a Japanese IME


@pytest.mark.parametrize("name", ["sjis", "ms932", "SHIFT_JIS", "Shift-JIS", "cp932", "Windows-31J", "x-sjis"])
def test_shift_jis_names_read_as_cp932(name):
    assert canonical_encoding(name) == "cp932"


def test_other_encodings_are_refused():
    assert canonical_encoding("UTF-8") == canonical_encoding("utf8") == "utf-8"
    with pytest.raises(ValueError):
        canonical_encoding("latin-1")


def test_address_key_folds_width_and_spaces():
    assert address_key("宮園１２３") == address_key("宮園123") == address_key("宮園 123") == "宮園123"
    assert address_key("ﾐﾔｿﾞﾉ１丁目") == "ミヤゾノ1丁目"


def _closed() -> Exception:
    try:
        try:
            raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")
        except asyncpg.ConnectionDoesNotExistError:
            raise asyncpg.InterfaceError("cannot call Transaction.rollback(): the underlying connection is closed")
    except asyncpg.InterfaceError as exc:
        return exc


@pytest.mark.parametrize("exc", [
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.InterfaceError("connection is closed"),
    asyncpg.CannotConnectNowError("the database system is starting up"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.PostgresConnectionError("connection failure"),
    ConnectionRefusedError(111, "Connection refused"),
    _closed(),
    # A full disk: PostgreSQL refuses a new connection's start-up (the disk-full drill).
    asyncpg.InternalServerError("could not write init file"),
    asyncpg.PostgresSystemError("could not write to file"),
    asyncpg.OutOfMemoryError("out of memory"),
], ids=lambda e: type(e).__name__)
async def test_a_lost_database_is_503_database_unavailable(exc):
    assert database_unavailable(exc)

    async def handler(request):
        raise exc

    response = await error_middleware(make_mocked_request("POST", "/api/v1/applications"), handler)
    assert response.status == 503
    assert json.loads(response.body)["error"]["code"] == "database.unavailable"


async def test_other_errors_stay_internal():
    assert not database_unavailable(asyncpg.InterfaceError("cannot perform operation: another operation is in progress"))
    assert not database_unavailable(KeyError("x"))

    async def handler(request):
        raise KeyError("x")

    response = await error_middleware(make_mocked_request("GET", "/"), handler)
    assert response.status == 500


def test_asyncio_timeout_counts_as_unavailable():
    assert database_unavailable(asyncio.TimeoutError())
