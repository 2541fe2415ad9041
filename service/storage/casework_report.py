"""The SQL of the 代行 report and of the statistics (集計).

代行: what nodes of other towns did in a town's name. Applications and certificates come
from the list tables of migration 0410 (received_town / issuing_town is not the competent
town); surveys, copies and revocations from ``entity_versions``, whose ``origin_town`` is
the town of the node that wrote them, whichever node this one learnt them from. Days are
JST: an instant is shifted by nine hours before its date is taken.

集計: counts grouped by damage class, 大字 (risai_district, migration 0410), day and node,
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


def _apps_scope(scope: str) -> str:
    return "a.competent_town = $1" if scope == "town" else "a.received_node = $1"


def _certs_scope(scope: str) -> str:
    return "c.competent_town = $1" if scope == "town" else "c.issuing_node = $1"


# Certificates in the figures are the current ones: neither revoked nor superseded.
_CURRENT = ("NOT EXISTS (SELECT 1 FROM entities v WHERE v.entity_type = 'revocation' AND v.entity_id = c.number)"
            " AND NOT EXISTS (SELECT 1 FROM casework_certificates s WHERE s.supersedes = c.number)")
_TOWN_NAMES = "LEFT JOIN unnest($2::text[], $3::text[]) AS t(code, name) ON t.code = {}.competent_town"


class ReportQueries:
    """The 代行 report's and the statistics' SQL, mixed into the counter's repository."""

    conn: asyncpg.Connection

    async def daikou_summary(self, town: str) -> list[dict[str, Any]]:
        """(what, node, day, n) of everything other towns' nodes did in ``town``'s name."""
        return [dict(r) for r in await self.conn.fetch(_DAIKOU + " ORDER BY 3, 2, 1", town)]

    async def cross_town_audits(self, town: str, limit: int) -> list[dict[str, Any]]:
        """Audit records of ``town``'s data by staff (or kiosks) of other towns, newest first."""
        return [json.loads(r["state"]) for r in await self.conn.fetch(_CROSS_TOWN_AUDITS, town, limit)]

    async def statistics(self, scope: str, subject: str, town_names: dict[str, str]) -> dict[str, list[dict]]:
        """Counts by class, district, day and node of applications and current certificates.

        ``scope`` "town": the cases of competent town ``subject``; "node": the cases node
        ``subject`` received (applications) or issued (certificates).
        """
        names = (list(town_names), list(town_names.values()))
        apps, certs = _apps_scope(scope), _certs_scope(scope)
        district = "coalesce(risai_district(coalesce(d.state->>'location', {0}.property_location), t.name), '')"
        queries = {
            "applications_by_class": f"SELECT coalesce(a.damage_class, '') AS key, count(*) AS n"
                                     f" FROM casework_applications a WHERE {apps} GROUP BY 1",
            "certificates_by_class": f"SELECT coalesce(c.damage_class, '') AS key, count(*) AS n"
                                     f" FROM casework_certificates c WHERE {certs} AND {_CURRENT} GROUP BY 1",
            "applications_by_day": f"SELECT {_JST_DAY.format('a.received_at')} AS key, count(*) AS n"
                                   f" FROM casework_applications a WHERE {apps} GROUP BY 1 ORDER BY 1",
            "certificates_by_day": f"SELECT c.issue_date AS key, count(*) AS n FROM casework_certificates c"
                                   f" WHERE {certs} AND {_CURRENT} GROUP BY 1 ORDER BY 1",
            "applications_by_node": f"SELECT a.received_node AS key, count(*) AS n"
                                    f" FROM casework_applications a WHERE {apps} GROUP BY 1 ORDER BY 1",
            "certificates_by_node": f"SELECT c.issuing_node AS key, count(*) AS n FROM casework_certificates c"
                                    f" WHERE {certs} AND {_CURRENT} GROUP BY 1 ORDER BY 1",
            "applications_by_district": (
                f"SELECT a.competent_town AS town, {district.format('a')} AS key, count(*) AS n"
                f" FROM casework_applications a {_TOWN_NAMES.format('a')}"
                " LEFT JOIN entities d ON d.entity_type = 'dwelling' AND d.entity_id = a.dwelling_id"
                f" WHERE {apps} GROUP BY 1, 2 ORDER BY 1, 2"),
            "certificates_by_district": (
                f"SELECT c.competent_town AS town, {district.format('a')} AS key,"
                " coalesce(c.damage_class, '') AS class, count(*) AS n"
                " FROM casework_certificates c LEFT JOIN casework_applications a ON a.application_id = c.application_id"
                f" {_TOWN_NAMES.format('c')}"
                " LEFT JOIN entities d ON d.entity_type = 'dwelling' AND d.entity_id = c.dwelling_id"
                f" WHERE {certs} AND {_CURRENT} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"),
        }
        out = {}
        for name, sql in queries.items():
            args = (subject, *names) if "unnest" in sql else (subject,)
            out[name] = [{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in r.items()}
                         for r in await self.conn.fetch(sql, *args)]
        return out
