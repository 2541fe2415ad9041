"""Evict cached staff sessions when an account changes (migration 0321's NOTIFY).

One dedicated connection outside the request pool LISTENs on ``staff_changed``; each
notification names the staff id whose sessions are dropped from the SessionCache. When
the connection is lost or reopened the whole cache is dropped (changes may have been
missed); while it is down, the cache TTL alone bounds how long a disabled account keeps
working.
"""

from __future__ import annotations

import asyncio
import logging
from typing import AsyncIterator

import asyncpg
from aiohttp import web

from service.staff.sessions import SESSIONS, SessionCache
from service.web.appkeys import SETTINGS

log = logging.getLogger("service.staff.changes")
CHANNEL = "staff_changed"
RECONNECT_S = 1.0


async def _listen(dsn: str, cache: SessionCache) -> None:
    """Keep one LISTEN connection open for as long as the node runs."""
    while True:
        conn = None
        try:
            conn = await asyncpg.connect(dsn, server_settings={"application_name": "risai-node-staff-listener"})
            lost = asyncio.get_running_loop().create_future()
            conn.add_termination_listener(lambda _c: lost.done() or lost.set_result(None))
            await conn.add_listener(CHANNEL, lambda _c, _pid, _ch, staff_id: cache.forget_staff(staff_id))
            cache.forget_staff()  # changes missed while not listening
            await lost
        except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as exc:
            log.warning("staff change listener down", extra={"error": type(exc).__name__})
        finally:
            cache.forget_staff()
            if conn is not None:
                conn.terminate()
        await asyncio.sleep(RECONNECT_S)


async def staff_changes_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the listener task, stopped with the app."""
    task = asyncio.create_task(_listen(app[SETTINGS].database.dsn, app[SESSIONS]),
                               name="staff-change-listener")
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
