"""Codes that a person reads out or types: tracking codes (追跡コード) and kiosk
application codes. One rule for both: case, spaces and dashes do not matter.

Pure: randomness comes from ``secrets`` only in :func:`new_code`.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata

ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U: read out at a counter
LENGTH = 12  # about 59 bits: enough to be the only credential of a tracking look-up


def code_key(code: str) -> str:
    """The code as compared: upper case, letters and digits only ("ab-cd ef" → "ABCDEF");
    full-width input (ＡＢ１２, from a Japanese IME) counts as the same characters."""
    folded = unicodedata.normalize("NFKC", code).upper()
    return "".join(c for c in folded if c.isascii() and c.isalnum())


def display_code(code: str) -> str:
    """The code as printed: its key in groups of four ("ABCDEFGHJKMN" → "ABCD-EFGH-JKMN")."""
    key = code_key(code)
    return "-".join(key[i:i + 4] for i in range(0, len(key), 4))


def new_code() -> str:
    """A fresh code, as printed: ABCD-EFGH-JKMN."""
    return display_code("".join(secrets.choice(ALPHABET) for _ in range(LENGTH)))


def tracking_lookup_key(code: str) -> str:
    """What an application stores (``tracking_key``) so that the code alone finds it."""
    return hashlib.sha256(f"tracking\x00{code_key(code)}".encode()).hexdigest()
