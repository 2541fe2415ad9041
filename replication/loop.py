"""The start/stop/retry loop shared by the outbox relay and the replication consumer.

Each runs one background task that repeats a step forever. A transient error drops the
step's client (the step's own ``except``) and retries it with tenacity: jittered
exponential backoff, every retry logged and counted. The backoff depends on what failed:

* Kafka errors back off up to ``max_backoff`` (``KAFKA_MAX_BACKOFF``, 5 s, by default): a
  retry is one connection attempt, cheap for brokers that are down for days, and once they
  are back a node must not sleep for long (with a 30 s cap the broker-lost drill converged
  in 82-107 s after the brokers returned, over its 90 s bound in two runs of three).
* Database errors back off at most ``DATABASE_MAX_BACKOFF`` (1 s): the node's own
  PostgreSQL is local, reconnecting is cheap, and while the relay sleeps every reply
  waits the whole acknowledgement timeout and says "pending" (issue 17: after a database
  restart the relay stayed idle for up to 30 s).
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Awaitable, Callable, TypeVar

import asyncpg
from aiokafka.errors import KafkaError
from prometheus_client import Counter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type

T = TypeVar("T")
DATABASE_MAX_BACKOFF = 1.0
KAFKA_MAX_BACKOFF = 5.0
BACKOFF_MULTIPLIER = 0.2

# Errors of the node's own PostgreSQL (down, restarting, refusing connections). OSError is
# here too: with Kafka, aiokafka wraps connection failures in KafkaConnectionError.
# OperatorInterventionError covers "the database system is shutting down / starting up";
# InternalClientError is asyncpg's state error on a connection that died mid-operation
# ("cannot switch to state 12"): it ended the relay for good after a SIGKILL (issue 17).
# A full disk (the disk-full drill) gives three more: InsufficientResourcesError (53xxx: disk
# full, out of memory, too many connections), PostgresSystemError (58xxx: I/O error) and
# InternalServerError (XX000), which a new connection's start-up raised as "could not write
# init file": with those missing, the relay and the consumer stopped for good and the node
# never caught up after space returned.
DATABASE_ERRORS = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                   asyncpg.OperatorInterventionError, asyncpg.InternalClientError,
                   asyncpg.InsufficientResourcesError, asyncpg.PostgresSystemError,
                   asyncpg.InternalServerError)
# Lock contention is transient too: a consumer batch whose rows a handler keeps locked
# (store.EntityStoreBusy) or a deadlock PostgreSQL broke must be retried, not end the task.
TRANSIENT = (KafkaError, asyncio.TimeoutError, asyncpg.LockNotAvailableError,
             asyncpg.DeadlockDetectedError) + DATABASE_ERRORS


class SpuriousCancel(KafkaError):
    """A CancelledError raised by a client library although nobody cancelled our task."""


def backoff_cap(exc: BaseException | None, attempt: int, max_backoff: float) -> float:
    """The longest sleep before retry number ``attempt + 1`` after ``exc`` (pure)."""
    # TimeoutError is an OSError too, but here it means a Kafka call ran out of time
    # (acks, producer start-up, position): back off as for Kafka.
    database = isinstance(exc, DATABASE_ERRORS) and not isinstance(exc, TimeoutError)
    cap = DATABASE_MAX_BACKOFF if database else max_backoff
    return min(cap, BACKOFF_MULTIPLIER * 2 ** min(attempt, 30))


async def isolated(step: Callable[[], Awaitable[T]]) -> T:
    """Run one step in its own task and turn a spurious CancelledError into a retry.

    aiokafka's internal timeouts (async_timeout) cancel the *current* task; with every
    broker down we saw that cancellation leak out of getmany()/end_offsets() as a bare
    CancelledError, and leave the task's cancel count raised, which then turns later
    timeouts into cancellations too. A fresh task per step confines that state. If our
    own task was not cancelled, the CancelledError came from the library: retry it.
    """
    try:
        return await asyncio.create_task(step())
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # a real stop(): propagate
        raise SpuriousCancel("client library raised CancelledError; restarting the client") from None


def log_crash(task: asyncio.Task) -> None:
    """Done-callback: a background loop that dies of a non-transient error says so loudly."""
    if not task.cancelled() and task.exception() is not None:
        logging.getLogger(__name__).error("%s stopped: %r", task.get_name(), task.exception(),
                                          exc_info=task.exception())


class RetryLoop:
    """One named background task, and the retry policy for its steps."""

    def __init__(self, name: str, *, retries: Counter, log: logging.Logger,
                 max_backoff: float = KAFKA_MAX_BACKOFF) -> None:
        self.name, self.retries, self.log, self.max_backoff = name, retries, log, max_backoff
        self._task: asyncio.Task | None = None
        self.planned_sleeps: list[float] = []  # the last few retry sleeps, for tests and logs

    def start(self, body: Callable[[], Awaitable[None]]) -> None:
        """Run ``body`` as the background task (returns at once)."""
        self._task = asyncio.create_task(body(), name=self.name)
        self._task.add_done_callback(log_crash)

    async def stop(self) -> None:
        """Cancel the task and wait for it to end."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def retry(self, step: Callable[[], Awaitable[T]]) -> T:
        """Run ``step`` until it succeeds, retrying transient errors (see module docstring).

        A fresh AsyncRetrying per call, so the backoff restarts small after a success.
        """
        retrying = AsyncRetrying(retry=retry_if_exception_type(TRANSIENT), wait=self._wait,
                                 before_sleep=self._log_retry, reraise=True)
        return await retrying(isolated, step)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return random.uniform(0, backoff_cap(exc, state.attempt_number, self.max_backoff))

    def _log_retry(self, state: RetryCallState) -> None:
        self.retries.inc()
        exc = state.outcome.exception() if state.outcome else None
        sleep = state.next_action.sleep if state.next_action else 0.0
        self.planned_sleeps = (self.planned_sleeps + [sleep])[-50:]
        self.log.warning("%s: attempt %d failed (%s: %s); retrying in %.2fs", self.name,
                         state.attempt_number, type(exc).__name__, exc, sleep)
