"""The card CAs the federation trusts (issue 13): the card issuer is national, so a CA an
admin registers at one node is trusted at every node. Each is the insert-only replicated
entity ``card_ca`` (id: its SHA-256 fingerprint), written through the outbox; rows of the
older node-local table ``card_cas`` (migration 0200) are still trusted where they exist."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from replication.outbox import record_change
from service.errors import InvalidRequest
from service.storage.card_cas import card_ca_pems
from service.storage.entities import entity_exists

ENTITY = "card_ca"


async def publish_card_ca(conn: Any, ca: x509.Certificate, pem: str, registered_by: str, *,
                          node_id: str, node_town: str, now: dt.datetime) -> None:
    """Trust ``ca`` federation-wide (in the caller's transaction); registering it again is a no-op."""
    fingerprint = ca.fingerprint(hashes.SHA256()).hex()
    if await entity_exists(conn, ENTITY, fingerprint):
        return
    await record_change(conn, node_id=node_id, town=node_town, entity_type=ENTITY, entity_id=fingerprint,
                        insert_only=True, state={"fingerprint_sha256": fingerprint,
                                                 "subject": ca.subject.rfc4514_string(), "certificate_pem": pem,
                                                 "registered_by": registered_by, "registered_node": node_id,
                                                 "registered_at": now.isoformat()})


def parse_ca(pem: str) -> x509.Certificate:
    """The CA certificate in ``pem``; 422 ``card.ca`` unless it is a PEM CA certificate."""
    try:
        ca = x509.load_pem_x509_certificate(pem.encode())
        is_ca = ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except (ValueError, x509.ExtensionNotFound):
        is_ca = False
    if not is_ca:
        raise InvalidRequest.about("certificate_pem", "must be a PEM CA certificate", "card.ca")
    return ca


async def trusted_card_cas(pool: Any) -> list[x509.Certificate]:
    """Every card CA this node trusts: the replicated ones and any node-local older ones."""
    return [x509.load_pem_x509_certificate(pem.encode()) for pem in await card_ca_pems(pool, ENTITY)]


