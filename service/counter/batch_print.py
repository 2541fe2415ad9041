"""一括印刷 (batch printing): a selection of certificates as one PDF, made by a background job.

A clerk picks, for example, every certificate this node issued today for 郵送交付; the
selection is resolved (and another town's data needs the stated reason) before the job
starts, so a bad request is a structured error, never a job that fails later. The job then
takes each certificate through the same gate as a single print (service.counter
.certificates.printable: current only, audited) and the same check of the printed boxes
against the QR's digest (printed_content); a certificate that fails either is left out and
listed with its reason. Pages go onto one certs.pdf.CertificateBook.

Connections: the job opens one pooled connection per chunk of certificates and gives it
back before rendering (CPU work, off the event loop in ``render``), so a long batch never
holds a connection while it waits. One batch renders at a time per node (the others wait,
"queued"): the counter's own requests keep the CPU they need.

Jobs live in memory with their PDF in a temporary file: a node restart forgets them (the
clerk starts the batch again; nothing is lost, only re-rendered).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import os
import tempfile
import uuid
from typing import Any, AsyncContextManager, Awaitable, Callable, Protocol

from certs.errors import CertsError
from certs.pdf import CertificateBook
from service.counter import certificates
from service.counter.access import Actor, RecordStore, needs_reason
from service.errors import Conflict, InvalidRequest, NotFound, Unavailable

MAX_CERTIFICATES = 2000  # one batch; a bigger day is printed in several
CHUNK = 25  # certificates read per connection, then rendered with the connection given back
KEEP_JOBS = 20  # finished jobs (and their files) kept per node
LOAD_ATTEMPTS = 8  # a chunk's connection, tried this often while the pool is busy
log = logging.getLogger(__name__)


class BatchStore(RecordStore, Protocol):
    """The record store plus the selection query of a batch."""

    async def certificates_issued(self, issuing_node: str, issue_date: dt.date, *, limit: int) -> list[dict]:
        """{number, competent_town, delivery} of the certificates ``issuing_node`` issued that
        day (JST), by number; delivery is the application's (None before it was recorded)."""


@dataclasses.dataclass(frozen=True)
class Selection:
    """Which certificates: issued on a day at this node (optionally only 郵送交付 or 窓口交付),
    or an explicit list of numbers."""

    issued_on: dt.date | None = None
    delivery: str | None = None
    numbers: tuple[str, ...] = ()


@dataclasses.dataclass
class BatchJob:
    """One batch's progress, as the API shows it."""

    job_id: str
    staff_id: str
    numbers: tuple[str, ...]
    status: str = "queued"  # queued | rendering | done | failed
    done: int = 0
    pages: int = 0
    skipped: list[dict[str, str]] = dataclasses.field(default_factory=list)
    path: str | None = None
    error: str | None = None
    created_at: str = ""
    finished_at: str | None = None

    def view(self) -> dict[str, Any]:
        """JSON form: status, counts, and what was left out and why."""
        total = len(self.numbers)
        return {"job_id": self.job_id, "status": self.status, "total": total, "done": self.done,
                "pages": self.pages, "progress": round(self.done / total, 3) if total else 1.0,
                "skipped": self.skipped, "error": self.error, "created_at": self.created_at,
                "finished_at": self.finished_at}


async def select(store: BatchStore, actor: Actor, selection: Selection) -> tuple[str, ...]:
    """The numbers to print, checked before any job starts: something must be selected, and
    another town's certificates need the reason (asked now, audited page by page)."""
    if selection.numbers:
        found = [await certificates.load_certificate(store, n) for n in dict.fromkeys(selection.numbers)]
        rows = [{"number": c.number, "competent_town": c.competent_town} for c in found]
    elif selection.issued_on is not None:
        rows = await store.certificates_issued(store.node_id, selection.issued_on, limit=MAX_CERTIFICATES + 1)
        if selection.delivery is not None:
            rows = [r for r in rows if (r.get("delivery") or "counter") == selection.delivery]
    else:
        raise InvalidRequest.about("issued_on", "give issued_on (and delivery) or numbers", "batch.selection")
    if not rows:
        raise InvalidRequest.about("issued_on" if not selection.numbers else "numbers",
                                   "no certificate matches the selection (該当する証明書がありません)", "batch.empty")
    if len(rows) > MAX_CERTIFICATES:
        raise InvalidRequest.about("issued_on", f"at most {MAX_CERTIFICATES} certificates in one batch",
                                   "batch.too_many")
    needs_reason(actor, {r["competent_town"] for r in rows})
    return tuple(r["number"] for r in rows)


Render = Callable[[Callable[[], Any]], Awaitable[Any]]  # run a function off the event loop


