"""Staff accounts (DESIGN 6): per town, with roles, passwords hashed with Argon2id.

Accounts are replicated entities (entity_type "staff") written through
``record_change``, so a town's staff can log in at a partner's node while their own hall
is down. The replicated state carries the Argon2id hash, never the password: the hash is
salted and memory-hard, and every node needs it to check a login offline.

The staff id is derived from (town, username) (a UUIDv5), so two nodes that create the
same account concurrently write the same entity, which converges (and surfaces a
conflict) instead of leaving two accounts with one name.

The command line that adds an account is service.staff.cli.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
import uuid
from typing import Any, Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from certs.errors import CertsError
from certs.town_code import validate_town_code
from replication.outbox import record_change
from service.errors import Conflict, InvalidRequest
from service.storage.entities import entity_state

ROLES = frozenset({"clerk", "surveyor", "supervisor", "auditor", "admin"})
ENTITY_TYPE = "staff"
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_STAFF_NAMESPACE = uuid.UUID("6f1d3b0e-52a4-4c1e-9b5e-7a1c2f0d9e41")
MIN_PASSWORD, MAX_PASSWORD = 10, 1024

# Argon2id with the argon2-cffi defaults (RFC 9106 low-memory profile: t=3, m=64 MiB,
# p=4). Parameters travel inside each hash, so raising them later only needs rehashing.
_hasher = PasswordHasher()


@dataclasses.dataclass(frozen=True)
class Staff:
    """An authenticated member of staff, as handlers see them."""

    staff_id: str
    town_code: str
    username: str
    display_name: str
    roles: frozenset[str]

    def has_any(self, roles: Iterable[str]) -> bool:
        return bool(self.roles & set(roles))

    def public(self) -> dict[str, Any]:
        """The JSON shape of /auth/me and the login reply."""
        return {"staff_id": self.staff_id, "town_code": self.town_code,
                "username": self.username, "display_name": self.display_name,
                "roles": sorted(self.roles)}


@dataclasses.dataclass(frozen=True)
class StaffAccount:
    """The stored account: the Staff plus its password hash and whether it is disabled."""

    staff: Staff
    password_hash: str
    disabled: bool
    # Sessions created before this instant end on every node (disable, password reset):
    # sessions are node-local, so the account itself carries the cut-off to every node.
    sessions_not_before: str | None = None  # ISO 8601 UTC
    changed_by: str | None = None  # staff id of the admin who last changed the account
    changed_at: str | None = None


def normalise_username(username: str) -> str:
    """Usernames compare after NFKC and lower-casing (全角 letters typed at a counter)."""
    return unicodedata.normalize("NFKC", username).strip().lower()


def staff_id_for(town_code: str, username: str) -> str:
    """The deterministic staff id of (town, username)."""
    return str(uuid.uuid5(_STAFF_NAMESPACE, f"{town_code}:{normalise_username(username)}"))


def parse_roles(roles: Iterable[str] | str) -> frozenset[str]:
    """Roles from a list or a comma-separated string; unknown roles are refused."""
    items = roles.split(",") if isinstance(roles, str) else list(roles)
    found = frozenset(r.strip() for r in items if r.strip())
    unknown = found - ROLES
    if unknown or not found:
        reason = (f"unknown role(s): {', '.join(sorted(unknown))}" if unknown
                  else "at least one role is needed")
        raise InvalidRequest.about("roles", f"{reason}; roles are {', '.join(sorted(ROLES))}",
                                   "staff.roles")
    return found


def validate_password(password: str) -> str:
    """A password policy in the NIST 800-63B spirit: length, not composition rules."""
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidRequest.about(
            "password", f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters", "staff.password")
    return password


def hash_password(password: str) -> str:
    """Argon2id hash (CPU and memory heavy: call it off the event loop in servers)."""
    return _hasher.hash(validate_password(password))


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; never raises for a wrong or malformed hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def validated_identity(town_code: str, username: str, display_name: str) -> tuple[str, str, str]:
    try:
        town_code = validate_town_code(town_code, "town_code")
    except CertsError as exc:
        raise InvalidRequest.about("town_code", exc.message, "staff.town_code") from None
    name = normalise_username(username)
    if not _USERNAME.fullmatch(name):
        raise InvalidRequest.about(
            "username", "1-64 of a-z 0-9 . _ - starting with a letter or digit", "staff.username")
    display = (display_name or name).strip()
    if not 0 < len(display) <= 100 or any(unicodedata.category(c) == "Cc" for c in display):
        raise InvalidRequest.about("display_name", "1-100 printable characters",
                                   "staff.display_name")
    return town_code, name, display


async def save_staff(conn: Any, *, node_id: str, node_town: str,
                     account: StaffAccount) -> None:
    """Write an account through the outbox, in the caller's transaction."""
    s = account.staff
    state = {"staff_id": s.staff_id, "town_code": s.town_code, "username": s.username,
             "display_name": s.display_name, "roles": sorted(s.roles),
             "password_hash": account.password_hash, "disabled": account.disabled,
             "sessions_not_before": account.sessions_not_before,
             "changed_by": account.changed_by, "changed_at": account.changed_at}
    await record_change(conn, node_id=node_id, town=node_town, entity_type=ENTITY_TYPE,
                        entity_id=s.staff_id, state=state)


async def create_staff(conn: Any, *, node_id: str, node_town: str,
                       town_code: str, username: str, display_name: str,
                       roles: Iterable[str] | str, password_hash: str,
                       changed_by: str | None = None, changed_at: str | None = None) -> Staff:
    """Create an account (hash the password first with :func:`hash_password`).

    Must run in the caller's transaction; an existing account of that name is a 409.
    """
    town_code, name, display = validated_identity(town_code, username, display_name)
    staff = Staff(staff_id_for(town_code, name), town_code, name, display, parse_roles(roles))
    if await load_account(conn, staff.staff_id) is not None:
        raise Conflict(f"staff {name} already exists in town {town_code}", code="staff.exists")
    await save_staff(conn, node_id=node_id, node_town=node_town,
                     account=StaffAccount(staff, password_hash, disabled=False,
                                          changed_by=changed_by, changed_at=changed_at))
    return staff


def account_from_state(state: dict[str, Any]) -> StaffAccount:
    """The account held in a replicated ``staff`` entity state."""
    staff = Staff(state["staff_id"], state["town_code"], state["username"],
                  state["display_name"], frozenset(state["roles"]) & ROLES)
    return StaffAccount(staff, state["password_hash"], bool(state.get("disabled")),
                        state.get("sessions_not_before"), state.get("changed_by"),
                        state.get("changed_at"))


async def load_account(conn: Any, staff_id: str) -> StaffAccount | None:
    """The account with this id from the entity store, or None."""
    state = await entity_state(conn, ENTITY_TYPE, staff_id)
    return account_from_state(state) if state is not None else None
