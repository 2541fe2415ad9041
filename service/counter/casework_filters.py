"""Filters, search and paging of the casework lists (申請一覧, 交付台帳), as pure values.

A list request is a flat mapping of query parameters; :func:`application_query` and
:func:`certificate_query` turn it into a frozen query or raise one 400 (kind BAD_REQUEST)
that names every bad parameter and why. Pages follow a keyset cursor (the sort key of the
last row shown), so page 1,000 costs what page 1 does; the total count comes beside it.
No I/O and no clock.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import re
import unicodedata
from typing import Any, Callable, Mapping

from certs.damage import DamageClass
from certs.errors import InvalidInput
from certs.town_code import validate_town_code
from service.counter import codes
from service.counter.lifecycle import STATUSES
from service.errors import ServiceError

JST = dt.timezone(dt.timedelta(hours=9))
CHANNELS = ("counter", "kiosk", "mail")
KINDS = ("risai", "hisai")
CERT_STATES = ("issued", "superseded", "revoked")
SCOPES = ("own", "all")
DAMAGE_CODES = tuple(c.code for c in DamageClass)
MAX_LIMIT = 200
_NODE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_DISASTER = re.compile(r"[A-Za-z0-9-]{1,60}")
_COMMON = {"q", "scope", "limit", "after", "disaster_id"}


@dataclasses.dataclass(frozen=True)
class Cursor:
    """Where the next page starts: the sort key (time, id) of the last row shown."""

    at: str
    key: str

    def encode(self) -> str:
        """Opaque, URL-safe."""
        return base64.urlsafe_b64encode(json.dumps([self.at, self.key]).encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> "Cursor":
        """The cursor from :meth:`encode`, or ValueError."""
        raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if not (isinstance(raw, list) and len(raw) == 2 and all(isinstance(v, str) for v in raw)):
            raise ValueError("not a cursor")
        dt.datetime.fromisoformat(raw[0])
        return cls(raw[0], raw[1])


@dataclasses.dataclass(frozen=True)
class Search:
    """What ``q`` may be: an application number, a 整理番号, or a tracking code (its key)."""

    text: str
    tracking_key: str | None


@dataclasses.dataclass(frozen=True)
class ApplicationQuery:
    """The 申請一覧's filters; None means "any"."""

    status: str | None = None
    competent_town: str | None = None
    disaster_id: str | None = None
    received_node: str | None = None
    kiosk_id: str | None = None
    channel: str | None = None
    kind: str | None = None
    damage_class: str | None = None
    on_behalf: bool | None = None  # received at another town's node (代行受付)
    received_from: dt.datetime | None = None  # inclusive, start of a JST day
    received_before: dt.datetime | None = None  # exclusive, start of the next JST day
    search: Search | None = None
    scope: str = "own"
    limit: int = 50
    after: Cursor | None = None


@dataclasses.dataclass(frozen=True)
class CertificateQuery:
    """The 交付台帳's filters; None means "any"."""

    competent_town: str | None = None
    issuing_node: str | None = None
    issuing_town: str | None = None
    on_behalf: bool | None = None
    damage_class: str | None = None
    cert_type: str | None = None
    state: str | None = None
    disaster_id: str | None = None
    issued_from: dt.date | None = None
    issued_to: dt.date | None = None
    search: Search | None = None
    scope: str = "own"
    limit: int = 50
    after: Cursor | None = None


class QueryParser:
    """Collects every bad parameter, then raises one 400 naming them."""

    def __init__(self, params: Mapping[str, str], allowed: set[str]) -> None:
        self.params, self.problems = params, []
        for name in params:
            if name not in allowed:
                self.bad(name, "is not a filter of this list", "list.unknown_filter")

    def bad(self, name: str, reason: str, code: str = "list.invalid_value") -> None:
        self.problems.append({"field": name, "reason": reason, "code": code})

    def get(self, name: str) -> str | None:
        value = self.params.get(name)
        if value is None or not value.strip():
            return None
        value = unicodedata.normalize("NFKC", value).strip()
        if len(value) > 100 or any(ord(c) < 0x20 or c == "\x7f" for c in value):
            self.bad(name, "must be at most 100 printable characters")
            return None
        return value

    def choice(self, name: str, options: tuple[str, ...]) -> str | None:
        value = self.get(name)
        if value is not None and value not in options:
            self.bad(name, f"must be one of {', '.join(options)}")
            return None
        return value

    def checked(self, name: str, check: Callable[[str], Any], reason: str) -> Any:
        value = self.get(name)
        if value is None:
            return None
        try:
            return check(value)
        except (ValueError, InvalidInput):
            self.bad(name, reason)
            return None

    def done(self) -> None:
        if self.problems:
            raise ServiceError("; ".join(f"{p['field']}: {p['reason']}" for p in self.problems),
                               code=self.problems[0]["code"], fields=self.problems)


