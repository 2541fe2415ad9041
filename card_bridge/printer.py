"""Where the bridge prints: a CUPS queue (``lp``), or a folder (tests and demos).

The kiosk page never keeps the PDF it prints: it hands the bytes to the bridge, which
prints them and forgets them (the folder printer keeps files: only for tests and demos).
"""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path
from typing import Protocol


class Printer(Protocol):
    def print_pdf(self, pdf: bytes) -> str:
        """Print the PDF; returns a job id."""


class FolderPrinter:
    """Writes each job to ``<folder>/<job>.pdf``."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def print_pdf(self, pdf: bytes) -> str:
        job = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        (self.folder / f"{job}.pdf").write_bytes(pdf)
        return job


class LpPrinter:
    """Sends the PDF to a CUPS queue with ``lp -d <queue>`` (standard input, no file kept)."""

    def __init__(self, queue: str) -> None:
        self.queue = queue

    def print_pdf(self, pdf: bytes) -> str:
        done = subprocess.run(["lp", "-d", self.queue, "-t", "risai", "-"], input=pdf, capture_output=True,
                              timeout=30, check=False)
        if done.returncode != 0:
            raise OSError(done.stderr.decode(errors="replace").strip() or f"lp exited {done.returncode}")
        return done.stdout.decode(errors="replace").strip()


def open_printer(spec: str | None) -> Printer | None:
    """``dir:<folder>``, ``lp:<queue>``, or None (no printer)."""
    if not spec:
        return None
    kind, _, rest = spec.partition(":")
    if kind == "dir" and rest:
        return FolderPrinter(Path(rest))
    if kind == "lp" and rest:
        return LpPrinter(rest)
    raise ValueError(f"--printer must be dir:<folder> or lp:<queue>, not {spec!r}")
