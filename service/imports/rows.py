"""Rows of a CSV file into records: the header's layout, then each row's checks.

Pure. Every problem is reported through an ``error(row, column, reason, code)`` callback,
so that one pass over the file names every bad cell.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Callable, Iterable, Iterator

from service.counter.records import Household, RecordError, Resident, field_problems

from .columns import CellError, Column, Spec, header_key


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where each known column sits in this file's header, and what was ignored."""

    positions: tuple[tuple[int, Column, str], ...]  # (index, column, header text as given)
    width: int
    ignored: tuple[str, ...]

    @classmethod
    def from_header(cls, spec: Spec, header: list[str], error: Callable[..., None]) -> Layout | None:
        """Match header cells to columns; report missing or repeated ones and return None."""
        by_key = {header_key(n): col for col in spec.columns for n in col.names}
        found: dict[str, tuple[int, Column, str]] = {}
        ignored: list[str] = []
        ok = True
        for index, text in enumerate(header):
            col = by_key.get(header_key(text))
            if col is None:
                ignored.append(text)
            elif col.field in found:
                error(1, text, f"same column as {found[col.field][2]!r}", "csv.duplicate_column")
                ok = False
            else:
                found[col.field] = (index, col, text.lstrip("\ufeff"))
        for col in spec.columns:
            if col.required and col.field not in found:
                error(1, col.names[0], f"missing column (accepted names: {', '.join(col.names)})",
                      "csv.missing_column")
                ok = False
        if spec.one_of and not any(f in found for f in spec.one_of):
            names = " or ".join(c.names[0] for c in spec.columns if c.field in spec.one_of)
            error(1, names, "missing column: one of them is required", "csv.missing_column")
            ok = False
        return cls(tuple(found.values()), len(header), tuple(ignored)) if ok else None

    def column_name(self, field: str, spec: Spec) -> str:
        """The header text of ``field`` in this file (its canonical name if absent)."""
        for _, col, text in self.positions:
            if col.field == field:
                return text
        return next(c.names[0] for c in spec.columns if c.field == field)


class RowChecker:
    """Turns rows into records, reporting every problem; tracks ids and households."""

    def __init__(self, spec: Spec, layout: Layout, error: Callable[..., None], today: dt.date | None) -> None:
        self.spec, self.layout, self.error, self.today = spec, layout, error, today
        self.seen: dict[str, int] = {}
        # household id -> [first row, town code, householder's row, resident id, address]
        self.households: dict[str, list[Any]] | None = {} if spec.record is Resident else None

    def check(self, row: int, cells: list[str]) -> Any:
        """Return the row's record, or None after reporting its errors."""
        if len(cells) != self.layout.width:
            self.error(row, None, f"has {len(cells)} cells but the header has {self.layout.width}",
                       "csv.field_count")
            return None
        values: dict[str, Any] = {}
        for index, col, text in self.layout.positions:
            try:
                values[col.field] = col.read(cells[index])
            except CellError as exc:
                self.error(row, text, exc.reason, exc.code)
        self._check_duplicate(row, values.get(self.spec.id_field))
        if len(values) < len(self.layout.positions):
            self._report(row, field_problems(self.spec.record, values))
            return None
        try:
            record = self.spec.record(**values)
        except RecordError as exc:
            self._report(row, exc.problems)
            return None
        return self._accept(row, record)

    def _accept(self, row: int, record: Any) -> Any:
        for name in self.spec.date_fields:
            if self.today is not None and getattr(record, name) > self.today:
                self.error(row, self._name(name), f"is after today ({self.today.isoformat()})", "csv.future_date")
                return None
        if self.households is not None:
            self._track_household(row, record)
        return record

    def _name(self, field: str) -> str:
        return self.layout.column_name(field, self.spec)

    def _report(self, row: int, problems: Iterable[Any]) -> None:
        for p in problems:
            self.error(row, self._name(p.field), p.reason, p.code)

    def _check_duplicate(self, row: int, entity_id: Any) -> None:
        if not isinstance(entity_id, str) or not entity_id:
            return
        first = self.seen.setdefault(entity_id, row)
        if first != row:
            self.error(row, self._name(self.spec.id_field), f"duplicate id {entity_id!r}, first on row {first}",
                       "csv.duplicate_id")

    def _track_household(self, row: int, r: Resident) -> None:
        assert self.households is not None
        entry = self.households.setdefault(r.household_id, [row, r.town_code, None, None, None])
        if entry[1] != r.town_code:
            self.error(row, self._name("town_code"),
                       f"household {r.household_id} is in town {entry[1]} on row {entry[0]}", "csv.household")
        if r.is_householder and entry[2] is not None:
            self.error(row, self._name("is_householder"),
                       f"household {r.household_id} already has a householder on row {entry[2]}", "csv.household")
        elif r.is_householder:
            entry[2:] = [row, r.resident_id, r.address]

    def finish(self) -> Iterator[Household]:
        """After the last row: check every household has a householder, then yield them."""
        if self.households is None:
            return
        for household_id, (first, _, householder_row, _, _) in self.households.items():
            if householder_row is None:
                self.error(first, self._name("is_householder"), f"household {household_id} has no householder",
                           "csv.household")
        for household_id, (_, town, _, resident_id, address) in self.households.items():
            if resident_id is not None:
                yield Household(household_id, town, resident_id, address)
