"""CSV import: formats, encodings, all-or-nothing, errors naming row/column/reason."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from decimal import Decimal

import pytest

from service.counter.records import Household, Resident, Sex, Structure, SurveyKind
from service.imports.stream import (
    CsvImportError,
    ProgressBar,
    RecordStream,
    file_sha256,
    main,
    parse,
    parse_dwellings,
    parse_residents,
    parse_surveys,
    write_csv,
)

HEADER = "住民ID,市区町村コード,氏,名,氏カナ,名カナ,生年月日,性別,住所,世帯番号,世帯主\n"
ROW1 = "R1,434434,山田,太郎,ヤマダ,タロウ,1970-03-01,1,熊本県益城町宮園1丁目2番3号,H1,1\n"
ROW2 = "R2,434434,山田,花子,ヤマダ,ハナコ,1972-05-06,2,熊本県益城町宮園1丁目2番3号,H1,0\n"
HASH = "ab" * 32


def residents_csv(*rows: str, header: str = HEADER) -> bytes:
    return (header + "".join(rows)).encode("utf-8")


def errors_of(result):
    return [(e.row, e.column, e.code) for e in result.errors]


def test_valid_residents_and_derived_households():
    result = parse_residents(residents_csv(ROW1, ROW2))
    assert result.ok and result.rows == 2 and result.encoding == "utf-8"
    assert [r.resident_id for r in result.records] == ["R1", "R2"]
    assert result.records[1].sex is Sex.FEMALE and result.records[0].birth_date == dt.date(1970, 3, 1)
    assert result.households == (Household("H1", "434434", "R1", "熊本県益城町宮園1丁目2番3号"),)
    assert result.sha256 == hashlib.sha256(residents_csv(ROW1, ROW2)).hexdigest()


def test_one_bad_row_returns_no_records_and_all_errors():
    bad = "R3,434435,山田,,やまだ1,ハナコ,1970-02-30,3,住所,H2,1\n"
    result = parse_residents(residents_csv(ROW1, bad, ROW2))
    assert not result.ok and result.records == () and result.households == ()
    assert sorted(errors_of(result)) == sorted([
        (3, "生年月日", "csv.date"),
        (3, "性別", "csv.choice"),
        (3, "市区町村コード", "town_code.check_digit"),
        (3, "名", "record.required"),
        (3, "氏カナ", "record.kana"),
    ])
    assert all(e.reason for e in result.errors)
    assert "row 3, column 生年月日: " in [str(e)[:len("row 3, column 生年月日: ")] for e in result.errors]


def test_error_columns_use_the_files_own_header_names():
    header = "resident_id,town_code,family_name,given_name,family_kana,given_kana,birth_date,sex,address,household_id,is_householder\n"
    result = parse_residents(residents_csv("R1,434434,山田,太郎,Yamada,タロウ,1970-03-01,1,addr,H1,1\n", header=header))
    assert errors_of(result) == [(2, "family_kana", "record.kana")]


def test_duplicate_ids_are_errors():
    result = parse_residents(residents_csv(ROW1, ROW2, ROW2))
    assert errors_of(result) == [(4, "住民ID", "csv.duplicate_id")]
    assert "first on row 3" in result.errors[0].reason


def test_household_rules():
    two_heads = ROW2.replace(",0\n", ",1\n")
    assert errors_of(parse_residents(residents_csv(ROW1, two_heads))) == [(3, "世帯主", "csv.household")]
    no_head = ROW1.replace(",1\n", ",0\n")
    assert errors_of(parse_residents(residents_csv(no_head))) == [(2, "世帯主", "csv.household")]
    other_town = ROW2.replace("434434", "172049")
    assert errors_of(parse_residents(residents_csv(ROW1, other_town))) == [(3, "市区町村コード", "csv.household")]


def test_cp932_detected_and_bom_handled():
    text = HEADER + ROW1 + ROW2
    cp932 = parse_residents(text.encode("cp932"))
    assert cp932.ok and cp932.encoding == "cp932" and cp932.records[0].family_name == "山田"
    bom = parse_residents(text.encode("utf-8-sig"))
    assert bom.ok and bom.encoding == "utf-8-sig"
    # An explicit utf-8 must still strip a BOM, or the first column name would not match.
    assert parse_residents(text.encode("utf-8-sig"), encoding="utf-8").ok
    assert parse_residents(text.encode("cp932"), encoding="shift_jis").encoding == "cp932"


def test_wrong_encoding_is_a_file_error_not_garbage():
    result = parse_residents((HEADER + ROW1).encode("cp932"), encoding="utf-8")
    assert not result.ok and result.errors[0].code == "csv.encoding"


def test_cp932_only_characters_round_trip():
    text = HEADER + ROW1.replace("山田", "髙橋").replace("ヤマダ", "タカハシ")
    assert parse_residents(text.encode("cp932")).records[0].family_name == "髙橋"


def test_lenient_cell_forms():
    row = "Ｒ１,４３４４３４,山田,太郎,ﾔﾏﾀﾞ,たろう,昭和45年3月1日,男,addr,H1,世帯主\n"
    record = parse_residents(residents_csv(row)).records[0]
    assert (record.resident_id, record.town_code, record.family_kana, record.given_kana) == ("R1", "434434", "ヤマダ", "タロウ")
    assert record.birth_date == dt.date(1970, 3, 1) and record.sex is Sex.MALE and record.is_householder
    for text, expected in [("S45.3.1", dt.date(1970, 3, 1)), ("平成元年1月8日", dt.date(1989, 1, 8)),
                           ("19700301", dt.date(1970, 3, 1)), ("1970/3/1", dt.date(1970, 3, 1)),
                           ("R6.1.1", dt.date(2024, 1, 1))]:
        assert parse_residents(residents_csv(ROW1.replace("1970-03-01", text))).records[0].birth_date == expected


@pytest.mark.parametrize("text", ["昭和64年1月8日", "平成31年5月1日", "1970-02-30", "3/1/1970", "昭和"])
def test_bad_dates(text):
    assert errors_of(parse_residents(residents_csv(ROW1.replace("1970-03-01", text)))) == [(2, "生年月日", "csv.date")]


def test_future_dates_rejected_when_today_given():
    result = parse_residents(residents_csv(ROW1), today=dt.date(1969, 1, 1))
    assert errors_of(result) == [(2, "生年月日", "csv.future_date")]


def test_header_problems():
    missing = parse_residents(residents_csv(ROW1, header=HEADER.replace("性別,", "")))
    assert (1, "性別", "csv.missing_column") in errors_of(missing)
    twice = parse_residents(residents_csv(header=HEADER.replace("\n", ",姓\n")))
    assert errors_of(twice) == [(1, "姓", "csv.duplicate_column")]
    assert errors_of(parse_residents(b"")) == [(1, None, "csv.header")]


def test_unknown_columns_ignored_and_listed_blank_rows_skipped():
    result = parse_residents(residents_csv(ROW1.replace("\n", ",x\n"), ",,,,,,,,,,,\n", "\n",
                                           header=HEADER.replace("\n", ",転入日\n")))
    assert result.ok and result.rows == 1 and result.ignored_columns == ("転入日",)


def test_wrong_cell_count():
    result = parse_residents(residents_csv(ROW1.replace(",1\n", "\n")))
    assert errors_of(result) == [(2, None, "csv.field_count")]


def test_error_list_is_capped_but_counted():
    rows = [ROW1.replace("R1", f"R{i}").replace("ヤマダ", "yamada") for i in range(150)]
    result = parse_residents(residents_csv(*rows), max_errors=100)
    # Invalid rows are not tracked as household members, so only the 150 kana errors count.
    assert len(result.errors) == 100 and result.error_count == 150
    assert result.errors[-1].row == 101


def test_quoted_newlines_and_row_numbers():
    notes_header = "調査ID,住家ID,調査区分,調査員,調査日,損害割合,浸水深,写真SHA256,備考\n"
    rows = ('S1,D1,第1次,石田 隆之,2024-02-01,45.5,,,"北側外壁に亀裂、\r\n屋根瓦の落下"\n'
            "S2,D1,第2次,石田 隆之,2024-02-20,101,,,\n")
    result = parse_surveys((notes_header + rows).encode())
    assert errors_of(result) == [(3, "損害割合", "record.range")]
    ok = parse_surveys((notes_header + rows.replace(",101,", ",52%,")).encode())
    assert ok.records[0].notes == "北側外壁に亀裂、\n屋根瓦の落下"
    assert ok.records[1].kind is SurveyKind.SECOND and ok.records[1].damage_ratio == Decimal("52")


def test_surveys_ratio_depth_and_hashes():
    header = "survey_id,dwelling_id,kind,surveyor,surveyed_on,damage_ratio,flood_depth_m,photo_sha256\n"
    good = f"S1,D1,first,A,2024-02-01,,1.2m,{HASH.upper()};{'cd' * 32}\n"
    result = parse_surveys((header + good).encode())
    assert result.ok and result.records[0].flood_depth_m == Decimal("1.2")
    assert result.records[0].photo_sha256 == (HASH, "cd" * 32)
    both = "S2,D1,first,A,2024-02-01,12,1.2,\n"
    neither = "S3,D1,first,A,2024-02-01,,,\n"
    bad_hash = f"S4,D1,first,A,2024-02-01,12,,{HASH[:-1]}\n"
    not_number = "S5,D1,first,A,2024-02-01,abc,,\n"
    result = parse_surveys((header + both + neither + bad_hash + not_number).encode())
    assert errors_of(result) == [(2, "damage_ratio", "record.exclusive"), (3, "damage_ratio", "record.exclusive"),
                                 (4, "photo_sha256", "record.sha256"), (5, "damage_ratio", "csv.number")]
    no_measure = parse_surveys(b"survey_id,dwelling_id,kind,surveyor,surveyed_on\n")
    assert errors_of(no_measure) == [(1, "損害割合 or 浸水深", "csv.missing_column")]


def test_dwellings():
    header = "住家ID,市区町村コード,所在地,構造,階数,世帯番号\n"
    rows = "D1,434434,熊本県益城町宮園1丁目812番3,木造,2,H1;H2\nD2,434434,所在地,RC造,１０階,\n"
    result = parse_dwellings((header + rows).encode())
    assert result.ok
    assert result.records[0].household_ids == ("H1", "H2") and result.records[1].structure is Structure.RC
    assert result.records[1].storeys == 10 and result.records[1].household_ids == ()
    bad = "D3,434434,所在地,竹,x,H1;H1\n"
    assert errors_of(parse_dwellings((header + bad).encode())) == [
        (2, "構造", "csv.choice"), (2, "階数", "csv.number"), (2, "世帯番号", "record.duplicate")]


def test_stream_yields_while_valid_then_raises_with_all_errors():
    stream = RecordStream("residents", io.BytesIO(residents_csv(ROW1, ROW2.replace("ハナコ", "hanako"))))
    seen = []
    with pytest.raises(CsvImportError) as info:
        for record in stream:
            seen.append(record)
    assert [r.resident_id for r in seen] == ["R1"]  # the writer's transaction rolls these back
    assert [(e.row, e.column) for e in info.value.errors] == [(3, "名カナ")]
    assert stream.sha256 and stream.rows == 2


def test_stream_yields_households_after_residents():
    kinds = [type(r) for r in RecordStream("residents", residents_csv(ROW1, ROW2))]
    assert kinds == [Resident, Resident, Household]


def test_progress_callback_and_bar(tmp_path):
    rows = [ROW1.replace("R1", f"R{i}").replace("H1", f"H{i}") for i in range(2500)]
    path = tmp_path / "r.csv"
    path.write_bytes(residents_csv(*rows))
    calls = []
    result = parse("residents", path, progress=lambda done, total: calls.append((done, total)))
    assert result.ok and calls == [(1000, 2500), (2000, 2500), (2500, 2500)]
    out = io.StringIO()
    bar = ProgressBar("residents", out=out, interval=0)
    bar(1000, 2500)
    bar(2500, 2500)
    assert "40%" in out.getvalue() and out.getvalue().endswith("100% 2,500/2,500 rows\n")
    assert file_sha256(path) == result.sha256


def test_write_csv_round_trip():
    records = parse_residents(residents_csv(ROW1, ROW2)).records
    out = io.StringIO(newline="")
    assert write_csv("residents", records, out) == 2
    again = parse_residents(out.getvalue().encode("cp932"))
    assert again.records == records


def test_cli_reports_errors(tmp_path, capsys):
    path = tmp_path / "r.csv"
    path.write_bytes(residents_csv(ROW1.replace("ヤマダ", "yamada")))
    assert main(["residents", str(path)]) == 1
    assert "row 2, column 氏カナ" in capsys.readouterr().out
    path.write_bytes(residents_csv(ROW1))
    assert main(["residents", str(path)]) == 0


def test_unknown_kind():
    with pytest.raises(ValueError):
        parse("cats", b"")


def test_examples_in_the_format_document_parse():
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "csv-formats.md").read_text(encoding="utf-8")
    examples = [b for b in re.findall(r"```\n(.*?)```", doc, re.S) if b.startswith(("住民ID", "住家ID", "調査ID"))]
    assert len(examples) == 3
    for kind, example in zip(("residents", "dwellings", "surveys"), examples):
        result = parse(kind, example.encode())
        assert result.ok and len(result.records) == 1, result.errors


def test_hash_covers_the_whole_file_even_after_an_encoding_error():
    data = (HEADER + ROW1).encode("cp932") + b"x" * (3 << 20)
    result = parse_residents(data, encoding="utf-8")
    assert result.errors[0].code == "csv.encoding"
    assert result.sha256 == hashlib.sha256(data).hexdigest()


def test_chunk_policy_sizes_and_backoff():
    from service.imports.writer import ChunkPolicy

    policy = ChunkPolicy(target_ms=20, min_rows=50, max_rows=5000)
    assert policy.next_rows(200, 40.0) == 150  # halfway towards 100
    assert policy.next_rows(200, 5.0) == 500  # halfway towards 800
    assert policy.next_rows(60, 400.0) == 50 and policy.next_rows(4000, 1.0) == 5000
    # A wait longer than the threshold and than half the chunk's own lock time is contention.
    assert policy.next_backoff(0.0, 30.0, 20.0) == 0.025
    assert policy.next_backoff(0.4, 30.0, 20.0) == 0.8
    assert policy.next_backoff(0.8, 30.0, 20.0) == policy.max_backoff_s
    # CPU starvation: the locking statements took 30 ms, but the chunk held the locks 200 ms.
    assert policy.next_backoff(0.4, 30.0, 200.0) == 0.2
    assert policy.next_backoff(0.001, 0.0, 20.0) == 0.0