class BatchPrints:
    """The node's batch jobs: start, read, the PDF; one renders at a time."""

    def __init__(self, open_store: Callable[[], AsyncContextManager[RecordStore]], render: Render,
                 clock: Callable[[], dt.datetime], folder: str | None = None,
                 seal_for: Callable[[str], bytes | None] = lambda _town: None) -> None:
        self._open, self._render, self._clock = open_store, render, clock
        self._seal_for = seal_for  # the competent town's seal image, as a single print has it
        self._folder = folder or tempfile.mkdtemp(prefix="risai-batch-")
        self._jobs: dict[str, BatchJob] = {}
        self._tasks: set[asyncio.Task] = set()
        self._turn = asyncio.Lock()

    def start(self, actor: Actor, numbers: tuple[str, ...]) -> BatchJob:
        """Queue a batch of already selected numbers; returns its job at once."""
        job = BatchJob(f"B-{uuid.uuid4().hex[:12]}", actor.staff.staff_id, numbers,
                       created_at=self._clock().isoformat())
        self._jobs[job.job_id] = job
        task = asyncio.create_task(self._run(job, actor))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._forget_old()
        return job

    def get(self, job_id: str, staff: Any) -> BatchJob:
        """The job, for the staff member who started it or a supervisor (404 for anyone else)."""
        job = self._jobs.get(job_id)
        if job is None or (job.staff_id != staff.staff_id and not staff.has_any(("supervisor",))):
            raise NotFound(f"no batch print {job_id}", code="batch.not_found")
        return job

    def pdf_path(self, job_id: str, staff: Any) -> str:
        """The finished PDF's file, or 409 batch.not_ready while it is being made."""
        job = self.get(job_id, staff)
        if job.status != "done" or job.path is None:
            raise Conflict(f"batch print {job_id} is {job.status}", code="batch.not_ready")
        return job.path

    async def _run(self, job: BatchJob, actor: Actor) -> None:
        try:
            async with self._turn:
                job.status = "rendering"
                book = CertificateBook(f"一括印刷 {job.job_id}")
                for start in range(0, len(job.numbers), CHUNK):
                    pages = await self._load_with_retry(job, actor, job.numbers[start:start + CHUNK])
                    await self._render(lambda: [book.add(content, qr, seal=self._seal_for(content.competent_town.code))
                                                for content, qr in pages])
                    job.pages += len(pages)
                    job.done = min(start + CHUNK, len(job.numbers))
                data = await self._render(book.finish)
                job.path = os.path.join(self._folder, f"{job.job_id}.pdf")
                await self._render(lambda: _write(job.path, data))
                job.status = "done"
        except Exception as exc:  # the job reports it; the node keeps serving
            job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
            log.exception("batch print %s failed", job.job_id)
        finally:
            job.finished_at = self._clock().isoformat()

    async def _load_with_retry(self, job: BatchJob, actor: Actor, numbers: tuple[str, ...]) -> list[tuple[Any, str]]:
        """A busy pool (503 node.busy for a request) makes the job wait its turn, bounded."""
        for attempt in range(1, LOAD_ATTEMPTS + 1):
            try:
                return await self._load(job, actor, numbers)
            except Unavailable:
                if attempt == LOAD_ATTEMPTS:
                    raise
                log.warning("batch print %s: pool busy, retry %d", job.job_id, attempt)
                await asyncio.sleep(0.2 * attempt)
        raise AssertionError("unreachable")

    async def _load(self, job: BatchJob, actor: Actor, numbers: tuple[str, ...]) -> list[tuple[Any, str]]:
        """(content, qr) of each printable certificate of a chunk, on one connection."""
        pages = []
        async with self._open() as store:
            for number in numbers:
                try:
                    cert, _, _ = await certificates.printable(store, actor, number, copy_no=0, archive=False,
                                                              at=self._clock())
                    pages.append((certificates.printed_content(cert), cert.qr))
                except (Conflict, NotFound) as exc:  # withdrawn since selected, or gone
                    job.skipped.append({"number": number, "code": exc.code, "reason": exc.message})
                except CertsError as exc:  # printed boxes not matching the QR: never printed
                    job.skipped.append({"number": number, "code": exc.code, "reason": exc.message})
        return pages

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.status in ("done", "failed")]
        for job in finished[:max(0, len(finished) - KEEP_JOBS)]:
            self._remove(job)

    def _remove(self, job: BatchJob) -> None:
        self._jobs.pop(job.job_id, None)
        if job.path:
            with contextlib.suppress(FileNotFoundError):
                os.remove(job.path)

    async def stop(self) -> None:
        """Cancel running jobs and delete every file (app shutdown)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for job in list(self._jobs.values()):
            self._remove(job)
        with contextlib.suppress(OSError):
            os.rmdir(self._folder)


def _write(path: str, data: bytes) -> None:
    with open(path, "wb") as out:
        out.write(data)