def town_param(value: str) -> str:
    validate_town_code(value, "town")
    return value


def _node(value: str) -> str:
    if not _NODE.fullmatch(value) or len(value) > 40:
        raise ValueError(value)
    return value


def _disaster(value: str) -> str:
    if not _DISASTER.fullmatch(value):
        raise ValueError(value)
    return value


def _limit(value: str) -> int:
    number = int(value)
    if not 1 <= number <= MAX_LIMIT:
        raise ValueError(value)
    return number


def _search(value: str) -> Search:
    key = codes.code_key(value)
    looks_like_code = len(key) == codes.LENGTH and all(c in codes.ALPHABET for c in key)
    return Search(value, codes.tracking_lookup_key(value) if looks_like_code else None)


def _common(p: QueryParser) -> dict[str, Any]:
    return {
        "disaster_id": p.checked("disaster_id", _disaster, "must be a disaster id (D-YYYYMMDD-…)"),
        "search": p.checked("q", _search, "must be text"),
        "scope": p.choice("scope", SCOPES) or "own",
        "limit": p.checked("limit", _limit, f"must be an integer 1 to {MAX_LIMIT}") or 50,
        "after": p.checked("after", Cursor.decode, "is not a cursor this list gave"),
    }


def _jst_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), JST).astimezone(dt.timezone.utc)


def _date_range(p: QueryParser, low: str, high: str) -> tuple[dt.date | None, dt.date | None]:
    first = p.checked(low, dt.date.fromisoformat, "must be a date YYYY-MM-DD")
    last = p.checked(high, dt.date.fromisoformat, "must be a date YYYY-MM-DD")
    if first and last and first > last:
        p.bad(high, f"must not be before {low}", "list.invalid_range")
    return first, last


def application_query(params: Mapping[str, str]) -> ApplicationQuery:
    """The 申請一覧 query of these parameters, or a 400 naming each bad one."""
    p = QueryParser(params, _COMMON | {"status", "competent_town", "received_node", "kiosk_id", "channel",
                                   "kind", "damage_class", "received_from", "received_to", "on_behalf"})
    first, last = _date_range(p, "received_from", "received_to")
    behalf = p.choice("on_behalf", ("true", "false"))
    query = ApplicationQuery(
        status=p.choice("status", STATUSES), competent_town=p.checked("competent_town", town_param,
                                                                      "must be a 6-digit town code"),
        received_node=p.checked("received_node", _node, "must be a node id"),
        kiosk_id=p.checked("kiosk_id", _node, "must be a kiosk id"),
        channel=p.choice("channel", CHANNELS), kind=p.choice("kind", KINDS),
        damage_class=p.choice("damage_class", DAMAGE_CODES), on_behalf=None if behalf is None else behalf == "true",
        received_from=_jst_start(first) if first else None,
        received_before=_jst_start(last + dt.timedelta(days=1)) if last else None, **_common(p))
    p.done()
    return query


def certificate_query(params: Mapping[str, str]) -> CertificateQuery:
    """The 交付台帳 query of these parameters, or a 400 naming each bad one."""
    p = QueryParser(params, _COMMON | {"competent_town", "issuing_node", "issuing_town", "on_behalf",
                                   "damage_class", "cert_type", "state", "issued_from", "issued_to"})
    first, last = _date_range(p, "issued_from", "issued_to")
    behalf = p.choice("on_behalf", ("true", "false"))
    query = CertificateQuery(
        competent_town=p.checked("competent_town", town_param, "must be a 6-digit town code"),
        issuing_node=p.checked("issuing_node", _node, "must be a node id"),
        issuing_town=p.checked("issuing_town", town_param, "must be a 6-digit town code"),
        on_behalf=None if behalf is None else behalf == "true",
        damage_class=p.choice("damage_class", DAMAGE_CODES), cert_type=p.choice("cert_type", KINDS),
        state=p.choice("state", CERT_STATES), issued_from=first, issued_to=last, **_common(p))
    p.done()
    return query


def describe(query: ApplicationQuery | CertificateQuery) -> str:
    """The filters as one line, for an audit record's subject (cursor and limit left out)."""
    parts = []
    for name, value in dataclasses.asdict(query).items():
        if name in ("limit", "after") or value is None:
            continue
        if name == "search":
            value = value["text"]
        parts.append(f"{name}={value}")
    return "&".join(parts)[:200] or "all"
