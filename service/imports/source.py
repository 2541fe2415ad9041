"""Reading the bytes of a CSV file: chunks, encoding detection, decoded lines, row estimate.

Pure apart from reading the given file.
"""

from __future__ import annotations

import codecs
import os
from typing import Any, BinaryIO, Iterable, Iterator

CHUNK = 1 << 20
Source = bytes | os.PathLike | BinaryIO


def iter_chunks(source: Source) -> Iterator[bytes]:
    """The raw bytes of ``source`` (bytes, a path or a binary file) in chunks of CHUNK."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        for start in range(0, len(data), CHUNK):
            yield data[start:start + CHUNK]
    elif isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as handle:
            yield from iter(lambda: handle.read(CHUNK), b"")
    else:
        yield from iter(lambda: source.read(CHUNK), b"")


def prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    """Put the already-read first chunk back in front of the rest."""
    if first:
        yield first
    yield from rest


# Names a town's export may give for Shift_JIS. Registry exports said to be Shift_JIS are
# CP932 in practice (①, 髙, NEC/IBM extensions), so all of them read as CP932. Python
# knows some of these names (sjis, ms932) but not others (windows-31j, x-sjis).
CP932_NAMES = frozenset({"cp932", "ms932", "mskanji", "ms_kanji", "windows31j", "shiftjis", "sjis",
                         "xsjis", "csshiftjis", "cswindows31j", "s_jis"})
ENCODINGS = ("utf-8", "cp932")  # what an import accepts, after aliases


def canonical_encoding(name: str) -> str:
    """"utf-8" or "cp932" for any accepted spelling (case, "-" and "_" ignored); else ValueError."""
    key = name.strip().lower().replace("-", "").replace("_", "")
    if key in {n.replace("_", "") for n in CP932_NAMES}:
        return "cp932"
    if key in {"utf8", "utf8sig"}:
        return "utf-8"
    raise ValueError(f"unsupported encoding {name!r}: use UTF-8 or CP932 (Shift_JIS)")


def choose_encoding(first: bytes, requested: str | None) -> str:
    """Return the codec: BOM means UTF-8; else the requested one, else UTF-8 if it decodes."""
    if first.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if requested:
        return canonical_encoding(requested)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(first, final=False)
    except UnicodeDecodeError:
        return "cp932"
    return "utf-8"


def decoded_lines(chunks: Iterable[bytes], encoding: str, hasher: Any) -> Iterator[str]:
    """Decode ``chunks`` incrementally into lines ending in "\\n", feeding ``hasher`` the raw bytes."""
    # Split on "\n" only (keeping it) so csv sees quoted newlines; str.splitlines would
    # also split on U+2028 and friends and cut records apart.
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    tail = ""
    for chunk in chunks:
        hasher.update(chunk)
        parts = (tail + decoder.decode(chunk)).split("\n")
        tail = parts.pop()
        for part in parts:
            yield part + "\n"
    tail += decoder.decode(b"", final=True)
    if tail:
        yield tail


def estimate_rows(source: Source, first: bytes) -> int | None:
    """Data rows, from the line count: exact unless cells hold newlines (then an upper bound)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)) and os.path.getsize(source) <= len(first):
        data = first
    elif isinstance(source, (str, os.PathLike)):
        return sum(chunk.count(b"\n") for chunk in iter_chunks(source)) - 1
    else:
        return None
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1) - 1
