"""全国地方公共団体コード (local government code): 5 digits plus a check digit.

The check digit follows the rule published with the code list (総務省): weight the five
digits 6, 5, 4, 3, 2, sum them, take the remainder modulo 11, and subtract it from 11;
the last digit of that is the check digit (so remainders 0 and 1 give 1 and 0).
"""

from __future__ import annotations

from .errors import InvalidInput

_WEIGHTS = (6, 5, 4, 3, 2)


def check_digit(five: str) -> int:
    """Return the check digit for a 5-digit code body such as ``"43443"``."""
    if len(five) != 5 or not five.isascii() or not five.isdigit():
        raise InvalidInput("town_code.format", f"code body must be 5 ASCII digits: {five!r}", "town_code")
    total = sum(w * int(d) for w, d in zip(_WEIGHTS, five))
    return (11 - total % 11) % 10


def validate_town_code(code: str, field: str = "town_code") -> str:
    """Return ``code`` unchanged if it is a valid 6-digit code, else raise InvalidInput.

    The error code says which rule failed: ``town_code.format`` or ``town_code.check_digit``.
    """
    if not isinstance(code, str) or len(code) != 6 or not code.isascii() or not code.isdigit():
        raise InvalidInput("town_code.format", f"town code must be 6 ASCII digits: {code!r}", field)
    expected = check_digit(code[:5])
    if int(code[5]) != expected:
        raise InvalidInput(
            "town_code.check_digit",
            f"town code {code} has check digit {code[5]}, expected {expected}",
            field,
        )
    return code
