"""Field checks of the counter records (see service.counter.records), and the error they raise.

Pure: no I/O, no clock. Each check takes ``(field, value)`` and returns None or one
:class:`FieldProblem` with a stable dotted code; :func:`validate_record` runs a record's
checks and raises :class:`RecordError` listing *all* failing fields at once.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import re
from decimal import Decimal
from typing import Any, Callable

from risai_errors import Error, FieldProblem, Kind

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_KANA = re.compile(r"[\u30A1-\u30FA][\u30A1-\u30FE]*")
_CONTROL = {False: re.compile(r"[\x00-\x1f\x7f-\x9f]"), True: re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_REGION = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
EARLIEST_DATE = dt.date(1870, 1, 1)
JST = dt.timezone(dt.timedelta(hours=9))  # the day a person at the counter means (no DST)
# 外字: private-use characters (BMP U+E000–U+F8FF, planes 15–16). A town's own glyphs
# mean nothing on another node, in a PDF font or to a verifier; bytes of a mis-declared
# file decode to them too (CP932 F040–F9FC).
_PRIVATE_USE = re.compile("[\ue000-\uf8ff\U000f0000-\U0010ffff]")


class RecordError(Error, ValueError):
    """Invalid record input, listing every failing field; ``reason``/``code`` are the first's."""

    kind = Kind.INVALID

    def __init__(self, problems: list[FieldProblem] | tuple[FieldProblem, ...]) -> None:
        if not problems:
            raise ValueError("RecordError needs at least one problem")
        super().__init__("; ".join(f"{p.field}: {p.reason}" for p in problems),
                         code=problems[0].code, fields=problems)
        self.reason = problems[0].reason

    @classmethod
    def single(cls, field: str, reason: str, code: str) -> RecordError:
        """An error about one field."""
        return cls([FieldProblem(field, reason, code)])


# --- field checks: each returns None or one FieldProblem --------------------------------

Check = Callable[[str, Any], "FieldProblem | None"]


def _type_problem(field: str, value: Any, expected: str) -> FieldProblem:
    return FieldProblem(field, f"must be {expected}, got {type(value).__name__}", "record.type")


def check_id(field: str, value: Any) -> FieldProblem | None:
    """An entity id: 1-64 ASCII letters, digits, '.', '_' or '-'."""
    if not isinstance(value, str):
        return _type_problem(field, value, "a string")
    if not ID_PATTERN.fullmatch(value):
        return FieldProblem(field, "must be 1-64 ASCII letters, digits, '.', '_' or '-'", "record.id")
    return None


def check_text(max_len: int, *, required: bool = True, multiline: bool = False) -> Check:
    """A check of trimmed text of at most ``max_len`` characters, without control characters."""
    control = _CONTROL[multiline]  # Unicode category Cc; multiline text may hold "\n"

    def check(field: str, value: Any) -> FieldProblem | None:
        if not isinstance(value, str):
            return _type_problem(field, value, "a string")
        if required and not value:
            return FieldProblem(field, "is required", "record.required")
        if value != value.strip():
            return FieldProblem(field, "has leading or trailing spaces", "record.whitespace")
        if len(value) > max_len:
            return FieldProblem(field, f"is longer than {max_len} characters", "record.too_long")
        if control.search(value):
            return FieldProblem(field, "contains control characters", "record.control_char")
        if gaiji := _PRIVATE_USE.search(value):
            return _gaiji_problem(field, gaiji.group())
        return None

    return check


def _gaiji_problem(field: str, char: str) -> FieldProblem:
    point = f"U+{ord(char):04X}"
    return FieldProblem(field, f"外字（私用領域の文字 {point}）は使えません。標準の文字に置き換えてください"
                        f" / private-use character (外字) {point}: map it to a standard character",
                        "record.gaiji")


def check_kana(field: str, value: Any) -> FieldProblem | None:
    """A reading: 1-50 full-width katakana."""
    if not isinstance(value, str):
        return _type_problem(field, value, "a string")
    if not _KANA.fullmatch(value) or len(value) > 50:
        return FieldProblem(field, "must be 1-50 full-width katakana (カタカナ)", "record.kana")
    return None


def check_town(field: str, value: Any) -> FieldProblem | None:
    """A 全国地方公共団体コード (see certs.town_code)."""
    if not isinstance(value, str):
        return _type_problem(field, value, "a string")
    return _town_code_problem(field, value)


@functools.lru_cache(maxsize=4096)  # a group has a handful of towns; imports repeat them
def _town_code_problem(field: str, value: str) -> FieldProblem | None:
    from certs.errors import InvalidInput
    from certs.town_code import validate_town_code

    try:
        validate_town_code(value, field)
    except InvalidInput as exc:
        return FieldProblem(field, exc.message, exc.code)
    return None


