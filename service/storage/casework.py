"""The SQL of the casework lists: 申請一覧 and 交付台帳 over the typed tables that migration
0410 keeps from the entity store (casework_applications, casework_certificates).

A page is one statement ordered by (time, id) DESC with the keyset cursor as a row
comparison, so it is an index range on the matching index of 0410; the count is a second
statement with the same WHERE. Names and addresses shown come from the entities the row
refers to (primary-key joins, one page at a time).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from service.counter.casework_filters import ApplicationQuery, CertificateQuery, Cursor

_APPLICATION_ROW = """
    SELECT a.application_id, a.kind, a.status, a.competent_town, a.applicant_town, a.disaster_id,
           a.disaster_name, a.received_node, a.received_town, a.channel, a.kiosk_id, a.received_at,
           a.damage_class, a.dwelling_id, a.current_certificate,
           (r.state->>'family_name') || ' ' || (r.state->>'given_name') AS applicant_name,
           coalesce(d.state->>'location', a.property_location) AS location
      FROM ({page}) a
      LEFT JOIN entities r ON r.entity_type = 'resident' AND r.entity_id = a.applicant_id
      LEFT JOIN entities d ON d.entity_type = 'dwelling' AND d.entity_id = a.dwelling_id"""

# 失効 first (a revoked certificate that was also superseded is shown as revoked), then 差替え.
_REVOKED = ("EXISTS (SELECT 1 FROM entities v WHERE v.entity_type = 'revocation'"
            " AND v.entity_id = c.number)")
_SUPERSEDED = "EXISTS (SELECT 1 FROM casework_certificates s WHERE s.supersedes = c.number)"
_SUCCESSOR = "(SELECT min(s.number) FROM casework_certificates s WHERE s.supersedes = c.number)"
_STATE = f"CASE WHEN {_REVOKED} THEN 'revoked' WHEN {_SUCCESSOR} IS NOT NULL THEN 'superseded' ELSE 'issued' END"
# The state filter. Revoked and superseded certificates are few: their numbers are gathered
# first (an init plan) and looked up by primary key; issued ones are the rest (anti-joins,
# checked per row while the order index is walked).
_REVOKED_NUMBERS = "c.number = ANY(ARRAY(SELECT v.entity_id FROM entities v WHERE v.entity_type = 'revocation'))"
_STATE_FILTER = {
    "revoked": _REVOKED_NUMBERS,
    "superseded": ("c.number = ANY(ARRAY(SELECT s.supersedes FROM casework_certificates s"
                   f" WHERE s.supersedes IS NOT NULL)) AND NOT {_REVOKED}"),
    "issued": f"NOT {_REVOKED} AND NOT {_SUPERSEDED}",
}

_CERTIFICATE_ROW = f"""
    SELECT c.number, c.application_id, c.cert_type, c.competent_town, c.issuing_node, c.issuing_town,
           c.on_behalf, c.damage_class, c.issue_date, c.signed_at, c.staff_id, c.supersedes,
           a.disaster_id, a.disaster_name,
           (r.state->>'family_name') || ' ' || (r.state->>'given_name') AS householder_name,
           coalesce(d.state->>'location', a.property_location) AS location,
           st.state->>'display_name' AS staff_name, st.state->>'username' AS staff_username,
           {_STATE} AS state, {_SUCCESSOR} AS superseded_by,
           (SELECT count(*) FROM entities cp WHERE cp.entity_type = 'certificate_copy'
                AND cp.state->>'number' = c.number) AS copies
      FROM ({{page}}) c
      LEFT JOIN casework_applications a ON a.application_id = c.application_id
      LEFT JOIN entities h ON h.entity_type = 'household' AND h.entity_id = a.household_id
      LEFT JOIN entities r ON r.entity_type = 'resident' AND r.entity_id = h.state->>'householder_id'
      LEFT JOIN entities d ON d.entity_type = 'dwelling' AND d.entity_id = c.dwelling_id
      LEFT JOIN entities st ON st.entity_type = 'staff' AND st.entity_id = c.staff_id"""


class _Where:
    """SQL conditions with numbered parameters."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.args: list[Any] = []

    def add(self, sql: str, *values: Any) -> None:
        for value in values:
            self.args.append(value)
            sql = sql.replace("?", f"${len(self.args)}", 1)
        self.parts.append(sql)

    def equal(self, column: str, value: Any) -> None:
        if value is not None:
            self.add(f"{column} = ?", value)

    @property
    def sql(self) -> str:
        return " WHERE " + " AND ".join(self.parts) if self.parts else ""


