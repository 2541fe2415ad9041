"""Fault injectors. Each kind has an inject function, which writes a ledger entry before it
acts, and each ledger entry kind has an undo function. Healing a fault and cleaning up after
a crashed drill take the same path (``undo``), so every drill exercises the cleanup code."""

from __future__ import annotations

import logging

from chaos.faults import backup, clock, disk, latency, network, process
from chaos.faults.ledger import Ledger

log = logging.getLogger("chaos.faults")

INJECT = {**process.INJECT, **network.INJECT, **latency.INJECT, **clock.INJECT, **disk.INJECT,
          **backup.INJECT}
UNDO = {**process.UNDO, **network.UNDO, **latency.UNDO, **clock.UNDO, **disk.UNDO, **backup.UNDO}


def inject(fed, ledger: Ledger, kind: str, target: str, params: dict) -> str:
    """Put a fault in place; returns its ledger entry id."""
    if kind not in INJECT:
        raise ValueError(f"unknown fault kind {kind!r} (known: {', '.join(sorted(INJECT))})")
    return INJECT[kind](fed, ledger, target, params)


def heal(fed, ledger: Ledger, entry_id: str) -> None:
    """Undo one fault by its ledger entry; the entry goes once the undo succeeded."""
    for entry in ledger.entries():
        if entry["id"] == entry_id:
            UNDO[entry["kind"]](fed, entry)
            ledger.remove(entry_id)


def heal_all(fed, ledger: Ledger) -> list[str]:
    """Undo every fault left in the ledger, newest first; returns what failed to undo."""
    failures = []
    for entry in reversed(ledger.entries()):
        try:
            heal(fed, ledger, entry["id"])
        except Exception as exc:  # noqa: BLE001 - keep undoing the others, report this one
            log.exception("could not undo %s", entry)
            failures.append(f"{entry['kind']} {entry}: {exc}")
    return failures
