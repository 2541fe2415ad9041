"""Keep an import from burying the counter's events under its own in the relay's queue.

The relay publishes the outbox strictly in id order (= HLC order: per-entity order, and the
consumers' freshness, rely on it), so an event written after 140,000 import events waits
for all of them: at ~1,900 events/s every issuance reply would say "pending" for over a
minute. Rather than reorder the outbox, the importer waits before each chunk until the
relay has drained the backlog below ``limit`` rows; a counter event then queues behind at
most ``limit`` rows plus one chunk.

When nothing drains (local-only mode, Kafka down, no relay), waiting would only stall the
import: if the depth has not fallen for ``stall_s``, the gate stays open for ``reopen_s``
and then looks again. The import never waits for Kafka to come back.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from service.storage.imports import outbox_backlog


class RelayGate:
    """Await :meth:`wait` before applying a chunk."""

    def __init__(self, *, limit: int = 2000, poll_s: float = 0.1, stall_s: float = 2.0,
                 reopen_s: float = 30.0) -> None:
        self.limit, self.poll_s, self.stall_s, self.reopen_s = limit, poll_s, stall_s, reopen_s
        self._open_until = 0.0
        self.waited_s = 0.0  # total time spent waiting for the relay (reported by the bench)

    @classmethod
    def never(cls) -> "RelayGate":
        """A gate that never waits: for a node that runs no relay."""
        gate = cls()
        gate._open_until = float("inf")
        return gate

    async def wait(self, conn: Any) -> None:
        """Return once the outbox backlog is under ``limit``, or the relay is found stalled."""
        if time.monotonic() < self._open_until:
            return
        started = last_progress = time.monotonic()
        head, depth = await outbox_backlog(conn)
        while depth > self.limit:
            if time.monotonic() - last_progress > self.stall_s:
                self._open_until = time.monotonic() + self.reopen_s  # nothing drains: go on
                break
            await asyncio.sleep(self.poll_s)
            moved, depth = await outbox_backlog(conn)
            if moved != head:
                head, last_progress = moved, time.monotonic()
        self.waited_s += time.monotonic() - started