def _application_where(query: ApplicationQuery, towns: frozenset[str] | None) -> _Where:
    w = _Where()
    if towns is not None:  # one town (the staff's own): equality, so the town indexes serve it
        (town,) = towns
        w.add("a.competent_town = ? AND a.applicant_town = ?", town, town)
    for column in ("status", "competent_town", "disaster_id", "received_node", "kiosk_id", "channel",
                   "kind", "damage_class"):
        w.equal(f"a.{column}", getattr(query, column))
    if query.on_behalf is not None:
        w.add(f"{'' if query.on_behalf else 'NOT '}(a.received_town IS DISTINCT FROM a.competent_town)")
    if query.received_from is not None:
        w.add("a.received_at >= ?", query.received_from)
    if query.received_before is not None:
        w.add("a.received_at < ?", query.received_before)
    if query.search is not None:
        # The few ids the text may name, found first (an init plan of index probes), then
        # looked up by primary key: an OR across tables would scan the whole list.
        w.add("a.application_id = ANY(ARRAY(SELECT ?::text UNION SELECT application_id FROM casework_certificates"
              " WHERE number = lower(?) UNION SELECT application_id FROM casework_applications"
              " WHERE tracking_key = ?))", query.search.text, query.search.text, query.search.tracking_key)
    return w


def _certificate_where(query: CertificateQuery, towns: frozenset[str] | None) -> _Where:
    w = _Where()
    if towns is not None:
        (town,) = towns
        w.add("c.competent_town = ?", town)
    for column in ("competent_town", "issuing_node", "issuing_town", "on_behalf", "damage_class", "cert_type"):
        w.equal(f"c.{column}", getattr(query, column))
    if query.disaster_id is not None:
        w.add("c.application_id IN (SELECT application_id FROM casework_applications WHERE disaster_id = ?)",
              query.disaster_id)
    if query.state is not None:
        w.add(_STATE_FILTER[query.state])
    if query.issued_from is not None:
        w.add("c.issue_date >= ?", query.issued_from)
    if query.issued_to is not None:
        w.add("c.issue_date <= ?", query.issued_to)
    if query.search is not None:
        w.add("c.number = ANY(ARRAY(SELECT lower(?) UNION SELECT number FROM casework_certificates"
              " WHERE application_id = ? UNION SELECT x.number FROM casework_certificates x"
              " JOIN casework_applications t ON t.application_id = x.application_id WHERE t.tracking_key = ?))",
              query.search.text, query.search.text, query.search.tracking_key)
    return w


def _page_sql(select: str, table: str, w: _Where, alias: str, columns: tuple[str, str],
              after: Cursor | None, limit: int) -> str:
    """The page is chosen on the list table alone (an index range), then joined to the
    entities it shows: joining first would join every matching row before the LIMIT."""
    order = tuple(f"{alias}.{c}" for c in columns)
    if after is not None:
        w.add(f"({order[0]}, {order[1]}) < (?, ?)", dt.datetime.fromisoformat(after.at), after.key)
    by = f"ORDER BY {order[0]} DESC, {order[1]} DESC"
    page = f"SELECT * FROM {table} {alias}{w.sql} {by} LIMIT {int(limit)}"
    return f"{select.format(page=page)} {by}"


def _rows(records: list[asyncpg.Record]) -> list[dict[str, Any]]:
    return [dict(r) for r in records]


class CaseworkQueries:
    """The lists' SQL, mixed into the counter's repository (``self.conn``: the request's one
    connection)."""

    conn: asyncpg.Connection

    async def application_page(self, query: ApplicationQuery, towns: frozenset[str] | None,
                               limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` applications after the query's cursor, newest first."""
        w = _application_where(query, towns)
        sql = _page_sql(_APPLICATION_ROW, "casework_applications", w, "a", ("received_at", "application_id"), query.after, limit)
        return _rows(await self.conn.fetch(sql, *w.args))

    async def application_count(self, query: ApplicationQuery, towns: frozenset[str] | None, cap: int) -> int:
        """How many applications match (the cursor aside), counting stops at ``cap``."""
        w = _application_where(query, towns)
        return await self.conn.fetchval(
            f"SELECT count(*) FROM (SELECT 1 FROM casework_applications a{w.sql} LIMIT {int(cap)}) AS m", *w.args)

    async def certificate_page(self, query: CertificateQuery, towns: frozenset[str] | None,
                               limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` certificates of the 交付台帳 after the cursor, newest first."""
        w = _certificate_where(query, towns)
        sql = _page_sql(_CERTIFICATE_ROW, "casework_certificates", w, "c", ("signed_at", "number"), query.after, limit)
        return _rows(await self.conn.fetch(sql, *w.args))

    async def certificate_count(self, query: CertificateQuery, towns: frozenset[str] | None, cap: int) -> int:
        """How many certificates match (the cursor aside), counting stops at ``cap``."""
        w = _certificate_where(query, towns)
        return await self.conn.fetchval(
            f"SELECT count(*) FROM (SELECT 1 FROM casework_certificates c{w.sql} LIMIT {int(cap)}) AS m", *w.args)
