"""A file of every fault in place, so any fault can be undone by a later process.

Each fault writes its ledger entry before it acts and removes it after it is undone. If a
drill dies (SIGKILL, a crash, a power cut), ``risai-chaos cleanup`` reads what is left and
undoes it. The file is rewritten atomically so a crash never leaves half an entry.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any


class Ledger:
    """Entries are dicts with at least "id" and "kind"; the rest is what undo needs."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_run_dir(cls, run_dir: Path) -> Ledger:
        return cls(Path(run_dir) / "chaos" / "ledger.json")

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return json.loads(self.path.read_text() or "[]")

    def add(self, kind: str, **data: Any) -> str:
        entry_id = uuid.uuid4().hex[:8]
        self._write(self.entries() + [{"id": entry_id, "kind": kind, **data}])
        return entry_id

    def remove(self, entry_id: str) -> None:
        self._write([e for e in self.entries() if e["id"] != entry_id])

    def _write(self, entries: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(entries, indent=2))
        os.replace(tmp, self.path)
