"""QR transport: COSE_Sign1 → zlib → base45 → context prefix, as in the EU DCC.

``JPRC1:`` ("JP Risai Certificate, version 1") plays the role of the EU's ``HC1:``: it
tells scanners what the string is and lets a future version change the layout. Every
character (prefix included) is in the QR alphanumeric set, so the QR uses the dense
alphanumeric mode (5.5 bits per character).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from datetime import datetime

import base45
import segno

from .boxes import PrintedBoxes
from .claims import certificate_to_claims, decode_claims, with_printed_boxes
from .cose import MAX_COSE_BYTES, Sign1, parse_sign1, sign1
from .errors import VerificationError
from .keys import Signer
from .model import Certificate

PREFIX = "JPRC1:"
QR_ERROR_LEVEL = "m"  # minimum: survives ~15 % damage (stains, folds on a printed form)
MAX_QR_VERSION = 15
# Characters a version-15 QR holds at level M in alphanumeric mode (ISO/IEC 18004 table 7).
MAX_QR_CHARS = 600
_ZLIB_HEADER = b"\x78\xda"  # what zlib.compress(level=9) writes; pinned so it is not malleable
_BASE45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_BASE45_CHARS = frozenset(_BASE45_ALPHABET)
# bytes.translate table: character → its base45 value, anything else → 255.
_BASE45_VALUES = bytes(_BASE45_ALPHABET.index(chr(b)) if chr(b) in _BASE45_CHARS else 255 for b in range(256))


@dataclass(frozen=True)
class DecodedCertificate:
    """A certificate read from a QR string or COSE bytes (signature not yet verified)."""

    sign1: Sign1
    certificate: Certificate
    signed_at: datetime
    version: int = 2
    boxes_digest: bytes | None = None  # set when the QR binds printed boxes it does not carry
    boxes_checked: bool = False  # True when printed_boxes were given and matched


def sign_certificate(cert: Certificate, signer: Signer, signed_at: datetime) -> bytes:
    """COSE_Sign1 bytes for ``cert`` signed by ``signer`` at ``signed_at``.

    The householder address stays in the QR unless the QR would then exceed version 15;
    only then is it left to the printed boxes (bound by their digest). The first attempt
    fits for almost every certificate, so issuing signs once.
    """
    cose = sign1(certificate_to_claims(cert, signed_at), signer)
    if cert.householder_address == cert.dwelling_address or qr_string_length(cose) <= MAX_QR_CHARS:
        return cose
    return sign1(certificate_to_claims(cert, signed_at, householder_in_qr=False), signer)


def qr_string_length(cose: bytes) -> int:
    """Length of the QR string for ``cose`` (base45 turns 2 bytes into 3 characters)."""
    compressed = len(zlib.compress(cose, 9))
    return len(PREFIX) + compressed // 2 * 3 + compressed % 2 * 2


def encode_certificate(cert: Certificate, signer: Signer, signed_at: datetime) -> str:
    """Issue: sign ``cert`` and return the QR string (``JPRC1:...``)."""
    return cose_to_qr_string(sign_certificate(cert, signer, signed_at))


def cose_to_qr_string(cose: bytes) -> str:
    """Compress, base45-encode and prefix COSE bytes."""
    return PREFIX + base45.b45encode(zlib.compress(cose, 9)).decode("ascii")


def qr_string_to_cose(text: str) -> bytes:
    """Undo cose_to_qr_string; raise VerificationError for any malformed string."""
    if not isinstance(text, str) or not text.startswith(PREFIX):
        raise VerificationError("qr.prefix", f"QR string must start with {PREFIX}", "qr")
    body = text[len(PREFIX):]
    if not body or not _BASE45_CHARS.issuperset(body) or len(body) > MAX_COSE_BYTES * 2:
        raise VerificationError("qr.base45", "QR string has characters outside base45", "qr")
    try:
        compressed = b45decode(body)
    except ValueError:
        raise VerificationError("qr.base45", "QR string is not valid base45", "qr") from None
    return _decompress(compressed)


def b45decode(text: str) -> bytes:
    """RFC 9285 base45 decoding; ValueError for anything that is not canonical base45.

    About 3x faster than the base45 package's per-character loop, which was a quarter of
    verify() time: characters are mapped with one bytes.translate, each group of three is
    combined in a comprehension, and the 16-bit words are packed in one struct call.
    """
    values = text.encode("ascii").translate(_BASE45_VALUES)
    if 255 in values:
        raise ValueError("character outside the base45 alphabet")
    full = len(values) - len(values) % 3
    words = [c + 45 * d + 2025 * e for c, d, e in zip(values[0:full:3], values[1:full:3], values[2:full:3])]
    if words and max(words) > 0xFFFF:
        raise ValueError("base45 group out of range")
    out = struct.pack(f">{len(words)}H", *words)
    rest = values[full:]
    if len(rest) == 1:
        raise ValueError("dangling base45 character")
    if rest:
        last = rest[0] + 45 * rest[1]
        if last > 0xFF:
            raise ValueError("base45 final pair out of range")
        out += bytes([last])
    return out


def decode_certificate(data: str | bytes, printed_boxes: PrintedBoxes | None = None) -> DecodedCertificate:
    """Parse a QR string or raw COSE bytes into its parts, without checking the signature.

    Without ``printed_boxes`` the certificate holds what the QR carries (format 2 leaves
    out the printed boxes). With them (e.g. ``PrintedBoxes.of(...)`` stored in the
    certificate record), they are checked against the signed digest and filled in; a
    mismatch raises VerificationError ``boxes.mismatch``.
    """
    cose = qr_string_to_cose(data) if isinstance(data, str) else data
    message = parse_sign1(cose)
    claims = decode_claims(message.payload)
    certificate, checked = claims.certificate, False
    if printed_boxes is not None:
        certificate = with_printed_boxes(claims, message.payload, printed_boxes)
        if certificate is None:
            raise VerificationError("boxes.mismatch", "printed boxes do not match the signed digest", "printed_boxes")
        checked = True
    return DecodedCertificate(message, certificate, claims.signed_at, claims.version, claims.boxes_digest, checked)


def make_qr(qr_string: str) -> segno.QRCode:
    """QR symbol for a QR string: level M or better, alphanumeric mode.

    boost_error lets segno raise the level above M when it fits in the same version.
    """
    return segno.make_qr(qr_string, error=QR_ERROR_LEVEL, boost_error=True)


def _decompress(compressed: bytes) -> bytes:
    if not compressed.startswith(_ZLIB_HEADER):
        raise VerificationError("qr.zlib", "payload is not zlib data with the expected header", "qr")
    inflater = zlib.decompressobj()
    try:
        # max_length bounds memory: a tiny QR must not inflate to gigabytes.
        cose = inflater.decompress(compressed, MAX_COSE_BYTES + 1)
    except zlib.error:
        raise VerificationError("qr.zlib", "payload is not valid zlib data", "qr") from None
    if not inflater.eof or inflater.unused_data or inflater.unconsumed_tail or len(cose) > MAX_COSE_BYTES:
        raise VerificationError("qr.zlib", "zlib data is truncated, oversized or has trailing bytes", "qr")
    if _has_padding_bits(compressed, cose):
        raise VerificationError("qr.zlib", "zlib data has non-zero padding bits", "qr")
    return cose


def _has_padding_bits(compressed: bytes, expected: bytes) -> bool:
    # zlib always writes zeros into the unused high bits of the last deflate byte (just
    # before the 4-byte Adler-32). If clearing some of the set high bits still inflates to
    # the same bytes, they were padding, and a changed QR character could hide there.
    last = len(compressed) - 5
    for k in range(1, 8):
        mask = 0xFF >> k
        if compressed[last] & ~mask & 0xFF == 0:
            continue
        candidate = compressed[:last] + bytes([compressed[last] & mask]) + compressed[last + 1:]
        try:
            if zlib.decompress(candidate) == expected:
                return True
        except zlib.error:
            pass
    return False
