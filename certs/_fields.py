"""Small validators shared by the claims formats (untrusted CBOR → typed values).

Each raises ValueError on a mismatch; claims.decode_claims turns that into one
VerificationError, so malformed input never escapes as anything else.
"""

from __future__ import annotations

from datetime import date
from typing import Any

EPOCH = date(1970, 1, 1)


def days(value: date) -> int:
    """Days since 1970-01-01 (RFC 8943's tag 100, untagged)."""
    return (value - EPOCH).days


def as_date(value: Any) -> date:
    """Inverse of days(), bounded."""
    expect(type(value) is int and 0 <= value < 200_000, "date")
    return date.fromordinal(EPOCH.toordinal() + value)


def lookup(table: dict, value: Any) -> Any:
    """The key of ``table`` whose value is the integer ``value``."""
    expect(type(value) is int, "enum")
    return next(k for k, v in table.items() if v == value)


def expect(condition: bool, what: str) -> None:
    """Raise ValueError("bad <what>") unless ``condition``."""
    if not condition:
        raise ValueError(f"bad {what}")


def text(value: Any) -> str:
    """A CBOR text string."""
    expect(type(value) is str, "string")
    return value


def array(value: Any, length: int | None) -> list:
    """A CBOR array, of ``length`` elements unless None."""
    expect(type(value) in (list, tuple) and (length is None or len(value) == length), "array")
    return value


def texts(value: Any, length: int) -> list[str]:
    """An array of ``length`` text strings."""
    return [text(v) for v in array(value, length)]


def pack_text(value: str) -> str | bytes:
    """Text in its shorter form: a CBOR text string (UTF-8), or UTF-16BE in a byte string.

    Kanji and kana take 3 bytes in UTF-8 and 2 in UTF-16, and zlib cannot win that back on
    a payload this short (its Huffman tables cost more than they save), so Japanese text
    goes as UTF-16BE. Ties go to UTF-8, so each text has exactly one encoding.
    """
    utf8, utf16 = value.encode("utf-8"), value.encode("utf-16-be")
    return value if len(utf8) <= len(utf16) else utf16


def unpack_text(value: Any) -> str:
    """Inverse of pack_text; ValueError for anything pack_text would not have written."""
    if type(value) is str:
        return value
    expect(type(value) is bytes and len(value) % 2 == 0, "packed text")
    result = value.decode("utf-16-be")  # strict: a lone surrogate raises UnicodeDecodeError
    expect(len(result.encode("utf-8")) > len(value), "packed text (UTF-8 would be as short)")
    return result
