"""住家の被害の程度 (damage class of a dwelling), derived from a survey, never typed by hand.

Thresholds are those of the Cabinet Office damage-assessment guideline (DESIGN.md §3).
Inputs are Decimals so that the boundaries are exact: 50.0 % is 全壊, 49.99 % is 大規模半壊.
"""

from __future__ import annotations

import enum
from decimal import Decimal, InvalidOperation

from .errors import InvalidInput


class DamageClass(enum.Enum):
    """A damage class. The value is the stable code used in storage, events and the QR."""

    ZENKAI = "zenkai"
    DAIKIBO_HANKAI = "daikibo-hankai"
    CHUKIBO_HANKAI = "chukibo-hankai"
    HANKAI = "hankai"
    JUN_HANKAI = "jun-hankai"
    ICHIBU_SONKAI = "ichibu-sonkai"

    @property
    def code(self) -> str:
        """Stable code string (same as the value)."""
        return self.value

    @property
    def label_ja(self) -> str:
        """Japanese label as printed on the unified form."""
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        """English label shown beside the Japanese one."""
        return _LABELS[self][1]

    @classmethod
    def from_code(cls, code: str) -> DamageClass:
        """Parse a stable code string; raise InvalidInput for an unknown one."""
        try:
            return cls(code)
        except ValueError:
            raise InvalidInput("damage.code", f"unknown damage class code {code!r}", "damage_class") from None

    @classmethod
    def from_ratio(cls, ratio: Decimal | int | str) -> DamageClass:
        """Class from the 損害割合 (damage ratio, percent, 0 to 100 inclusive)."""
        value = _to_decimal(ratio, "damage_ratio")
        if value < 0 or value > 100:
            raise InvalidInput("damage.ratio_range", f"damage ratio must be 0..100 %, got {value}", "damage_ratio")
        for threshold, klass in _RATIO_THRESHOLDS:
            if value >= threshold:
                return klass
        return cls.ICHIBU_SONKAI

    @classmethod
    def from_flood_depth(cls, metres: Decimal | int | str) -> DamageClass:
        """Class from the flood shortcut: water depth above floor level, in metres.

        Applies to river flooding with external force; under 0.5 m the shortcut still
        yields 半壊 (the guideline's floor-level-inundation rule), never a lower class.
        """
        value = _to_decimal(metres, "flood_depth")
        if value < 0:
            raise InvalidInput("damage.depth_range", f"flood depth must not be negative, got {value}", "flood_depth")
        for threshold, klass in _DEPTH_THRESHOLDS:
            if value >= threshold:
                return klass
        return cls.HANKAI


_LABELS = {
    DamageClass.ZENKAI: ("全壊", "Total collapse"),
    DamageClass.DAIKIBO_HANKAI: ("大規模半壊", "Large-scale half collapse"),
    DamageClass.CHUKIBO_HANKAI: ("中規模半壊", "Medium-scale half collapse"),
    DamageClass.HANKAI: ("半壊", "Half collapse"),
    DamageClass.JUN_HANKAI: ("準半壊", "Near half collapse"),
    DamageClass.ICHIBU_SONKAI: ("準半壊に至らない（一部損壊）", "Less than near half collapse (partial damage)"),
}

# Ordered from the highest class down; the first threshold the value reaches wins.
_RATIO_THRESHOLDS = (
    (Decimal(50), DamageClass.ZENKAI),
    (Decimal(40), DamageClass.DAIKIBO_HANKAI),
    (Decimal(30), DamageClass.CHUKIBO_HANKAI),
    (Decimal(20), DamageClass.HANKAI),
    (Decimal(10), DamageClass.JUN_HANKAI),
)

_DEPTH_THRESHOLDS = (
    (Decimal("1.8"), DamageClass.ZENKAI),
    (Decimal("1"), DamageClass.DAIKIBO_HANKAI),
    (Decimal("0.5"), DamageClass.CHUKIBO_HANKAI),
)


def _to_decimal(value: Decimal | int | str, field: str) -> Decimal:
    # Floats are refused: 49.99 as a float is not 49.99, and a boundary must not move.
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise InvalidInput("damage.type", f"{field} must be a Decimal, int or str, got {type(value).__name__}", field)
    try:
        result = Decimal(value)
    except (InvalidOperation, ValueError):
        raise InvalidInput("damage.type", f"{field} is not a number: {value!r}", field) from None
    if not result.is_finite():
        raise InvalidInput("damage.type", f"{field} must be finite, got {value!r}", field)
    return result
