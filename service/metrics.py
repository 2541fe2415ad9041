"""The node's Prometheus metrics, in a registry of its own (one per app, so tests can run
several nodes in one process). Replication registers its gauges in the same registry."""

from __future__ import annotations

from datetime import datetime
from typing import Awaitable, Callable, Mapping

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class NodeMetrics:
    """Counters and histograms that the service layer updates."""

    def __init__(self, node_id: str) -> None:
        self.registry = CollectorRegistry()
        self.info = Gauge("risai_node_info", "Constant 1, labelled with the node id",
                          ["node"], registry=self.registry)
        self.info.labels(node=node_id).set(1)
        self.http_requests = Counter("risai_http_requests_total", "HTTP requests by route and status",
                                     ["route", "status"], registry=self.registry)
        self.issued = Counter("risai_certificates_issued_total", "Certificates issued by this node",
                              ["competent_town", "kind"], registry=self.registry)
        self.issue_latency = Histogram("risai_issue_seconds", "Issuance latency, request to reply",
                                       registry=self.registry,
                                       buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.pending_replication = Counter(
            "risai_issued_pending_replication_total",
            "Issuances answered before Kafka acknowledged (availability first)", registry=self.registry)
        self.trust_list_expiry = Gauge("risai_trust_list_age_seconds", "Age of the loaded trust list",
                                       registry=self.registry)
        self.delegation_expiry = Gauge("risai_delegation_expiry_seconds",
                                       "Seconds until this node's delegation from a town expires",
                                       ["town"], registry=self.registry)
        self.tls_expiry = Gauge("risai_tls_cert_expiry_seconds",
                                "Seconds until this node's TLS certificate expires (renew ahead)",
                                ["cert"], registry=self.registry)

    def observe_keys(self, trust_list_issued_at: datetime | None,
                     delegations_not_after: Mapping[str, datetime], now: datetime) -> None:
        """Set the key gauges from what the node holds now (called when /metrics is scraped,
        so the ages are as of the scrape, and a renewed delegation shows at once)."""
        if trust_list_issued_at is not None:
            self.trust_list_expiry.set((now - trust_list_issued_at).total_seconds())
        self.delegation_expiry.clear()  # a delegation removed from the key folder disappears
        for town, not_after in delegations_not_after.items():
            self.delegation_expiry.labels(town=town).set((not_after - now).total_seconds())

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric in the registry."""
        return generate_latest(self.registry)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def route_label(request: web.Request) -> str:
    """The route's template (``/api/v1/applications/{application_id}``), never the raw path,
    so one label per route however many ids are asked for; ``unmatched`` for a 404 of the router."""
    route = request.match_info.route
    resource = route.resource if route is not None else None
    return resource.canonical if resource is not None else "unmatched"


def requests_middleware(metrics: NodeMetrics) -> Callable:
    """Count every request by route template and final status (outermost middleware, so it
    sees the status the error middleware chose)."""

    @web.middleware
    async def count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            metrics.http_requests.labels(route=route_label(request), status=str(status)).inc()

    return count_requests
