"""集計: applications and certificates by damage class, by 大字 / district, by JST day and by
node, as municipalities publish 罹災証明書の交付状況 (全壊 / 大規模半壊 / 中規模半壊 / 半壊 /
準半壊 / 一部損壊), for one competent town's cases or for every case this node served.

Only counts leave this use case (no names, no addresses beyond the 大字), so figures of
another town need no reason. Certificates counted are the current ones (not revoked, not
superseded); a 被災証明 has no class and is counted under its own key.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

from certs.damage import DamageClass
from service.counter.casework_filters import QueryParser, town_param

CLASS_ORDER = tuple(c.code for c in DamageClass)  # 全壊 … 一部損壊, as published
SCOPES = ("town", "node")


class StatisticsStore(Protocol):
    """The statistics' storage call (service.storage.casework_report.ReportQueries)."""

    node_id: str

    async def sync_town_names(self, names: dict[str, str]) -> int:
        """Give the store the towns' names (the 大字 is what follows them in a 所在地)."""

    async def statistics(self, scope: str, subject: str) -> dict[str, list[dict]]:
        """Counts by class, district, day and node."""


def statistics_query(params: dict[str, str], own_town: str) -> tuple[str, str | None]:
    """(scope, town) from ``?scope=town|node&town=``; a 400 naming a bad parameter."""
    p = QueryParser(params, {"scope", "town"})
    scope = p.choice("scope", SCOPES) or "town"
    town = p.checked("town", town_param, "must be a 6-digit town code") or own_town
    p.done()
    return scope, town if scope == "town" else None


def _by_class(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    counts = {r["key"]: r["n"] for r in rows}
    ordered = [{"class": code, "n": counts.pop(code, 0)} for code in CLASS_ORDER]
    return ordered + [{"class": key or None, "n": n} for key, n in sorted(counts.items())]


def _districts(apps: list[dict[str, Any]], certs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    table: dict[tuple[str, str], dict[str, Any]] = {}

    def line(town: str, district: str) -> dict[str, Any]:
        return table.setdefault((town, district), {"town": town, "district": district or None, "applications": 0,
                                                   "certificates": dict.fromkeys(CLASS_ORDER, 0), "hisai": 0})
    for r in apps:
        line(r["town"], r["key"])["applications"] += r["n"]
    for r in certs:
        row = line(r["town"], r["key"])
        if r["class"] in row["certificates"]:
            row["certificates"][r["class"]] += r["n"]
        else:
            row["hisai"] += r["n"]
    return [table[k] for k in sorted(table)]


async def figures(store: StatisticsStore, scope: str, town: str | None,
                  town_names: Callable[[str], tuple[str, str] | None], known_towns: list[str]) -> dict[str, Any]:
    """The 集計 for one competent town (``scope`` "town") or this node ("node")."""
    names = {code: info[0] for code in known_towns if (info := town_names(code))}
    await store.sync_town_names(names)
    raw = await store.statistics(scope, town if scope == "town" else store.node_id)
    return {
        "scope": scope, "town": town, "node": store.node_id if scope == "node" else None,
        "applications_by_class": _by_class(raw["applications_by_class"]),
        "certificates_by_class": _by_class(raw["certificates_by_class"]),
        "by_district": _districts(raw["applications_by_district"], raw["certificates_by_district"]),
        "applications_by_day": raw["applications_by_day"], "certificates_by_day": raw["certificates_by_day"],
        "applications_by_node": raw["applications_by_node"], "certificates_by_node": raw["certificates_by_node"],
    }
