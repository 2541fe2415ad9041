"""Kiosk sessions, challenges and one-time application codes: values and storage.

A clerk issues a one-time application code (only its digest is stored); a kiosk redeems
it once. A challenge is used once. Either way the kiosk gets a short kiosk session bound
to that kiosk and that one resident. Sessions and challenges are local to the node.

Codes replicate (issue 13), so a resident given a code at their own town's counter can use
it at a partner town's kiosk while their hall is offline: the code is the insert-only
entity ``application_code`` (id: the code's SHA-256 in hex; the code itself is nowhere),
and its redemption the insert-only entity ``application_code_redemption`` with the same
id, both written through the outbox. A code is used once per node at once (the redemption
insert is serialised by the entity store's lock); across nodes once its first redemption
has replicated. Two nodes redeeming one code during a partition both succeed and, after
healing, the second redemption is an insert-only conflict put up for review.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import secrets
from typing import Any

from replication.errors import InsertOnlyViolation
from replication.outbox import record_change
from service.counter import codes
from service.errors import Unauthenticated

CODE_ENTITY, REDEMPTION_ENTITY = "application_code", "application_code_redemption"

KIOSK_SESSION_TTL = dt.timedelta(minutes=10)
CODE_TTL = dt.timedelta(hours=72)


def new_application_code() -> str:
    """12 characters (about 59 bits) in groups of four: ABCD-EFGH-JKMN."""
    return codes.new_code()


def normalise_code(code: str) -> str:
    """Codes are typed by people: the rule shared with tracking codes (service.counter.codes)."""
    return codes.display_code(code)


@dataclasses.dataclass(frozen=True)
class KioskSession:
    """A resident identified at one kiosk: the only resident whose data it may touch."""

    kiosk_id: str
    town_code: str
    resident_id: str
    method: str
    expires_at: dt.datetime

    def public(self) -> dict[str, Any]:
        return {"kiosk_id": self.kiosk_id, "town_code": self.town_code,
                "resident_id": self.resident_id, "method": self.method,
                "expires_at": self.expires_at.isoformat()}


def token_digest(secret: str) -> bytes:
    """What is stored instead of a token or code: its SHA-256."""
    return hashlib.sha256(secret.encode()).digest()


async def consume_challenge(conn: Any, challenge: str, kiosk_id: str, now: dt.datetime) -> None:
    """Use a challenge once; 401 ``challenge.used`` / ``challenge.expired`` / ``.unknown``."""
    # One UPDATE decides atomically: two identify calls racing on one challenge cannot
    # both see used_at IS NULL (the row lock serialises them).
    used = await conn.fetchval(
        "UPDATE kiosk_challenges SET used_at = $3 WHERE challenge = $1 AND kiosk_id = $2"
        " AND used_at IS NULL AND expires_at > $3 RETURNING true", challenge, kiosk_id, now)
    if used:
        return
    row = await conn.fetchrow("SELECT kiosk_id, used_at FROM kiosk_challenges"
                              " WHERE challenge = $1", challenge)
    if row is None or row["kiosk_id"] != kiosk_id:
        raise Unauthenticated("unknown challenge", code="challenge.unknown")
    if row["used_at"] is not None:
        raise Unauthenticated("this challenge was already used", code="challenge.used")
    raise Unauthenticated("this challenge has expired; ask for a new one", code="challenge.expired")


async def start_kiosk_session(conn: Any, *, kiosk_id: str, town_code: str, resident_id: str,
                              method: str, now: dt.datetime) -> tuple[str, KioskSession]:
    """Store a kiosk session; returns (token for ``X-Kiosk-Session``, session)."""
    token = secrets.token_urlsafe(32)
    session = KioskSession(kiosk_id, town_code, resident_id, method, now + KIOSK_SESSION_TTL)
    await conn.execute(
        "INSERT INTO kiosk_sessions (token_sha256, kiosk_id, town_code, resident_id, method,"
        " created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)", token_digest(token),
        kiosk_id, town_code, resident_id, method, now, session.expires_at)
    return token, session


async def issue_code(conn: Any, *, town_code: str, resident_id: str, issued_by: str,
                     now: dt.datetime, node_id: str, node_town: str) -> tuple[str, dt.datetime]:
    """Record a one-time application code (only its digest), replicated through the outbox, in
    the caller's transaction; returns (code, expires_at)."""
    code, expires = new_application_code(), now + CODE_TTL
    await record_change(conn, node_id=node_id, town=node_town, entity_type=CODE_ENTITY,
                        entity_id=token_digest(code).hex(), insert_only=True, state={
                            "town_code": town_code, "resident_id": resident_id, "issued_by": issued_by,
                            "issued_node": node_id, "issued_at": now.isoformat(),
                            "expires_at": expires.isoformat()})
    return code, expires


def _invalid() -> Unauthenticated:
    # One answer for unknown, used and expired: a kiosk must not learn which codes exist.
    return Unauthenticated("this code is not valid (unknown, expired or already used)", code="code.invalid")


async def redeem_code(conn: Any, code: str, kiosk_id: str, now: dt.datetime, *, node_id: str,
                      node_town: str) -> tuple[str, str]:
    """Redeem a code once, in the caller's transaction; returns (town code, resident id) or 401
    ``code.invalid``. Codes issued at any node of the federation count once replicated."""
    digest = token_digest(normalise_code(code)).hex()
    state = await conn.fetchval("SELECT state FROM entities WHERE entity_type = $1 AND entity_id = $2",
                                CODE_ENTITY, digest)
    issued = json.loads(state) if isinstance(state, str) else state
    if issued is None or dt.datetime.fromisoformat(issued["expires_at"]) <= now:
        raise _invalid()
    try:
        # The entity store's lock (taken by record_change) serialises two redemptions here;
        # the second finds the first held and, its state being different (each redemption
        # has its own random id, so even the same kiosk at the same instant differs), is
        # refused.
        async with conn.transaction():  # a savepoint: the refused insert leaves nothing
            await record_change(conn, node_id=node_id, town=node_town, entity_type=REDEMPTION_ENTITY,
                                entity_id=digest, insert_only=True,
                                state={"redemption_id": secrets.token_hex(8), "redeemed_at": now.isoformat(),
                                       "kiosk_id": kiosk_id, "node": node_id})
    except InsertOnlyViolation:
        raise _invalid() from None
    return issued["town_code"], issued["resident_id"]
