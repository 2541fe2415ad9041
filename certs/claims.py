"""Certificate ↔ CBOR claims (the COSE_Sign1 payload).

The payload is a CWT-style claims map (RFC 8392) with small integer keys and small
integer enums, because every byte counts towards the QR version (Japanese text costs 3
bytes a character in UTF-8):

    {1: iss = competent town code, 6: iat = signing time (epoch seconds, UTC),
     -65537: {certificate content, keys below}}

Content keys, format 2 (key 0 = 2; format 1 is in claims_v1.py and still decodes):
1 type (1 罹災証明書, 2 被災証明), 2 整理番号 as [node id, sequence] (the town is iss),
3 世帯主住所: text, absent when equal to key 7, or null when it is left to the printed
boxes (only if the QR would otherwise exceed version 15), 4 世帯主氏名, 5 disaster name,
6 disaster date, 7 被災住家の所在地, 8 damage class (1 全壊 … 6 一部損壊; absent for
被災証明), 10 flooding (1 床上, 2 床下), 12 competent town [name, mayor], 13 issuing
[town code, town name], 14 issue date, 15 supersedes [node id, sequence] (same competent
town), 16 printed-boxes digest (16 bytes; see boxes.py) when the QR leaves any text out:
世帯構成員, other damage, the 交付場所 detail, and a householder address sent as null.
Text fields (3, 4, 5, 7, 12, the name in 13) are CBOR text (UTF-8) or, when shorter,
UTF-16BE in a byte string (_fields.pack_text): Japanese text is 2 bytes a character
instead of 3. Dates are days since 1970-01-01. Optional keys are omitted when empty. -65537 is in the
CWT private-use range. docs/certs.md repeats this table for other implementers.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import cbor2

from . import _fields as f
from . import claims_v1
from .boxes import DIGEST_BYTES, PRINTED_ONLY, PrintedBoxes, boxes_digest
from .damage import DamageClass
from .errors import CertsError, VerificationError
from .model import Certificate, CertificateType, Disaster, Flooding, IssuingPlace, Town
from .numbers import CertificateNumber

SCHEMA_VERSION = 2
SCHEMA_VERSIONS = (1, 2)
CLAIM_ISS, CLAIM_IAT, CLAIM_CERT = 1, 6, -65537
_TYPES = {CertificateType.RISAI: 1, CertificateType.HISAI: 2}
_CLASSES = {c: i for i, c in enumerate(DamageClass, start=1)}
_FLOODING = {Flooding.ABOVE_FLOOR: 1, Flooding.BELOW_FLOOR: 2}
_REQUIRED = {0, 1, 2, 4, 5, 6, 7, 12, 13, 14}
_ALLOWED = _REQUIRED | {3, 8, 10, 15, 16}


@dataclass(frozen=True)
class Claims:
    """Decoded claims: the certificate as far as the QR carries it, and how it was laid out.

    When ``boxes_digest`` is set, ``certificate`` lacks the printed boxes (no members,
    other damage or place; householder address PRINTED_ONLY if not ``householder_in_qr``);
    PrintedBoxes.apply and verify(printed_boxes=...) put them back after checking them.
    """

    certificate: Certificate
    signed_at: datetime
    version: int
    boxes_digest: bytes | None = None
    householder_in_qr: bool = True


def certificate_to_claims(
    cert: Certificate, signed_at: datetime, *, householder_in_qr: bool = True, version: int = SCHEMA_VERSION,
) -> bytes:
    """Deterministic CBOR encoding of the claims for ``cert`` signed at ``signed_at``.

    ``householder_in_qr=False`` leaves a differing householder address to the printed
    boxes (encoding.sign_certificate decides that by size). ``version=1`` writes the old
    format (only to check printed text against old QRs, and for old test vectors).
    """
    if signed_at.tzinfo is None:
        raise VerificationError("claims.naive_time", "signed_at must be timezone-aware", "signed_at")
    if version == 1:
        body = claims_v1.encode_body(cert, _TYPES, _CLASSES, _FLOODING)
    else:
        body = _encode_v2(cert, householder_in_qr)
    claims = {CLAIM_ISS: cert.competent_town.code, CLAIM_IAT: int(signed_at.timestamp()), CLAIM_CERT: body}
    # canonical=True sorts map keys, so the same certificate always gives the same bytes
    # (needed for the byte-exact Ed25519 test vector and for checking printed boxes).
    return cbor2.dumps(claims, canonical=True)


def _encode_v2(cert: Certificate, householder_in_qr: bool) -> dict[int, Any]:
    same_address = cert.householder_address == cert.dwelling_address
    pack = f.pack_text
    body: dict[int, Any] = {
        0: SCHEMA_VERSION, 1: _TYPES[cert.cert_type], 2: [cert.number.node_id, cert.number.sequence],
        4: pack(cert.householder_name), 5: pack(cert.disaster.name), 6: f.days(cert.disaster.date),
        7: pack(cert.dwelling_address), 12: [pack(cert.competent_town.name), pack(cert.competent_town.mayor)],
        13: [cert.issuing.town_code, pack(cert.issuing.town_name)], 14: f.days(cert.issue_date),
    }
    if not same_address:
        body[3] = pack(cert.householder_address) if householder_in_qr else None
    if cert.damage_class:
        body[8] = _CLASSES[cert.damage_class]
    if cert.flooding:
        body[10] = _FLOODING[cert.flooding]
    if cert.supersedes:
        body[15] = [cert.supersedes.node_id, cert.supersedes.sequence]
    digest = boxes_digest(cert, householder_in_qr)
    if digest is not None:
        body[16] = digest
    return body


def decode_claims(payload: bytes) -> Claims:
    """Parse and validate claims of either format; raise VerificationError for anything malformed."""
    try:
        stream = io.BytesIO(payload)
        claims = cbor2.CBORDecoder(stream).decode()
        if stream.tell() != len(payload):
            raise ValueError("trailing bytes after the claims")
    except Exception as exc:  # untrusted bytes: cbor2 raises several types (incl. RecursionError)
        raise VerificationError("claims.cbor", f"claims are not valid CBOR: {type(exc).__name__}", "payload") from None
    try:
        return _parse(claims)
    except CertsError as exc:
        raise VerificationError("claims.invalid", f"claims rejected: {exc.message}", exc.field) from None
    except (TypeError, ValueError, IndexError, KeyError, AttributeError, OverflowError, StopIteration) as exc:
        raise VerificationError("claims.structure", f"claims have the wrong structure: {exc}", "payload") from None


def claims_to_certificate(payload: bytes) -> tuple[Certificate, datetime]:
    """The certificate (as far as the QR carries it) and signing time; see decode_claims."""
    decoded = decode_claims(payload)
    return decoded.certificate, decoded.signed_at


def _parse(claims: Any) -> Claims:
    f.expect(isinstance(claims, dict) and set(claims) == {CLAIM_ISS, CLAIM_IAT, CLAIM_CERT}, "claims map keys")
    body, iat, iss = claims[CLAIM_CERT], claims[CLAIM_IAT], claims[CLAIM_ISS]
    f.expect(type(iat) is int and 0 <= iat < 2**40, "iat")
    f.expect(isinstance(body, dict) and body.get(0) in SCHEMA_VERSIONS and type(body[0]) is int, "schema version")
    signed_at = datetime.fromtimestamp(iat, timezone.utc)
    if body[0] == 1:
        return Claims(claims_v1.parse_body(iss, body, _TYPES, _CLASSES, _FLOODING), signed_at, 1)
    return _parse_v2(iss, body, signed_at)


def _parse_v2(iss: Any, body: dict, signed_at: datetime) -> Claims:
    f.expect(set(body) <= _ALLOWED and _REQUIRED <= set(body), "content keys")
    number = _number(iss, body[2])
    digest = body.get(16)
    f.expect(digest is None or (type(digest) is bytes and len(digest) == DIGEST_BYTES), "printed-boxes digest")
    householder = body.get(3, body[7])
    householder_in_qr = householder is not None
    f.expect(householder_in_qr or digest is not None, "householder address left out without a digest")
    f.expect(3 not in body or body[3] != body[7], "householder address omitted when equal")
    text = f.unpack_text
    town, (issuing_code, issuing_name) = f.array(body[12], 2), f.array(body[13], 2)
    cert = Certificate(
        number=number,
        cert_type=f.lookup(_TYPES, body[1]),
        householder_address=text(householder) if householder_in_qr else PRINTED_ONLY,
        householder_name=text(body[4]),
        disaster=Disaster(text(body[5]), f.as_date(body[6])),
        dwelling_address=text(body[7]),
        damage_class=f.lookup(_CLASSES, body[8]) if 8 in body else None,
        competent_town=Town(number.town_code, text(town[0]), text(town[1])),
        issuing=IssuingPlace(number.node_id, f.text(issuing_code), text(issuing_name)),
        issue_date=f.as_date(body[14]),
        flooding=f.lookup(_FLOODING, body[10]) if 10 in body else None,
        supersedes=_number(iss, body[15]) if 15 in body else None,
    )
    return Claims(cert, signed_at, 2, digest, householder_in_qr)


def _number(iss: Any, value: Any) -> CertificateNumber:
    node_id, sequence = f.array(value, 2)
    f.expect(type(iss) is str and type(node_id) is str and type(sequence) is int, "certificate number")
    return CertificateNumber(iss, node_id, sequence)


def with_printed_boxes(decoded: Claims, payload: bytes, boxes: PrintedBoxes) -> Certificate | None:
    """The full certificate if ``boxes`` is the printed text signed in ``payload``, else None.

    The check re-encodes the decoded certificate with the printed text filled in, in the
    same format and layout, and compares it with the signed bytes: any difference in a box
    (or in a field the QR also carries, such as the householder address) shows.
    """
    try:
        candidate = boxes.apply(decoded.certificate)
        encoded = certificate_to_claims(candidate, decoded.signed_at, householder_in_qr=decoded.householder_in_qr,
                                        version=decoded.version)
    except CertsError:  # printed text that no certificate could hold (blank, too long, ...)
        return None
    return candidate if encoded == payload else None
