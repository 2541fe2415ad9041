"""The 代行 report: what other towns' nodes did in a town's name while its hall could not
(applications received, surveys, certificates issued, copies, revocations), by node and
JST day, with the certificates and applications themselves, so a returning town hall can
review them and take the cases over. A town's auditor sees on the same report the audit
records of its data read or written by other towns' staff.

A town's own staff read its report without a reason; another town's report needs one and
is audited (action ``daikou.report``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from service.counter.access import Actor, audit_other_towns
from service.counter.casework import COUNT_CAP, CaseworkStore
from service.counter.casework_filters import ApplicationQuery, CertificateQuery

ACTIVITIES = ("applications", "surveys", "certificates", "copies", "revocations")
MAX_ITEMS = 1000  # rows of each list in the report; the lists themselves page further
MAX_AUDITS = 500


class ReportStore(CaseworkStore, Protocol):
    """The report's storage calls (service.storage.casework_report.ReportQueries)."""

    async def daikou_summary(self, town: str) -> list[dict[str, Any]]:
        """(what, node, day, n) rows."""

    async def cross_town_audits(self, town: str, limit: int) -> list[dict[str, Any]]:
        """Audit records of the town's data by other towns, newest first."""


def by_node_and_day(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The (what, node, day, n) rows as one line per (node, day) and one total per node,
    each with a count per activity (0 where nothing happened)."""
    days: dict[tuple[str, str], dict[str, Any]] = {}
    nodes: dict[str, dict[str, Any]] = {}
    for row in rows:
        day = row["day"].isoformat() if isinstance(row["day"], dt.date) else row["day"]
        line = days.setdefault((day or "", row["node"]), {"day": day, "node": row["node"],
                                                         **dict.fromkeys(ACTIVITIES, 0)})
        total = nodes.setdefault(row["node"], {"node": row["node"], **dict.fromkeys(ACTIVITIES, 0)})
        line[row["what"]] += row["n"]
        total[row["what"]] += row["n"]
    return [days[k] for k in sorted(days)], [nodes[k] for k in sorted(nodes)]


async def daikou_report(store: ReportStore, actor: Actor, town: str, *, with_audits: bool) -> dict[str, Any]:
    """The report for ``town`` (``with_audits``: the acting staff is an auditor)."""
    if town != actor.staff.town_code:
        actor.reason()
    certificates = CertificateQuery(competent_town=town, on_behalf=True, scope="all")
    applications = ApplicationQuery(competent_town=town, on_behalf=True, scope="all")
    async with store.transaction():
        days, nodes = by_node_and_day(await store.daikou_summary(town))
        report: dict[str, Any] = {
            "town": town, "by_day": days, "by_node": nodes,
            "certificates": await store.certificate_page(certificates, None, MAX_ITEMS),
            "certificates_total": await store.certificate_count(certificates, None, COUNT_CAP),
            "applications": await store.application_page(applications, None, MAX_ITEMS),
            "applications_total": await store.application_count(applications, None, COUNT_CAP),
            "audits": await store.cross_town_audits(town, MAX_AUDITS) if with_audits else None,
        }
        await audit_other_towns(store, actor, towns={town}, action="daikou.report",
                                subject_type="daikou_report", subject_id=town)
    return report
