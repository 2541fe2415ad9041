"""Kiosk sessions, challenges and one-time application codes: values and rules (their SQL is
service.storage.kiosk_sessions).

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
import secrets
from typing import Any

from replication.errors import InsertOnlyViolation
from replication.outbox import record_change
from service.counter import codes
from service.errors import Unauthenticated
from service.storage import kiosk_sessions
from service.storage.entities import entity_state

CODE_ENTITY, REDEMPTION_ENTITY = "application_code", "application_code_redemption"

KIOSK_SESSION_TTL = dt.timedelta(minutes=10)
CHALLENGE_TTL = dt.timedelta(minutes=2)
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


async def new_challenge(conn: Any, kiosk_id: str, now: dt.datetime) -> tuple[str, dt.datetime]:
    """A fresh single-use challenge for this kiosk; returns (challenge, expires_at)."""
    value = secrets.token_urlsafe(32)
    await kiosk_sessions.add_challenge(conn, value, kiosk_id, now, CHALLENGE_TTL)
    return value, now + CHALLENGE_TTL


async def consume_challenge(conn: Any, challenge: str, kiosk_id: str, now: dt.datetime) -> None:
    """Use a challenge once; 401 ``challenge.used`` / ``challenge.expired`` / ``.unknown``."""
    if await kiosk_sessions.use_challenge(conn, challenge, kiosk_id, now):
        return
    row = await kiosk_sessions.challenge(conn, challenge)
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
    await kiosk_sessions.insert_session(conn, digest=token_digest(token), kiosk_id=kiosk_id, town_code=town_code,
                                        resident_id=resident_id, method=method, now=now,
                                        expires_at=session.expires_at)
    return token, session


async def end_kiosk_session(conn: Any, token: str, now: dt.datetime) -> None:
    """The resident is done: the kiosk session of ``token`` ends (the next person's turn)."""
    await kiosk_sessions.end_session(conn, token_digest(token), now)


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
    issued = await entity_state(conn, CODE_ENTITY, digest)
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
