"""Kafka ACLs for the federation: each node writes only its own topic and reads the others'.

The StandardAuthorizer (KRaft) denies everything no ACL allows; the brokers and the
launcher's admin are super users (deploy/kafka_cluster.py). Per node, with its principal
``User:CN=<node id>`` from its client certificate:

- WRITE and DESCRIBE on its own topic ``<prefix>.<node id>`` (literal), and nothing else
  to write: producing to a peer's topic fails with TopicAuthorizationFailed;
- READ and DESCRIBE on every topic under ``<prefix>.`` (prefixed): its peers' topics to
  replicate, and its own for a rebuild (replication/rebuild.py replays every topic);
- READ on its own consumer group ``<prefix>.<node id>`` (literal). The replication consumer
  assigns partitions itself and keeps its offsets in PostgreSQL, so it joins no group
  today; the grant keeps a group-using tool possible without letting a node join a peer's.

No CREATE anywhere: the launcher creates the topics (automatic creation is off), so a
stolen node certificate cannot make topics. The idempotent producer's InitProducerId is
allowed by WRITE on a topic (since Kafka 3.0, KIP-679), so no IDEMPOTENT_WRITE on the
cluster is granted; tests/integration/test_kafka_tls.py shows the producer works without it.

aiokafka 0.14 has the CreateAcls and DescribeAcls protocol structs but no admin methods for
them, so the two requests are sent here through its admin client.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import for_code
from aiokafka.protocol.admin import CreateAclsRequest, DescribeAclsRequest

from certs.tls import node_principal


class Resource(IntEnum):  # Kafka's ResourceType codes
    UNKNOWN, ANY, TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID, DELEGATION_TOKEN, USER = range(8)


class Pattern(IntEnum):  # PatternType codes
    UNKNOWN, ANY, MATCH, LITERAL, PREFIXED = range(5)


class Operation(IntEnum):  # AclOperation codes
    (UNKNOWN, ANY, ALL, READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, CLUSTER_ACTION,
     DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE, CREATE_TOKENS, DESCRIBE_TOKENS,
     TWO_PHASE_COMMIT) = range(16)


ALLOW = 3  # AclPermissionType
ANY_PERMISSION = 1


@dataclass(frozen=True)
class Acl:
    """One ALLOW binding: principal may do operation on (resource, name, pattern) from any host."""

    principal: str
    operation: Operation
    resource: Resource
    name: str
    pattern: Pattern = Pattern.LITERAL


def node_acls(prefix: str, node_id: str) -> list[Acl]:
    """What one node may do (see the module docstring)."""
    who, own = node_principal(node_id), f"{prefix}.{node_id}"
    return [
        Acl(who, Operation.WRITE, Resource.TOPIC, own),
        Acl(who, Operation.DESCRIBE, Resource.TOPIC, own),
        Acl(who, Operation.READ, Resource.TOPIC, f"{prefix}.", Pattern.PREFIXED),
        Acl(who, Operation.DESCRIBE, Resource.TOPIC, f"{prefix}.", Pattern.PREFIXED),
        Acl(who, Operation.READ, Resource.GROUP, own),
    ]


def federation_acls(prefix: str, node_ids) -> list[Acl]:
    return [acl for node_id in node_ids for acl in node_acls(prefix, node_id)]


async def create_acls(bootstrap: str, acls: list[Acl], client_options: dict) -> None:
    """Create the bindings (idempotent: Kafka keeps one copy of an identical binding)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000,
                                **client_options)
    try:
        await admin.start()  # inside: a cancelled start must still close its connections
        for acl in acls:
            request = CreateAclsRequest(int(acl.resource), acl.name, int(acl.pattern),
                                        acl.principal, "*", int(acl.operation), ALLOW)
            response = await admin._send_request(request)  # any broker forwards to the controller
            for code, message in response.creation_responses:
                if code:
                    raise for_code(code)(f"creating {acl}: {message}")
    finally:
        await admin.close()


async def describe_acls(bootstrap: str, client_options: dict) -> set[Acl]:
    """Every ALLOW binding the cluster holds."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000,
                                **client_options)
    try:
        await admin.start()  # inside: a cancelled start must still close its connections
        request = DescribeAclsRequest(int(Resource.ANY), None, int(Pattern.ANY), None, None,
                                      int(Operation.ANY), ANY_PERMISSION)
        response = await admin._send_request(request)
        if response.error_code:
            raise for_code(response.error_code)(response.error_message)
        return {Acl(principal, Operation(op), Resource(rtype), name, Pattern(ptype))
                for rtype, name, ptype, rows in response.resources
                for principal, _host, op, perm in rows if perm == ALLOW}
    finally:
        await admin.close()
