"""Staff account administration over HTTP (issue 15): parse, call service.staff.admin, reply.

    GET  /api/v1/staff                       the admin's town's accounts
    POST /api/v1/staff                       {username, display_name?, roles, password}
    POST /api/v1/staff/{staff_id}            {roles?, display_name?, disabled?}
    POST /api/v1/staff/{staff_id}/password   {password}: reset (ends the account's sessions)
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from service.api.common import Fields, json_object, now, reply, repository
from service.api.context import acting_staff
from service.staff import admin
from service.staff.accounts import MAX_PASSWORD, ROLES, hash_password
from service.web.appkeys import SETTINGS
from service.web.auth import require_role


def _node(request: web.Request) -> admin.NodeIdentity:
    node = request.app[SETTINGS].node
    return admin.NodeIdentity(node.id, node.town_code)


def _roles(f: Fields, *, required: bool) -> list[str] | None:
    value = f.body.get("roles")
    if value is None:
        if required:
            f.add("roles", "is required", "invalid.required")
        return None
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        f.add("roles", f"must be a list of roles ({', '.join(sorted(ROLES))})", "invalid.type")
        return None
    return value


def _password(f: Fields) -> str | None:
    value = f.body.get("password")
    if not isinstance(value, str):
        f.add("password", "is required text", "invalid.required")
        return None
    return value[:MAX_PASSWORD + 1]  # the length rule itself is hash_password's


async def _hashed(password: str) -> str:
    """Argon2id off the event loop (tens of milliseconds and 64 MiB per hash)."""
    return await asyncio.get_running_loop().run_in_executor(None, hash_password, password)


@require_role("admin")
async def list_staff(request: web.Request) -> web.Response:
    """GET /api/v1/staff."""
    actor = acting_staff(request)
    async with repository(request) as repo:
        accounts = await admin.list_accounts(repo.conn, actor)
    return reply({"town_code": actor.town_code, "staff": accounts})


@require_role("admin")
async def create_staff(request: web.Request) -> web.Response:
    """POST /api/v1/staff."""
    actor = acting_staff(request)
    f = Fields(await json_object(request), {"username", "display_name", "roles", "password"})
    username = f.text("username", max_len=64)
    display_name = f.text("display_name", required=False, max_len=100)
    roles, password = _roles(f, required=True), _password(f)
    f.check()
    password_hash = await _hashed(password)
    async with repository(request) as repo:
        account = await admin.add_account(repo.conn, _node(request), actor, username=username,
                                          display_name=display_name or username, roles=roles,
                                          password_hash=password_hash, now=now())
    return reply({"staff": account}, status=201)


@require_role("admin")
async def change_staff(request: web.Request) -> web.Response:
    """POST /api/v1/staff/{staff_id}: roles, display name, disabled."""
    actor = acting_staff(request)
    f = Fields(await json_object(request), {"roles", "display_name", "disabled"})
    roles = _roles(f, required=False)
    display_name = f.text("display_name", required=False, max_len=100)
    disabled = f.body.get("disabled")
    if disabled is not None and not isinstance(disabled, bool):
        f.add("disabled", "must be true or false", "invalid.type")
    if not f.problems and roles is None and display_name is None and disabled is None:
        f.add("body", "nothing to change: give roles, display_name or disabled", "invalid.required")
    f.check()
    async with repository(request) as repo:
        account = await admin.change_account(repo.conn, _node(request), actor, request.match_info["staff_id"],
                                             now=now(), roles=roles, display_name=display_name,
                                             disabled=disabled)
    return reply({"staff": account})


@require_role("admin")
async def reset_password(request: web.Request) -> web.Response:
    """POST /api/v1/staff/{staff_id}/password: a new password; the account's sessions end."""
    actor = acting_staff(request)
    f = Fields(await json_object(request), {"password"})
    password = _password(f)
    f.check()
    password_hash = await _hashed(password)
    async with repository(request) as repo:
        account = await admin.change_account(repo.conn, _node(request), actor, request.match_info["staff_id"],
                                             now=now(), password_hash=password_hash)
    return reply({"staff": account})
