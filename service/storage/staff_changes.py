"""Hear of changed staff accounts (migration 0321's NOTIFY on ``staff_changed``).

One dedicated connection outside the request pool LISTENs; each notification names the staff
id whose cached sessions are dropped. When the connection is lost or reopened, ``on_change``
is called with None (drop everything: changes may have been missed); while it is down, the
session cache's TTL alone bounds how long a disabled account keeps working.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

import asyncpg

log = logging.getLogger("service.storage.staff_changes")
CHANNEL = "staff_changed"
RECONNECT_S = 1.0


async def listen_for_staff_changes(dsn: str, on_change: Callable[[str | None], None]) -> None:
    """Keep one LISTEN connection open for as long as the node runs (until cancelled)."""
    while True:
        conn = None
        try:
            conn = await asyncpg.connect(dsn, server_settings={"application_name": "risai-node-staff-listener"})
            lost = asyncio.get_running_loop().create_future()
            conn.add_termination_listener(lambda _c: lost.done() or lost.set_result(None))
            await conn.add_listener(CHANNEL, lambda _c, _pid, _ch, staff_id: on_change(staff_id))
            on_change(None)  # changes missed while not listening
            await lost
        except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as exc:
            log.warning("staff change listener down", extra={"error": type(exc).__name__})
        finally:
            on_change(None)
            if conn is not None:
                conn.terminate()
        await asyncio.sleep(RECONNECT_S)
