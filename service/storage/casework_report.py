"""The SQL of the 代行 report and of the statistics (集計).

代行: what nodes of other towns did in a town's name. Applications and certificates come
from the list tables of migration 0410 (received_town / issuing_town is not the competent
town); surveys, copies and revocations from ``entity_versions``, whose ``origin_town`` is
the town of the node that wrote them, whichever node this one learnt them from. Days are
JST: an instant is shifted by nine hours before its date is taken.

集計: counts grouped by damage class, 大字 (kept per write, migration 0411), day and node,
over one competent town's cases or over every case this node received or issued.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import asyncpg

_JST_DAY = "(({}) AT TIME ZONE 'UTC' + interval '9 hours')::date"

_DAIKOU = f"""
    SELECT 'applications' AS what, received_node AS node, {_JST_DAY.format('received_at')} AS day, count(*) AS n
      FROM casework_applications WHERE competent_town = $1 AND received_town IS DISTINCT FROM $1
     GROUP BY 2, 3
    UNION ALL
    SELECT 'surveys', v.origin_node, risai_try_date(v.state->>'surveyed_on'), count(DISTINCT v.entity_id)
      FROM entity_versions v
      JOIN entities d ON d.entity_type = 'dwelling' AND d.entity_id = v.state->>'dwelling_id'
     WHERE v.entity_type = 'survey' AND v.origin_town <> $1 AND d.state->>'town_code' = $1
     GROUP BY 2, 3
    UNION ALL
    SELECT 'certificates', issuing_node, issue_date, count(*)
      FROM casework_certificates WHERE competent_town = $1 AND issuing_town IS DISTINCT FROM $1
     GROUP BY 2, 3
    UNION ALL
    SELECT CASE v.entity_type WHEN 'revocation' THEN 'revocations' ELSE 'copies' END, v.origin_node,
           {_JST_DAY.format("risai_try_timestamptz(v.state->>'at')")}, count(DISTINCT v.entity_id)
      FROM entity_versions v JOIN casework_certificates c ON c.number = v.state->>'number'
     WHERE v.entity_type IN ('certificate_copy', 'revocation') AND v.origin_town <> $1
       AND c.competent_town = $1
     GROUP BY 1, 2, 3"""

_CROSS_TOWN_AUDITS = """
    SELECT state FROM entities
     WHERE entity_type = 'audit' AND state->>'town_code' = $1
       AND coalesce(state->>'staff_town', '') <> $1
     ORDER BY state->>'at' DESC LIMIT $2"""


def _scope(alias: str, scope: str) -> str:
    if alias == "a":
        return "a.competent_town = $1" if scope == "town" else "a.received_node = $1"
    return "c.competent_town = $1" if scope == "town" else "c.issuing_node = $1"


# Certificates in the figures are the current ones: neither revoked nor superseded.
_CURRENT = ("NOT EXISTS (SELECT 1 FROM entities v WHERE v.entity_type = 'revocation' AND v.entity_id = c.number)"
            " AND NOT EXISTS (SELECT 1 FROM casework_certificates s WHERE s.supersedes = c.number)")
# One scan per table, every grouping at once; GROUPING() tells the sets apart (a bit per
# column, 1 = not grouped by it).
_APPLICATION_FIGURES = f"""
    SELECT GROUPING(class, day, node, town, district) AS g, class, day, node, town, district, count(*) AS n
      FROM (SELECT coalesce(a.damage_class, '') AS class, {_JST_DAY.format('a.received_at')} AS day,
                   a.received_node AS node, a.competent_town AS town, coalesce(a.district, '') AS district
              FROM casework_applications a
             WHERE {{scope}}) AS x
     GROUP BY GROUPING SETS ((class), (day), (node), (town, district))"""
_CERTIFICATE_FIGURES = f"""
    SELECT GROUPING(class, day, node, town, district) AS g, class, day, node, town, district, count(*) AS n
      FROM (SELECT coalesce(c.damage_class, '') AS class, c.issue_date AS day, c.issuing_node AS node,
                   c.competent_town AS town, coalesce(a.district, '') AS district
              FROM casework_certificates c LEFT JOIN casework_applications a ON a.application_id = c.application_id
             WHERE {{scope}} AND {_CURRENT}) AS x
     GROUP BY GROUPING SETS ((class), (day), (node), (town, district, class))"""
_SETS = {0b01111: "by_class", 0b10111: "by_day", 0b11011: "by_node", 0b11100: "by_district", 0b01100: "by_district"}


def _split(rows: list[asyncpg.Record], prefix: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {f"{prefix}_{name}": [] for name in set(_SETS.values())}
    for r in rows:
        name = _SETS[r["g"]]
        if name == "by_district":
            row = {"town": r["town"], "key": r["district"], "n": r["n"]}
            if prefix == "certificates":
                row["class"] = r["class"]
        else:
            key = {"by_class": r["class"], "by_day": r["day"], "by_node": r["node"]}[name]
            row = {"key": key.isoformat() if isinstance(key, dt.date) else key, "n": r["n"]}
        out[f"{prefix}_{name}"].append(row)
    for name, rows_ in out.items():
        rows_.sort(key=lambda x: (x.get("town") or "", str(x["key"]), x.get("class") or ""))
    return out


class ReportQueries:
    """The 代行 report's and the statistics' SQL, mixed into the counter's repository."""

    conn: asyncpg.Connection

    async def daikou_summary(self, town: str) -> list[dict[str, Any]]:
        """(what, node, day, n) of everything other towns' nodes did in ``town``'s name."""
        return [dict(r) for r in await self.conn.fetch(_DAIKOU + " ORDER BY 3, 2, 1", town)]

    async def cross_town_audits(self, town: str, limit: int) -> list[dict[str, Any]]:
        """Audit records of ``town``'s data by staff (or kiosks) of other towns, newest first."""
        return [json.loads(r["state"]) for r in await self.conn.fetch(_CROSS_TOWN_AUDITS, town, limit)]

    async def sync_town_names(self, names: dict[str, str]) -> int:
        """Keep casework_town_names as the trust list names them; a town whose name is new or
        changed has its dwellings' districts worked out again. Returns the towns changed."""
        changed = [r["code"] for r in await self.conn.fetch(
            "INSERT INTO casework_town_names AS t (code, name) SELECT * FROM unnest($1::text[], $2::text[])"
            " ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name WHERE t.name <> EXCLUDED.name"
            " RETURNING code", list(names), list(names.values()))]
        if changed:  # (the BEFORE trigger of casework_applications takes the new districts)
            async with self.conn.transaction():
                await self.conn.execute(
                    "UPDATE casework_dwellings d SET town_name = t.name, district = risai_district(d.location, t.name)"
                    " FROM casework_town_names t WHERE t.code = d.town_code AND t.code = ANY($1::text[])", changed)
                await self.conn.execute(
                    "UPDATE casework_applications SET district = NULL WHERE competent_town = ANY($1::text[])", changed)
        return len(changed)

    async def statistics(self, scope: str, subject: str) -> dict[str, list[dict]]:
        """Counts by class, district, day and node of applications and current certificates.

        ``scope`` "town": the cases of competent town ``subject``; "node": the cases node
        ``subject`` received (applications) or issued (certificates).
        """
        apps = await self.conn.fetch(_APPLICATION_FIGURES.format(scope=_scope("a", scope)), subject)
        certs = await self.conn.fetch(_CERTIFICATE_FIGURES.format(scope=_scope("c", scope)), subject)
        return {**_split(apps, "applications"), **_split(certs, "certificates")}
