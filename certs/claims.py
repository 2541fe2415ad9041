"""Certificate ↔ CBOR claims (the COSE_Sign1 payload).

The payload is a CWT-style claims map (RFC 8392) with small integer keys and small
integer enums, because every byte counts towards the QR version (Japanese text costs 3
bytes a character in UTF-8):

    {1: iss = competent town code, 6: iat = signing time (epoch seconds, UTC),
     -65537: {certificate content, keys below}}

Content keys: 0 schema version (1), 1 type (1 罹災証明書, 2 被災証明), 2 整理番号,
3 世帯主住所 (omitted when equal to the dwelling's address, the common case),
4 世帯主氏名, 5 disaster name, 6 disaster date, 7 被災住家の所在地, 8 damage class
(1 全壊 … 6 一部損壊; absent for 被災証明), 9 世帯構成員 [[name, relation], ...],
10 flooding (1 床上, 2 床下), 11 other damage, 12 competent town [name, mayor],
13 issuing [town code, town name] or [town code, town name, place], 14 issue date,
15 supersedes 整理番号. Dates are days since 1970-01-01 (as RFC 8943 tag 100, untagged).
The issuing node and the competent town code are read from the 整理番号. Optional keys
are omitted when empty. -65537 is in the CWT private-use range (below -65536).
docs/certs.md repeats this table for other implementers.
"""

from __future__ import annotations

import io
from datetime import date, datetime, timezone
from typing import Any

import cbor2

from .damage import DamageClass
from .errors import CertsError, VerificationError
from .model import Certificate, CertificateType, Disaster, Flooding, HouseholdMember, IssuingPlace, Town
from .numbers import CertificateNumber

SCHEMA_VERSION = 1
CLAIM_ISS, CLAIM_IAT, CLAIM_CERT = 1, 6, -65537
_TYPES = {CertificateType.RISAI: 1, CertificateType.HISAI: 2}
_CLASSES = {c: i for i, c in enumerate(DamageClass, start=1)}
_FLOODING = {Flooding.ABOVE_FLOOR: 1, Flooding.BELOW_FLOOR: 2}
_EPOCH = date(1970, 1, 1)
_REQUIRED = {0, 1, 2, 4, 5, 6, 7, 12, 13, 14}


def certificate_to_claims(cert: Certificate, signed_at: datetime) -> bytes:
    """Deterministic CBOR encoding of the claims for ``cert`` signed at ``signed_at``."""
    if signed_at.tzinfo is None:
        raise VerificationError("claims.naive_time", "signed_at must be timezone-aware", "signed_at")
    issuing = [cert.issuing.town_code, cert.issuing.town_name] + ([cert.issuing.place] if cert.issuing.place else [])
    body: dict[int, Any] = {
        0: SCHEMA_VERSION,
        1: _TYPES[cert.cert_type],
        2: str(cert.number),
        4: cert.householder_name,
        5: cert.disaster.name,
        6: _days(cert.disaster.date),
        7: cert.dwelling_address,
        12: [cert.competent_town.name, cert.competent_town.mayor],
        13: issuing,
        14: _days(cert.issue_date),
    }
    optional = {
        3: cert.householder_address if cert.householder_address != cert.dwelling_address else None,
        8: _CLASSES[cert.damage_class] if cert.damage_class else None,
        9: [[m.name, m.relation] for m in cert.members] or None,
        10: _FLOODING[cert.flooding] if cert.flooding else None,
        11: cert.other_damage,
        15: str(cert.supersedes) if cert.supersedes else None,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    claims = {CLAIM_ISS: cert.competent_town.code, CLAIM_IAT: int(signed_at.timestamp()), CLAIM_CERT: body}
    # canonical=True sorts map keys, so the same certificate always gives the same bytes
    # (needed for the byte-exact Ed25519 test vector).
    return cbor2.dumps(claims, canonical=True)


def claims_to_certificate(payload: bytes) -> tuple[Certificate, datetime]:
    """Parse and validate claims; raise VerificationError for anything malformed."""
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


def _parse(claims: Any) -> tuple[Certificate, datetime]:
    _expect(isinstance(claims, dict) and set(claims) == {CLAIM_ISS, CLAIM_IAT, CLAIM_CERT}, "claims map keys")
    body, iat = claims[CLAIM_CERT], claims[CLAIM_IAT]
    _expect(type(iat) is int and 0 <= iat < 2**40, "iat")
    _expect(isinstance(body, dict) and body.get(0) == SCHEMA_VERSION, "schema version")
    _expect(set(body) <= set(range(16)) and _REQUIRED <= set(body), "content keys")
    number = CertificateNumber.parse(_str(body[2]))
    town, issuing = _strs(body[12], 2), _strs(body[13], len(_list(body[13], None)))
    _expect(len(issuing) in (2, 3), "issuing")
    cert = Certificate(
        number=number,
        cert_type=_lookup(_TYPES, body[1]),
        householder_address=_str(body[3]) if 3 in body else _str(body[7]),
        householder_name=_str(body[4]),
        disaster=Disaster(_str(body[5]), _date(body[6])),
        dwelling_address=_str(body[7]),
        damage_class=_lookup(_CLASSES, body[8]) if 8 in body else None,
        competent_town=Town(number.town_code, *town),
        issuing=IssuingPlace(number.node_id, *issuing),
        issue_date=_date(body[14]),
        members=tuple(HouseholdMember(*_strs(m, 2)) for m in _list(body.get(9, []), None)),
        flooding=_lookup(_FLOODING, body[10]) if 10 in body else None,
        other_damage=_str(body[11]) if 11 in body else None,
        supersedes=CertificateNumber.parse(_str(body[15])) if 15 in body else None,
    )
    _expect(claims[CLAIM_ISS] == number.town_code, "iss equals competent town")
    _expect(3 not in body or body[3] != body[7], "householder address omitted when equal")
    return cert, datetime.fromtimestamp(iat, timezone.utc)


def _days(value: date) -> int:
    return (value - _EPOCH).days


def _date(value: Any) -> date:
    _expect(type(value) is int and 0 <= value < 200_000, "date")
    return date.fromordinal(_EPOCH.toordinal() + value)


def _lookup(table: dict, value: Any) -> Any:
    _expect(type(value) is int, "enum")
    return next(k for k, v in table.items() if v == value)


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise ValueError(f"bad {what}")


def _str(value: Any) -> str:
    _expect(type(value) is str, "string")
    return value


def _list(value: Any, length: int | None) -> list:
    _expect(type(value) in (list, tuple) and (length is None or len(value) == length), "array")
    return value


def _strs(value: Any, length: int) -> list[str]:
    return [_str(v) for v in _list(value, length)]
