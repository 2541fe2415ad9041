"""Synthetic towns: determinism, realism, and that the CSVs parse back without errors."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from pathlib import Path

import pytest

from certs.town_code import validate_town_code
from deploy import synthetic_names as names
from deploy.synthetic import generate_town, main, town_code, write_csvs
from service.counter.records import Sex
from service.imports.stream import parse

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def town():
    return generate_town("434434", "益城町", 3000, seed=7)


def test_town_code_helper_makes_valid_codes():
    assert town_code(43, 443) == "434434"
    assert town_code(17, 204) == "172049"
    assert validate_town_code(town_code(1, 100)) == town_code(1, 100)


def test_same_seed_same_bytes_different_seed_different(tmp_path):
    first = write_csvs(generate_town("434434", "益城町", 1500, seed=1), tmp_path / "a")
    second = write_csvs(generate_town("434434", "益城町", 1500, seed=1), tmp_path / "b")
    other = write_csvs(generate_town("434434", "益城町", 1500, seed=2), tmp_path / "c")
    for kind in ("residents", "dwellings", "surveys"):
        assert first[kind].read_bytes() == second[kind].read_bytes()
        assert first[kind].read_bytes() != other[kind].read_bytes()


def test_cli_output_is_independent_of_hash_seed(tmp_path):
    outputs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / hash_seed
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        subprocess.run([sys.executable, "-m", "deploy.synthetic", "--town-code", "172049", "--town-name", "輪島市",
                        "--residents", "800", "--seed", "3", "--out", str(out)],
                       check=True, cwd=ROOT, env=env, capture_output=True)
        outputs.append([(out / f"{k}.csv").read_bytes() for k in ("residents", "dwellings", "surveys")])
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_generated_csvs_parse_back_with_zero_errors(town, tmp_path, encoding):
    paths = write_csvs(town, tmp_path, encoding)
    residents = parse("residents", paths["residents"])
    assert residents.ok, residents.errors[:5]
    assert residents.records == town.residents
    assert set(residents.households) == set(town.households)
    dwellings = parse("dwellings", paths["dwellings"])
    assert dwellings.ok and dwellings.records == town.dwellings
    surveys = parse("surveys", paths["surveys"])
    assert surveys.ok and surveys.records == town.surveys


def test_exact_resident_count_and_household_shape(town):
    assert len(town.residents) == 3000
    members = collections.defaultdict(list)
    for r in town.residents:
        members[r.household_id].append(r)
    assert set(members) == {h.household_id for h in town.households}
    for household in town.households:
        people = members[household.household_id]
        heads = [p for p in people if p.is_householder]
        assert len(heads) == 1 and heads[0].resident_id == household.householder_id
        assert 1 <= len(people) <= 6
        assert {p.address for p in people} == {household.address}
        assert len({p.family_name for p in people}) == 1
        assert heads[0].birth_date.year <= 2024 - 18
    sizes = collections.Counter(len(v) for v in members.values())
    assert sizes[1] > sizes[4] > sizes[6] > 0


def test_names_and_readings_match_the_lists(town):
    readings = dict(names.FAMILY_NAMES)
    given = {Sex.MALE: dict(sum(names.MALE_NAMES, ())), Sex.FEMALE: dict(sum(names.FEMALE_NAMES, ()))}
    for r in town.residents:
        assert readings[r.family_name] == r.family_kana
        assert given[r.sex][r.given_name] == r.given_kana
    assert len({r.family_name for r in town.residents}) > 60


def test_dwellings_hold_every_household_once(town):
    placed = [h for d in town.dwellings for h in d.household_ids]
    assert sorted(placed) == sorted(h.household_id for h in town.households)
    assert any(len(d.household_ids) == 2 for d in town.dwellings)
    assert all(1 <= len(d.household_ids) <= 2 for d in town.dwellings)
    assert len({d.location for d in town.dwellings}) == len(town.dwellings)
    addresses = {h.address for h in town.households}
    assert not addresses & {d.location for d in town.dwellings}  # 所在地 differs from 住所
    assert all(d.location.startswith("熊本県益城町") for d in town.dwellings)
    assert any("丁目" in a for a in addresses) and any("大字" in a for a in addresses)


def test_disaster_is_skewed_with_some_flood_surveys(town):
    firsts = [s for s in town.surveys if s.kind.value == "first"]
    assert 0.5 < len(firsts) / len(town.dwellings) < 0.7
    floods = [s for s in firsts if s.flood_depth_m is not None]
    assert 0.08 < len(floods) / len(firsts) < 0.25
    classes = collections.Counter(s.damage_class.value for s in firsts if s.damage_ratio is not None)
    assert classes["ichibu-sonkai"] > classes["zenkai"] > 0
    seconds = [s for s in town.surveys if s.kind.value == "second"]
    by_dwelling = {s.dwelling_id: s for s in firsts}
    assert seconds and all(s.surveyed_on > by_dwelling[s.dwelling_id].surveyed_on for s in seconds)


def test_a_large_town_has_exactly_the_residents_asked_for_with_unique_ids():
    # How fast a large town is generated is bench/'s business (bench_import prints it); a
    # timed assertion here failed on a loaded machine without anything being wrong.
    big = generate_town("434434", "益城町", 20_000, seed=1)
    assert len(big.residents) == 20_000
    assert len({r.resident_id for r in big.residents}) == 20_000


def test_cli_writes_files(tmp_path, capsys):
    assert main(["--residents", "50", "--out", str(tmp_path), "--encoding", "cp932"]) == 0
    assert parse("residents", tmp_path / "residents.csv").encoding == "cp932"
    assert "50 residents" in capsys.readouterr().err
