"""Deterministic synthetic towns: residents, households, dwellings and a disaster's surveys.

Same arguments, same records, same CSV bytes: every random draw comes from
``random.Random`` seeded with a string derived from the seed (string seeds hash the same
in every process), and nothing iterates over a set. The CSVs use the documented formats
(docs/csv-formats.md), so demos and drills exercise the real import path.

    python -m deploy.synthetic --town-code 434434 --town-name 益城町 \\
        --residents 100000 --seed 1 --out DIR
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

from deploy import synthetic_names as names
from service.counter.records import Dwelling, Household, Resident, Sex, Structure, Survey, SurveyKind, Town
from service.imports.stream import write_csv

DEFAULT_AS_OF = dt.date(2024, 1, 1)
# Share of households by size 1..6 (roughly the national census shape).
HOUSEHOLD_SIZES = (1, 2, 3, 4, 5, 6)
HOUSEHOLD_WEIGHTS = (35, 28, 17, 13, 5, 2)
STRUCTURES = (Structure.WOOD, Structure.PREFAB, Structure.STEEL, Structure.RC, Structure.SRC, Structure.NON_WOOD)
STRUCTURE_WEIGHTS = (70, 5, 12, 9, 2, 2)
FAMILY_WEIGHTS = tuple(1 / (rank + 8) for rank in range(len(names.FAMILY_NAMES)))


@dataclasses.dataclass(frozen=True)
class SyntheticTown:
    """One generated town and its disaster, as validated records."""

    town: Town
    residents: tuple[Resident, ...]
    households: tuple[Household, ...]
    dwellings: tuple[Dwelling, ...]
    surveys: tuple[Survey, ...]


@dataclasses.dataclass
class _Member:
    sex: Sex
    age: int
    family: tuple[str, str]


def town_code(prefecture: int, number: int) -> str:
    """A valid 6-digit town code: 2-digit prefecture, 3-digit number, check digit."""
    from certs.town_code import check_digit

    body = f"{prefecture:02d}{number:03d}"
    return body + str(check_digit(body))


def generate_town(
    town_code: str,
    town_name: str,
    residents: int,
    seed: int,
    *,
    as_of: dt.date = DEFAULT_AS_OF,
    region: str = "default",
    damaged_share: float = 0.6,
    flood_share: float = 0.15,
) -> SyntheticTown:
    """Generate ``residents`` people in households and dwellings, and the disaster's surveys.

    ``as_of`` is the disaster date: ages are computed at it and surveys follow it.
    ``damaged_share`` of dwellings get a first survey; ``flood_share`` of those use the
    flood-depth shortcut instead of a damage ratio.
    """
    rng = random.Random(f"synthetic/{seed}/{town_code}/people")
    town = Town(town_code, town_name, region, _full_name(rng, Sex.MALE, 1960))
    places = _Places(rng, town_code, town_name)
    address = location = ""
    people: list[Resident] = []
    households: list[Household] = []
    dwellings: list[Dwelling] = []
    while len(people) < residents:
        size = min(rng.choices(HOUSEHOLD_SIZES, HOUSEHOLD_WEIGHTS)[0], residents - len(people))
        # About 8 % of dwellings hold a second household (二世帯住宅): same address and 所在地.
        shares = bool(dwellings) and len(dwellings[-1].household_ids) == 1 and rng.random() < 0.08
        if not shares:
            address, location = places.new_address()
        household_id = f"{town_code}-H{len(households) + 1:06d}"
        members = _household_members(rng, size)
        for index, member in enumerate(members):
            people.append(_resident(rng, town_code, len(people) + 1, member, address, household_id, index == 0, as_of))
        households.append(Household(household_id, town_code, people[-size].resident_id, address))
        if shares:
            last = dwellings.pop()
            dwellings.append(dataclasses.replace(last, household_ids=last.household_ids + (household_id,)))
        else:
            dwellings.append(_dwelling(rng, town_code, len(dwellings) + 1, location, household_id))
    damage_rng = random.Random(f"synthetic/{seed}/{town_code}/damage")
    surveys = _surveys(damage_rng, dwellings, seed, as_of, damaged_share, flood_share)
    return SyntheticTown(town, tuple(people), tuple(households), tuple(dwellings), tuple(surveys))


class _Places:
    """Districts of one town: 住居表示 (丁目-番-号) ones and rural 大字/字 ones.

    Each new household address is unused so far, and so is the 所在地 (地番) of its dwelling.
    """

    def __init__(self, rng: random.Random, code: str, town_name: str) -> None:
        self.rng = rng
        prefecture = names.PREFECTURES[int(code[:2]) - 1] if 1 <= int(code[:2]) <= 47 else ""
        self.prefix = prefecture + town_name
        districts = rng.sample(names.DISTRICTS, 28)
        # About a third of the districts use 住居表示; the rest keep 大字 addresses.
        self.urban = [(d, rng.randint(2, 5)) for d in districts[:10]]
        self.rural = districts[10:]
        self.used: set[str] = set()  # membership only; never iterated (keeps output deterministic)

    def new_address(self) -> tuple[str, str]:
        """A fresh (household address 住所, dwelling location 所在地) pair."""
        for attempt in range(50):
            urban = attempt < 10 and self.rng.random() < 0.55
            address, location = self._urban() if urban else self._rural()
            if address not in self.used and location not in self.used:
                self.used.update((address, location))
                return address, location
        raise RuntimeError("town too large for its address space")

    def _urban(self) -> tuple[str, str]:
        rng = self.rng
        district, chomes = rng.choice(self.urban)
        block = f"{self.prefix}{district}{rng.randint(1, chomes)}丁目"
        return (f"{block}{rng.randint(1, 40)}番{rng.randint(1, 30)}号",
                f"{block}{rng.randint(100, 2999)}番{rng.randint(1, 9)}")

    def _rural(self) -> tuple[str, str]:
        rng = self.rng
        district, aza, lot = rng.choice(self.rural), rng.choice(names.AZA), rng.randint(1, 3999)
        branch = str(rng.randint(1, 12)) if rng.random() < 0.4 else ""
        return f"{self.prefix}大字{district}{lot}番地{branch}", f"{self.prefix}大字{district}字{aza}{lot}番{branch}"


def _household_members(rng: random.Random, size: int) -> list[_Member]:
    """Members, householder first, with ages that make a plausible family."""
    family = rng.choices(names.FAMILY_NAMES, FAMILY_WEIGHTS)[0]
    if size == 1:
        age = rng.randint(65, 97) if rng.random() < 0.55 else rng.randint(18, 64)
        sex = Sex.FEMALE if rng.random() < (0.6 if age >= 65 else 0.45) else Sex.MALE
        return [_Member(sex, age, family)]
    head_age = rng.randint(24, 88)
    head_sex = Sex.MALE if rng.random() < 0.78 else Sex.FEMALE
    members = [_Member(head_sex, head_age, family)]
    if rng.random() < 0.88:
        other = Sex.FEMALE if head_sex is Sex.MALE else Sex.MALE
        members.append(_Member(other, max(18, head_age + rng.randint(-6, 3)), family))
    if size - len(members) >= 2 and head_age < 55 and rng.random() < 0.3:
        members.append(_Member(rng.choice((Sex.MALE, Sex.FEMALE)), min(100, head_age + rng.randint(24, 34)), family))
    while len(members) < size:
        age = rng.randint(max(0, head_age - 42), max(0, head_age - 20))
        members.append(_Member(rng.choice((Sex.MALE, Sex.FEMALE)), age, family))
    return members


def _resident(rng: random.Random, code: str, number: int, member: _Member, address: str,
              household_id: str, is_head: bool, as_of: dt.date) -> Resident:
    born = dt.date(as_of.year - member.age - 1, 1, 1) + dt.timedelta(days=rng.randrange(365))
    given, given_kana = _given_name(rng, member.sex, born.year)
    return Resident(f"{code}-R{number:07d}", code, member.family[0], given, member.family[1], given_kana,
                    born, member.sex, address, household_id, is_head)


def _given_name(rng: random.Random, sex: Sex, born: int) -> tuple[str, str]:
    pools = names.MALE_NAMES if sex is Sex.MALE else names.FEMALE_NAMES
    return rng.choice(pools[0 if born < 1960 else 1 if born < 1990 else 2])


def _full_name(rng: random.Random, sex: Sex, born: int) -> str:
    family = rng.choices(names.FAMILY_NAMES, FAMILY_WEIGHTS)[0][0]
    return f"{family} {_given_name(rng, sex, born)[0]}"


def _dwelling(rng: random.Random, code: str, number: int, location: str, household_id: str) -> Dwelling:
    structure = rng.choices(STRUCTURES, STRUCTURE_WEIGHTS)[0]
    high_rise = structure in (Structure.RC, Structure.SRC)
    storeys = rng.randint(2, 12) if high_rise else rng.choices((1, 2, 3), (35, 60, 5))[0]
    return Dwelling(f"{code}-D{number:06d}", code, location, structure, storeys, (household_id,))


def _surveys(rng: random.Random, dwellings: list[Dwelling], seed: int, as_of: dt.date,
             damaged_share: float, flood_share: float) -> list[Survey]:
    """First surveys for the damaged share, and second surveys for a tenth of those."""
    surveyors = [_full_name(rng, rng.choice((Sex.MALE, Sex.FEMALE)), 1975) for _ in range(24)]
    surveys: list[Survey] = []
    for dwelling in dwellings:
        if rng.random() >= damaged_share:
            continue
        first = _survey(rng, len(surveys) + 1, dwelling, seed, SurveyKind.FIRST, rng.choice(surveyors),
                        as_of + dt.timedelta(days=rng.randint(3, 45)), rng.random() < flood_share, None)
        surveys.append(first)
        if first.damage_ratio is not None and rng.random() < 0.1:
            later = first.surveyed_on + dt.timedelta(days=rng.randint(14, 60))
            surveys.append(_survey(rng, len(surveys) + 1, dwelling, seed, SurveyKind.SECOND,
                                   rng.choice(surveyors), later, False, first.damage_ratio))
    return surveys


def _survey(rng: random.Random, number: int, dwelling: Dwelling, seed: int, kind: SurveyKind,
            surveyor: str, on: dt.date, flood: bool, previous: Decimal | None) -> Survey:
    survey_id = f"{dwelling.town_code}-S{number:06d}"
    ratio = depth = None
    if flood:
        depth = Decimal(f"{min(4.5, rng.lognormvariate(-0.7, 0.8)):.2f}")
    elif previous is not None:  # a second (interior) survey usually finds more damage
        ratio = min(Decimal(100), previous + Decimal(f"{rng.uniform(0, 15):.1f}"))
    else:  # skewed: most houses lightly damaged, a long tail up to total collapse
        ratio = Decimal(f"{100 * rng.betavariate(0.8, 4.0):.1f}")
    photos = tuple(hashlib.sha256(f"{seed}/{survey_id}/{i}".encode()).hexdigest() for i in range(rng.randint(1, 4)))
    notes = rng.choice(names.SURVEY_NOTES) if rng.random() < 0.2 else ""
    return Survey(survey_id, dwelling.dwelling_id, kind, surveyor, on, ratio, depth, photos, notes)


def write_csvs(town: SyntheticTown, out_dir: Path, encoding: str = "utf-8") -> dict[str, Path]:
    """Write residents.csv, dwellings.csv and surveys.csv; return their paths by kind."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for kind, records in (("residents", town.residents), ("dwellings", town.dwellings), ("surveys", town.surveys)):
        path = out_dir / f"{kind}.csv"
        with open(path, "w", encoding=encoding, newline="") as out:
            write_csv(kind, records, out)
        paths[kind] = path
    return paths


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; prints counts and timing to stderr."""
    parser = argparse.ArgumentParser(description="Generate a synthetic town and its disaster as CSV files.")
    parser.add_argument("--town-code", default="434434")
    parser.add_argument("--town-name", default="益城町")
    parser.add_argument("--region", default="default")
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=DEFAULT_AS_OF, help="disaster date")
    parser.add_argument("--damaged-share", type=float, default=0.6)
    parser.add_argument("--flood-share", type=float, default=0.15)
    parser.add_argument("--encoding", default="utf-8", choices=("utf-8", "utf-8-sig", "cp932"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    town = generate_town(args.town_code, args.town_name, args.residents, args.seed, as_of=args.as_of,
                         region=args.region, damaged_share=args.damaged_share, flood_share=args.flood_share)
    generated = time.perf_counter()
    write_csvs(town, args.out, args.encoding)
    print(f"{town.town.name} ({town.town.code}): {len(town.residents)} residents, {len(town.households)} "
          f"households, {len(town.dwellings)} dwellings, {len(town.surveys)} surveys; generated in "
          f"{generated - started:.2f} s, written in {time.perf_counter() - generated:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
