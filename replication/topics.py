"""Topic names and creation: each node produces only to ``<prefix>.<node id>``."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

DEFAULT_PREFIX = "risai.events"


def topic_for(prefix: str, node_id: str) -> str:
    """The topic a node produces to."""
    return f"{prefix}.{node_id}"


def node_of(prefix: str, topic: str) -> str:
    """The node that owns ``topic`` (inverse of topic_for)."""
    if not topic.startswith(prefix + "."):
        raise ValueError(f"topic {topic!r} is not under prefix {prefix!r}")
    return topic[len(prefix) + 1:]


async def ensure_topic(bootstrap: str, topic: str, *, partitions: int = 1,
                       replication_factor: int = 1, min_insync_replicas: int | None = None,
                       client_options: dict | None = None) -> None:
    """Create ``topic`` if missing: full retention (rebuilds replay from offset 0)."""
    # retention.ms=-1: the topic is the history a wiped node rebuilds from (DESIGN 4), so
    # nothing may age out. Compaction would also work because state is whole per key, but
    # it would drop the superseded versions that conflict detection replays.
    config = {"retention.ms": "-1", "retention.bytes": "-1"}
    if min_insync_replicas:
        config["min.insync.replicas"] = str(min_insync_replicas)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000,
                                **(client_options or {}))
    try:
        await admin.start()  # inside: a cancelled start must still close its connections
        if topic in set(await admin.list_topics()):
            return
        try:
            await admin.create_topics(
                [NewTopic(topic, partitions, replication_factor, topic_configs=config)])
        except TopicAlreadyExistsError:
            pass  # another creator won the race; the topic exists, which is all we need
    finally:
        await admin.close()
