"""The node's Prometheus metrics, in a registry of its own (one per app, so tests can run
several nodes in one process). Replication registers its gauges in the same registry."""

from __future__ import annotations

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

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric in the registry."""
        return generate_latest(self.registry)
