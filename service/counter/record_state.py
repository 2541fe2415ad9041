"""The JSON-safe ``state`` form of records (see service.counter.records), both ways.

Pure. The generic entity store (entity_type, entity_id, state JSONB) and the replication
events carry records as dicts: dates as ISO strings, Decimals as strings, enums as their
stable codes, tuples as lists.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, ClassVar

from .record_checks import Check, FieldProblem, RecordError


class RecordBase:
    """Shared state conversion. Subclasses are frozen dataclasses with CHECKS."""

    entity_type: ClassVar[str]
    id_field: ClassVar[str]
    CHECKS: ClassVar[dict[str, Check]]
    # Fields added after records of this type were first stored: a stored state without
    # them reads with the dataclass default (the upcast on read; see records.Survey).
    ADDED_FIELDS: ClassVar[tuple[str, ...]] = ()

    def _cross_check(self) -> FieldProblem | None:
        return None

    @property
    def entity_id(self) -> str:
        """The entity id in the generic store."""
        return getattr(self, self.id_field)

    def to_state(self) -> dict[str, Any]:
        """JSON-safe dict of all fields (ISO dates, Decimal strings, enum codes, lists)."""
        return {f.name: _encode(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Any:
        """Rebuild a record from :meth:`to_state` output; raise RecordError if it is invalid."""
        if not isinstance(state, dict):
            raise RecordError.single("state", "must be an object", "record.type")
        names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        problems = [FieldProblem(n, "is missing", "record.required") for n in names
                    if n not in state and n not in cls.ADDED_FIELDS]
        problems += [FieldProblem(k, "is not a field", "record.unknown_field") for k in state if k not in names]
        values = {}
        for name in names:
            if name in state:
                try:
                    values[name] = _DECODERS.get(name, _identity)(state[name])
                except (ValueError, TypeError, InvalidOperation):
                    problems.append(FieldProblem(name, "has the wrong form", "record.type"))
        if problems:
            raise RecordError(problems)
        return cls(**values)


class OpenRecordBase(RecordBase):
    """A record whose state is kept exactly on a round trip (applications, certificates).

    Other nodes of older and newer versions read and write these states, and the digest
    compares them, so ``from_state(s).to_state() == s`` for every state a node may hold:

    - keys of a newer peer that this version does not know are kept in ``extra``;
    - a field that the state did not have is remembered in ``absent`` and stays out of the
      state while it keeps its default (a record made here starts with ``NEW_ABSENT``, the
      keys that appear only later in its life);
    - only ``REQUIRED_FIELDS`` must be present (a state of an older version lacks others);
      they are the fields without a default.

    Values are kept in their JSON form (lists become tuples). Subclasses declare ``extra``
    and ``absent`` as their last two fields.
    """

    REQUIRED_FIELDS: ClassVar[tuple[str, ...]] = ()
    NEW_ABSENT: ClassVar[frozenset[str]] = frozenset()
    _BOOKKEEPING = ("extra", "absent")

    def to_state(self) -> dict[str, Any]:
        """The state as it was read (or made), with this record's changes."""
        state = dict(self.extra)  # type: ignore[attr-defined]
        absent = self.absent  # type: ignore[attr-defined]
        for name, default in _layout(type(self)):
            value = getattr(self, name)
            if name in absent and value == default:
                continue
            state[name] = _encode(value)
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Any:
        """Rebuild the record; RecordError names a missing required field or a bad one."""
        if not isinstance(state, dict):
            raise RecordError.single("state", "must be an object", "record.type")
        names = [name for name, _ in _layout(cls)]
        problems = [FieldProblem(n, "is missing", "record.required") for n in cls.REQUIRED_FIELDS
                    if n not in state]
        if problems:
            raise RecordError(problems)
        values = {name: state[name] for name in names if name in state}
        return cls(**values, extra={k: v for k, v in state.items() if k not in names},
                   absent=frozenset(n for n in names if n not in state))


@functools.cache
def _layout(cls: type) -> tuple[tuple[str, Any], ...]:
    """(name, default) of an open record's state fields, once per class."""
    return tuple((f.name, f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default)
                 for f in dataclasses.fields(cls) if f.name not in OpenRecordBase._BOOKKEEPING)


def _encode(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, tuple):
        return list(value)
    return value


def _identity(value: Any) -> Any:
    return value


def _decode_date(value: Any) -> dt.date:
    if not isinstance(value, str):
        raise TypeError("date must be an ISO string")
    return dt.date.fromisoformat(value)


def _decode_decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("decimal must be a string")
    return Decimal(value)


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "birth_date": _decode_date,
    "surveyed_on": _decode_date,
    "damage_ratio": _decode_decimal,
    "flood_depth_m": _decode_decimal,
}
