"""Kiosk sessions, challenges and one-time application codes: values and storage.

A clerk issues a one-time application code (only its digest is stored); a kiosk redeems
it once. A challenge is used once. Either way the kiosk gets a short kiosk session bound
to that kiosk and that one resident. All of this is local to the node (not replicated).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
from typing import Any

from service.counter import codes
from service.errors import Unauthenticated

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
                     now: dt.datetime) -> tuple[str, dt.datetime]:
    """Store a one-time application code (only its digest); returns (code, expires_at)."""
    code, expires = new_application_code(), now + CODE_TTL
    await conn.execute(
        "INSERT INTO application_codes (code_sha256, town_code, resident_id, issued_by,"
        " issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        token_digest(code), town_code, resident_id, issued_by, now, expires)
    return code, expires


async def redeem_code(conn: Any, code: str, kiosk_id: str, now: dt.datetime) -> tuple[str, str]:
    """Redeem a code once; returns (town code, resident id) or 401 ``code.invalid``."""
    row = await conn.fetchrow(
        "UPDATE application_codes SET redeemed_at = $3, redeemed_by = $2"
        " WHERE code_sha256 = $1 AND redeemed_at IS NULL AND expires_at > $3"
        " RETURNING town_code, resident_id", token_digest(normalise_code(code)), kiosk_id, now)
    if row is None:
        # One answer for unknown, used and expired: a kiosk must not learn which codes exist.
        raise Unauthenticated("this code is not valid (unknown, expired or already used)",
                              code="code.invalid")
    return row["town_code"], row["resident_id"]
