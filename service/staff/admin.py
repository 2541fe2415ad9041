"""Staff account administration (issue 15): list, create, change roles, disable, reset a
password. The rules live here; service/api/staff.py only parses and replies.

- Only an ``admin`` manages accounts, and only those of their own town (a partner's admin
  cannot touch 益城町's staff even at a shared node).
- An admin cannot disable themselves or drop their own admin role (no town locks itself out).
- Disabling an account or resetting its password ends its sessions on every node: the
  account carries ``sessions_not_before`` (replicated), and this node also deletes its own
  session rows at once. Every change records who made it and when.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Iterable

from service.errors import Forbidden, NotFound
from service.staff.accounts import (
    ENTITY_TYPE,
    Staff,
    StaffAccount,
    account_from_state,
    create_staff,
    load_account,
    parse_roles,
    save_staff,
    validated_identity,
)
from service.storage.entities import states_of_town
from service.storage.staff_accounts import lock_account
from service.storage.staff_sessions import delete_sessions_of

ADMIN = "admin"


@dataclasses.dataclass(frozen=True)
class NodeIdentity:
    """Which node writes the change (the outbox row's origin)."""

    node_id: str
    town: str


def listed(account: StaffAccount) -> dict[str, Any]:
    """An account as the admin screen shows it (never the password hash)."""
    return {**account.staff.public(), "disabled": account.disabled,
            "sessions_not_before": account.sessions_not_before,
            "changed_by": account.changed_by, "changed_at": account.changed_at}


def _require_admin(actor: Staff, town_code: str) -> None:
    if ADMIN not in actor.roles:
        raise Forbidden("only an admin manages staff accounts", code="auth.role")
    if actor.town_code != town_code:
        raise Forbidden(f"an admin of {actor.town_code} cannot manage the staff of {town_code}",
                        code="staff.other_town")


async def list_accounts(conn: Any, actor: Staff) -> list[dict[str, Any]]:
    """Every account of the admin's town, by username."""
    _require_admin(actor, actor.town_code)
    states = await states_of_town(conn, ENTITY_TYPE, actor.town_code, "username")
    return [listed(account_from_state(s)) for s in states]


async def add_account(conn: Any, node: NodeIdentity, actor: Staff, *, username: str,
                      display_name: str, roles: Iterable[str], password_hash: str,
                      now: dt.datetime) -> dict[str, Any]:
    """Create an account in the admin's town (409 staff.exists if the name is taken)."""
    _require_admin(actor, actor.town_code)
    async with conn.transaction():
        staff = await create_staff(conn, node_id=node.node_id, node_town=node.town,
                                   town_code=actor.town_code, username=username,
                                   display_name=display_name, roles=roles, password_hash=password_hash,
                                   changed_by=actor.staff_id, changed_at=now.isoformat())
    return listed(StaffAccount(staff, password_hash, False, None, actor.staff_id, now.isoformat()))


async def change_account(conn: Any, node: NodeIdentity, actor: Staff, staff_id: str, *,
                         now: dt.datetime, roles: Iterable[str] | None = None,
                         display_name: str | None = None, disabled: bool | None = None,
                         password_hash: str | None = None) -> dict[str, Any]:
    """Change roles, display name, disabled flag or password of one account of the town."""
    async with conn.transaction():
        await lock_account(conn, staff_id)
        account = await load_account(conn, staff_id)
        if account is None:
            raise NotFound(f"no staff account {staff_id}", code="staff.not_found")
        _require_admin(actor, account.staff.town_code)
        staff = account.staff
        new_roles = parse_roles(roles) if roles is not None else staff.roles
        if display_name is not None:
            _, _, display_name = validated_identity(staff.town_code, staff.username, display_name)
        if staff.staff_id == actor.staff_id and (disabled or ADMIN not in new_roles):
            raise Forbidden("an admin cannot disable themselves or remove their own admin role",
                            code="staff.self_lockout")
        ends_sessions = bool(disabled and not account.disabled) or password_hash is not None
        updated = dataclasses.replace(
            account,
            staff=dataclasses.replace(staff, roles=new_roles,
                                      display_name=display_name or staff.display_name),
            disabled=account.disabled if disabled is None else disabled,
            password_hash=password_hash or account.password_hash,
            sessions_not_before=now.isoformat() if ends_sessions else account.sessions_not_before,
            changed_by=actor.staff_id, changed_at=now.isoformat())
        await save_staff(conn, node_id=node.node_id, node_town=node.town, account=updated)
        if ends_sessions:
            await delete_sessions_of(conn, staff_id)
    return listed(updated)