def check_region(field: str, value: Any) -> FieldProblem | None:
    """A region id: 1-32 lower-case ASCII letters, digits, '_' or '-'."""
    if not isinstance(value, str):
        return _type_problem(field, value, "a string")
    if not _REGION.fullmatch(value):
        return FieldProblem(field, "must be 1-32 lower-case ASCII letters, digits, '_' or '-'", "record.id")
    return None


def check_date(field: str, value: Any) -> FieldProblem | None:
    """A date (not a datetime) on or after :data:`EARLIEST_DATE`."""
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        return _type_problem(field, value, "a date")
    if value < EARLIEST_DATE:
        return FieldProblem(field, f"is before {EARLIEST_DATE.isoformat()}", "record.date_range")
    return None


def jst_today(now: dt.datetime) -> dt.date:
    """The calendar day in Japan at the aware instant ``now`` (a survey or disaster date)."""
    return now.astimezone(JST).date()


def check_not_after(field: str, value: dt.date, latest: dt.date) -> FieldProblem | None:
    """A date that has already happened: not after ``latest`` (today in JST)."""
    if value > latest:
        return FieldProblem(field, f"is in the future (after {latest.isoformat()}, JST)", "record.future_date")
    return None


def check_bool(field: str, value: Any) -> FieldProblem | None:
    """True or false."""
    return None if isinstance(value, bool) else _type_problem(field, value, "true or false")


def check_enum(kind: type[enum.Enum]) -> Check:
    """A check that the value is a member of ``kind``."""
    def check(field: str, value: Any) -> FieldProblem | None:
        if isinstance(value, kind):
            return None
        codes = ", ".join(str(m.value) for m in kind)
        return FieldProblem(field, f"must be one of {codes}", "record.choice")

    return check


def check_storeys(field: str, value: Any) -> FieldProblem | None:
    """A storey count: an integer from 1 to 99."""
    if isinstance(value, bool) or not isinstance(value, int):
        return _type_problem(field, value, "an integer")
    if not 1 <= value <= 99:
        return FieldProblem(field, "must be 1 to 99", "record.range")
    return None


def check_decimal(low: Decimal, high: Decimal, unit: str) -> Check:
    """A check of an optional Decimal from ``low`` to ``high`` with at most 2 decimal places."""
    def check(field: str, value: Any) -> FieldProblem | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            return _type_problem(field, value, "a Decimal")
        if not value.is_finite() or not low <= value <= high:
            return FieldProblem(field, f"must be {low} to {high} {unit}", "record.range")
        # Trailing zeros carry no precision: "50.000" and 50.000 are both 50 (one rule for
        # JSON strings, JSON numbers and CSV cells).
        if value.normalize().as_tuple().exponent < -2:  # type: ignore[operator]
            return FieldProblem(field, "has more than 2 decimal places", "record.precision")
        return None

    return check


def check_ids(field: str, value: Any) -> FieldProblem | None:
    """A tuple of distinct entity ids."""
    if not isinstance(value, tuple):
        return _type_problem(field, value, "a list of ids")
    for item in value:
        if problem := check_id(field, item):
            return problem
    if len(set(value)) != len(value):
        return FieldProblem(field, "lists the same id twice", "record.duplicate")
    return None


def check_hashes(field: str, value: Any) -> FieldProblem | None:
    """A tuple of distinct SHA-256 hex digests."""
    if not isinstance(value, tuple):
        return _type_problem(field, value, "a list of SHA-256 hex digests")
    if any(not isinstance(h, str) or not _SHA256.fullmatch(h) for h in value):
        return FieldProblem(field, "each entry must be 64 lower-case hex digits (SHA-256)", "record.sha256")
    if len(set(value)) != len(value):
        return FieldProblem(field, "lists the same photo twice", "record.duplicate")
    return None


def validate_record(record: Any) -> None:
    """Run the class's field checks and cross-field rule; raise RecordError listing all."""
    problems = [
        p for name, check in record.CHECKS.items() if (p := check(name, getattr(record, name))) is not None
    ]
    if not problems and (cross := record._cross_check()) is not None:
        problems.append(cross)
    if problems:
        raise RecordError(problems)


def field_problems(cls: type, values: dict[str, Any]) -> list[FieldProblem]:
    """Check the given fields of ``cls`` one by one (used by the CSV import to report all)."""
    return [p for name, v in values.items() if (p := cls.CHECKS[name](name, v)) is not None]
