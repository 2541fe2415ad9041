"""Node identities on the test Kafka clusters (tests/conftest.py), as the launcher sets them up.

The fixture clusters run TLS with client authentication and the StandardAuthorizer, like
the launcher's. A test that plays node N gets N's client certificate (principal
``User:CN=N``) and, from ``grant``, N's topic and exactly N's ACLs (deploy/kafka_acl.py).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from certs.tls import TlsFiles, ensure_node_tls, kafka_options
from deploy.kafka_acl import create_acls, federation_acls
from deploy.kafka_admin import ensure_topics
from deploy.kafka_cluster import KafkaCluster


def node_tls(cluster: KafkaCluster, node_id: str) -> Path:
    """Node ``node_id``'s TLS folder (server/ and client/) under the cluster's TLS CA."""
    return ensure_node_tls(cluster.tls.pki_dir, node_id, datetime.now(timezone.utc))


def node_options(cluster: KafkaCluster, node_id: str) -> dict:
    """aiokafka options that connect as node ``node_id`` (its client certificate)."""
    return kafka_options(TlsFiles(node_tls(cluster, node_id) / "client"))


async def grant(cluster: KafkaCluster, prefix: str, node_ids: list[str], *, partitions: int = 1,
                replication_factor: int = 1, min_insync_replicas: int | None = None) -> dict[str, dict]:
    """Create each node's topic and ACLs as the admin; each node's client options."""
    config = {"retention.ms": "-1"}
    if min_insync_replicas:
        config["min.insync.replicas"] = str(min_insync_replicas)
    admin = cluster.admin_options()
    await ensure_topics(cluster.bootstrap_servers, [f"{prefix}.{n}" for n in node_ids],
                        partitions=partitions, replication_factor=replication_factor,
                        config=config, client_options=admin)
    await create_acls(cluster.bootstrap_servers, federation_acls(prefix, node_ids), admin)
    return {n: node_options(cluster, n) for n in node_ids}
