"""A text progress bar for the CSV import CLI."""

from __future__ import annotations

import sys
import time
from typing import Any


class ProgressBar:
    """A text progress bar for the CLI, written to stderr; call it as a progress callback."""

    def __init__(self, label: str = "", out: Any = None, width: int = 30, interval: float = 0.1) -> None:
        self.label, self.out, self.width, self.interval = label, out or sys.stderr, width, interval
        self._last = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        final = total is not None and done >= total
        if not final and now - self._last < self.interval:
            return
        self._last = now
        if total:
            filled = self.width * done // total
            bar = "#" * filled + "." * (self.width - filled)
            text = f"\r{self.label} [{bar}] {100 * done // total:3d}% {done:,}/{total:,} rows"
        else:
            text = f"\r{self.label} {done:,} rows"
        self.out.write(text + ("\n" if final else ""))
        self.out.flush()
