"""一括印刷 throughput: pages per second of a batch PDF against one-at-a-time rendering.

    python -m bench.bench_batch_print [PAGES] [ROUNDS]       (default 120 pages, 3 rounds)

Three measurements in the same run, on the same signed certificates (ES256, every optional
box filled, so each page carries the largest QR):

- one at a time (the baseline): what GET /certificates/{n}/pdf does per certificate: check
  the printed boxes against the QR (decode_certificate) and render a one-page PDF;
- batch: the same check per page, all pages on one certs.pdf.CertificateBook;
- job: service.counter.batch_print.BatchPrints over an in-memory store (the per-page gate
  of a single print: status, copy, audit, then the check and the book), rendering in a
  thread as the node does.

Prints pages/s for each and the ratios to the baseline. The figures go in docs/performance.md.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from certs.boxes import PrintedBoxes  # noqa: E402
from certs.ceremony import build_federation_pki  # noqa: E402
from certs.encoding import decode_certificate, encode_certificate  # noqa: E402
from certs.federation import load_federation  # noqa: E402
from certs.model import Certificate  # noqa: E402
from certs.node_keys import load_node_signer  # noqa: E402
from certs.numbers import CertificateNumber  # noqa: E402
from certs.pdf import CertificateBook, render_certificate_pdf  # noqa: E402
from service.counter.access import Actor  # noqa: E402
from service.counter.batch_print import BatchPrints  # noqa: E402
from service.staff.accounts import Staff  # noqa: E402
from tests.support.fake_store import FakeCounterStore  # noqa: E402
from tests.unit.certs_fixtures import worst_case_certificate  # noqa: E402

NOW = dt.datetime(2024, 1, 10, 9, 0, tzinfo=dt.timezone.utc)
ROOT = Path(__file__).resolve().parents[1]


def signed(pages: int, folder: Path) -> list[tuple[Certificate, str, dict]]:
    """``pages`` distinct certificates issued by wajima-1 for 益城町: (content, QR, printed boxes)."""
    build_federation_pki(load_federation(ROOT / "deploy" / "federation.toml"), folder, NOW - dt.timedelta(days=1))
    signer = load_node_signer(folder / "nodes" / "wajima-1", "434434", NOW)
    out = []
    for n in range(1, pages + 1):
        cert = dataclasses.replace(worst_case_certificate(), number=CertificateNumber("434434", "wajima-1", n))
        out.append((cert, encode_certificate(cert, signer, NOW), PrintedBoxes.of(cert).to_record()))
    return out


def checked(qr: str, boxes: dict) -> Certificate:
    """What a print shows: the QR's content with the stored boxes, checked against its digest."""
    return decode_certificate(qr, PrintedBoxes.from_record(boxes)).certificate


def one_at_a_time(items) -> float:
    start = time.perf_counter()
    for _, qr, boxes in items:
        render_certificate_pdf(checked(qr, boxes), qr)
    return len(items) / (time.perf_counter() - start)


def batch(items) -> float:
    start = time.perf_counter()
    book = CertificateBook("bench")
    for _, qr, boxes in items:
        book.add(checked(qr, boxes), qr)
    book.finish()
    return len(items) / (time.perf_counter() - start)


async def job(items) -> float:
    store = FakeCounterStore("wajima-1")
    for cert, qr, boxes in items:
        store.entities[("certificate", str(cert.number))] = {
            "number": str(cert.number), "competent_town": "434434", "qr": qr, "printed_boxes": boxes}
    staff = Staff("bench", "434434", "bench", "bench", frozenset({"clerk"}))
    actor = Actor(staff, lambda: "bench")

    async def render(work):
        return await asyncio.get_running_loop().run_in_executor(None, work)

    prints = BatchPrints(lambda: _store(store), render, lambda: NOW)
    start = time.perf_counter()
    running = prints.start(actor, tuple(str(c.number) for c, _, _ in items))
    while running.status not in ("done", "failed"):
        await asyncio.sleep(0.01)
    rate = len(items) / (time.perf_counter() - start)
    assert running.status == "done" and running.pages == len(items), running.view()
    await prints.stop()
    return rate


class _store:
    """An async context manager over the one in-memory store (the node opens a pooled one)."""

    def __init__(self, store: FakeCounterStore) -> None:
        self.store = store

    async def __aenter__(self) -> FakeCounterStore:
        return self.store

    async def __aexit__(self, *exc) -> None:
        return None


def main() -> None:
    pages = int(sys.argv[1]) if len(sys.argv) > 1 else 120
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with tempfile.TemporaryDirectory() as folder:
        items = signed(pages, Path(folder))
    one_at_a_time(items[:5]), batch(items[:5])  # warm up: fonts registered, caches filled
    # Interleaved rounds, median of each: the shared machine's load moves between them.
    runs: dict[str, list[float]] = {"single": [], "batch": [], "job": []}
    for _ in range(rounds):
        runs["single"].append(one_at_a_time(items))
        runs["batch"].append(batch(items))
        runs["job"].append(asyncio.run(job(items)))
    single, booked, jobbed = (statistics.median(runs[k]) for k in ("single", "batch", "job"))
    print(f"pages: {pages} x {rounds} interleaved rounds, medians (ES256, every optional box filled)")
    print(f"one at a time (baseline): {single:7.1f} pages/s")
    print(f"batch (one book):         {booked:7.1f} pages/s   x{booked / single:.2f} of the baseline")
    print(f"job (gate + book, thread): {jobbed:6.1f} pages/s   x{jobbed / single:.2f} of the baseline")


if __name__ == "__main__":
    main()
