"""整理番号 (certificate number), unique across the federation without coordination.

Format: ``<town code>-<node id>-<sequence>``, e.g. ``434434-wajima-1-000042``.

- the competent town code is always 6 digits, so it ends at a fixed position;
- the per-node sequence is the last hyphen-separated part, all digits, zero-padded to at
  least 6 digits (more digits once it passes 999999), with no extra leading zeros;
- everything between is the issuing node id: lowercase ``[a-z0-9-]``, not starting or
  ending with a hyphen and without ``--``.

Because the town code has a fixed width and the sequence is the last part, the split is
unambiguous even though node ids contain hyphens. Two nodes never share an id and each node
never reuses a sequence number, so numbers never collide. Only the canonical spelling
parses, so a number has exactly one string form (equal strings ⇔ equal numbers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidInput
from .town_code import validate_town_code

_NODE_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SEQUENCE = re.compile(r"(?:0\d{5}|[1-9]\d{5,})")
SEQUENCE_WIDTH = 6
MAX_NODE_ID_LENGTH = 63


def validate_node_id(node_id: str, field: str = "node_id") -> str:
    """Return ``node_id`` if it is a valid node id, else raise InvalidInput."""
    if not isinstance(node_id, str) or len(node_id) > MAX_NODE_ID_LENGTH or not _NODE_ID.fullmatch(node_id):
        raise InvalidInput(
            "number.node_id",
            f"node id must be lowercase [a-z0-9-], 1..{MAX_NODE_ID_LENGTH} chars, no leading, "
            f"trailing or double hyphen: {node_id!r}",
            field,
        )
    return node_id


@dataclass(frozen=True, order=True)
class CertificateNumber:
    """整理番号: competent town, issuing node and that node's sequence number."""

    town_code: str
    node_id: str
    sequence: int

    def __post_init__(self) -> None:
        validate_town_code(self.town_code, "number")
        validate_node_id(self.node_id, "number")
        if isinstance(self.sequence, bool) or not isinstance(self.sequence, int) or self.sequence < 1:
            raise InvalidInput("number.sequence", f"sequence must be an int >= 1, got {self.sequence!r}", "number")

    def __str__(self) -> str:
        return f"{self.town_code}-{self.node_id}-{self.sequence:0{SEQUENCE_WIDTH}d}"

    @classmethod
    def parse(cls, text: str) -> CertificateNumber:
        """Parse the canonical string form; raise InvalidInput naming the broken part."""
        if not isinstance(text, str) or len(text) < 6 + 1 + 1 + 1 + SEQUENCE_WIDTH or text[6] != "-":
            raise InvalidInput("number.format", f"not a certificate number: {text!r}", "number")
        middle, _, sequence = text[7:].rpartition("-")
        return cls(text[:6], middle, parse_sequence(sequence, text))


def parse_sequence(part: str, text: str | None = None) -> int:
    """The sequence part of a 整理番号 (canonical spelling only) as an int; InvalidInput otherwise."""
    if not isinstance(part, str) or not _SEQUENCE.fullmatch(part):
        raise InvalidInput("number.sequence", f"bad sequence part in {text or part!r}", "number")
    return int(part)
