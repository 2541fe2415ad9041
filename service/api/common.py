"""Shared pieces of the API handlers: body parsing, field checks, repository, clock, JSON."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from typing import Any, AsyncIterator

from aiohttp import web

from service.counter.record_checks import check_not_after, jst_today
from service.errors import InvalidRequest
from service.storage.counter import CounterRepository, open_repository
from service.web.appkeys import POOL, SETTINGS

# Keys that would let a caller type a damage class by hand: refused everywhere (DESIGN 3).
CLASS_KEYS = frozenset({"damage_class", "class", "damage_level", "被害の程度"})


def now() -> dt.datetime:
    """The request time (UTC, aware). One place, so tests can see what the node uses."""
    return dt.datetime.now(dt.timezone.utc)


def reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON with Japanese left readable."""
    return web.json_response(data, status=status, headers=headers,
                             dumps=lambda o: json.dumps(o, ensure_ascii=False))


async def json_object(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    """The body as one JSON object (an empty body is {} when ``optional``)."""
    raw = await request.read()
    if not raw.strip() and optional:
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest.about("body", "is not valid JSON", "invalid.json") from None
    if not isinstance(body, dict):
        raise InvalidRequest.about("body", "must be a JSON object", "invalid.type")
    if CLASS_KEYS & set(body):
        raise InvalidRequest.about(sorted(CLASS_KEYS & set(body))[0],
                                   "the damage class is derived from the survey, never given",
                                   "judgement.class_not_allowed")
    return body


async def plain_json_object(request: web.Request) -> dict[str, Any]:
    """The body as one JSON object, with no check of its keys (login, kiosk calls)."""
    try:
        body = await request.json()
    except ValueError:
        raise InvalidRequest.about("body", "not valid JSON", "invalid.json") from None
    if not isinstance(body, dict):
        raise InvalidRequest.about("body", "must be a JSON object", "invalid.type")
    return body


async def json_text_fields(request: web.Request, *fields: str) -> dict[str, Any]:
    """The body as one JSON object in which each of ``fields`` is non-blank text (the kiosk
    and enrolment calls; 422 naming each missing field)."""
    body = await plain_json_object(request)
    missing = [{"field": f, "reason": "required text", "code": "invalid.required"}
               for f in fields if not isinstance(body.get(f), str) or not body[f].strip()]
    if missing:
        raise InvalidRequest(f"required: {', '.join(fields)}", fields=missing)
    return body


@contextlib.asynccontextmanager
async def repository(request: web.Request) -> AsyncIterator[CounterRepository]:
    """The request's one pooled connection, as this node's repository (pass it down; never
    acquire a second connection while it is held)."""
    settings = request.app[SETTINGS]
    async with open_repository(request.app[POOL], node_id=settings.node.id, town=settings.node.town_code,
                               timeout=settings.database.acquire_timeout_s) as repo:
        yield repo


class Fields:
    """Collects every problem of a body, then raises one 422 listing them all."""

    def __init__(self, body: dict[str, Any], allowed: set[str]) -> None:
        self.body, self.problems = body, []
        for key in body:
            if key not in allowed:
                self.add(key, "is not a field of this request", "invalid.unknown_field")

    def add(self, field: str, reason: str, code: str) -> None:
        """Record one problem."""
        self.problems.append({"field": field, "reason": reason, "code": code})

    def text(self, name: str, *, required: bool = True, max_len: int = 200) -> str | None:
        """A non-blank string of at most ``max_len`` characters."""
        value = self.body.get(name)
        if value is None:
            if required:
                self.add(name, "is required", "invalid.required")
            return None
        if not isinstance(value, str) or not value.strip() or len(value) > max_len \
                or any(ord(c) < 0x20 for c in value):
            self.add(name, f"must be non-blank text of at most {max_len} characters", "invalid.type")
            return None
        return value.strip()

    def date(self, name: str, *, required: bool = True, past: bool = False) -> dt.date | None:
        """An ISO date (YYYY-MM-DD); with ``past``, not after today in JST."""
        value = self.text(name, required=required, max_len=10)
        if value is None:
            return None
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            self.add(name, "must be a date YYYY-MM-DD", "invalid.date")
            return None
        if past and (problem := check_not_after(name, day, jst_today(now()))):
            self.add(name, problem.reason, problem.code)
            return None
        return day

    def decimal(self, name: str) -> Decimal | None:
        """A number (JSON number or numeric string); range checks are the record's."""
        value = self.body.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.add(name, "must be a number", "invalid.type")
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            self.add(name, "must be a number", "invalid.type")
            return None
        if not number.is_finite():
            self.add(name, "must be a finite number", "invalid.type")
            return None
        return number

    def choice(self, name: str, options: tuple[str, ...], default: str | None = None) -> str | None:
        """One of ``options``."""
        value = self.body.get(name, default)
        if value not in options:
            self.add(name, f"must be one of {', '.join(options)}", "invalid.choice")
            return None
        return value

    def obj(self, name: str, *, required: bool = True) -> "Fields | None":
        """A nested object, checked with its own Fields (problems are prefixed)."""
        value = self.body.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, dict):
            self.add(name, "must be an object", "invalid.required" if value is None else "invalid.type")
            return None
        return _Nested(self, name, value)

    def check(self) -> None:
        """Raise the 422 if anything failed."""
        if self.problems:
            raise InvalidRequest("; ".join(f"{p['field']}: {p['reason']}" for p in self.problems),
                                 code=self.problems[0]["code"], fields=self.problems)


class _Nested(Fields):
    def __init__(self, parent: Fields, prefix: str, body: dict[str, Any]) -> None:
        self.body, self.parent, self.prefix = body, parent, prefix
        self.problems = parent.problems

    def add(self, field: str, reason: str, code: str) -> None:
        self.parent.add(f"{self.prefix}.{field}", reason, code)


def check_query(request: web.Request, max_len: int = 200) -> None:
    """Refuse control characters (PostgreSQL text cannot hold NUL) and overlong values."""
    for name, value in request.query.items():
        if len(value) > max_len or any(ord(c) < 0x20 or c == "\x7f" for c in value):
            raise InvalidRequest.about(name, f"must be at most {max_len} printable characters",
                                       "invalid.query")


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high]."""
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequest.about(name, "must be an integer", "invalid.type") from None
    if not low <= value <= high:
        raise InvalidRequest.about(name, f"must be {low} to {high}", "invalid.range")
    return value


def path_int(request: web.Request, name: str) -> int:
    """An integer path parameter (a database id), or 422 naming it."""
    try:
        return int(request.match_info[name])
    except ValueError:
        raise InvalidRequest.about(name, "must be an integer", "invalid.type") from None
