"""``python -m service.staff.cli add``: create a staff account on a node's database.

    python -m service.staff.cli add --dsn DSN --town 434434 --username sato --roles clerk,supervisor

The password is read from stdin (or prompted for twice on a terminal). The account is written
through the outbox as the admin screen writes it, so it replicates.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Any

from service.errors import InvalidRequest
from service.staff.accounts import ROLES, Staff, create_staff, hash_password
from service.storage.db import connect, node_identity


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if first != getpass.getpass("again: "):
            raise SystemExit("passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


async def _node_identity(conn: Any, node_id: str | None) -> tuple[str, str]:
    identity = await node_identity(conn)
    if identity is None:
        raise SystemExit("this database is not claimed by a node yet: start the node once")
    if node_id and node_id != identity[0]:
        raise SystemExit(f"this database belongs to node {identity[0]}, not {node_id}")
    return identity


async def _add(args: argparse.Namespace, password: str) -> Staff:
    password_hash = hash_password(password)
    conn = await connect(args.dsn)
    try:
        node_id, node_town = await _node_identity(conn, args.node_id)
        async with conn.transaction():
            return await create_staff(
                conn, node_id=node_id, node_town=node_town, town_code=args.town,
                username=args.username, display_name=args.display_name or args.username,
                roles=args.roles, password_hash=password_hash)
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    """``python -m service.staff.cli add ...``: create a staff account on a node's database."""
    parser = argparse.ArgumentParser(prog="python -m service.staff.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="create a staff account (password from stdin or prompt)")
    add.add_argument("--dsn", required=True)
    add.add_argument("--town", required=True, help="the staff's town code (6 digits)")
    add.add_argument("--username", required=True)
    add.add_argument("--display-name")
    add.add_argument("--roles", required=True, help="comma-separated: " + ",".join(sorted(ROLES)))
    add.add_argument("--node-id", help="refuse unless the database belongs to this node")
    args = parser.parse_args(argv)
    try:
        staff = asyncio.run(_add(args, _read_password()))
    except InvalidRequest as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a CLI reports, it does not trace
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 1
    print(f"created {staff.username} ({staff.staff_id}) in {staff.town_code}: "
          f"{','.join(sorted(staff.roles))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
