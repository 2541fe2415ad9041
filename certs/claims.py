"""Certificate ↔ CBOR claims (the COSE_Sign1 payload).

The payload is a CWT-style claims map (RFC 8392) with small integer keys, because every
byte counts towards the QR version:

    {1: iss = competent town code, 6: iat = signing time (epoch seconds, UTC),
     -65537: {certificate content, keys below}}

Content keys: 0 schema version (1), 1 type ("risai"/"hisai"), 2 整理番号, 3 世帯主住所,
4 世帯主氏名, 5 罹災原因 [disaster name, "YYYY-MM-DD"], 6 被災住家の所在地,
7 damage class code (absent for 被災証明), 8 世帯構成員 [[name, relation], ...],
9 flooding code, 10 other damage, 11 competent town [code, name, mayor],
12 issuing [node id, town code, town name, place or null], 13 issue date "YYYY-MM-DD",
14 supersedes 整理番号. Optional keys are omitted when empty. -65537 is in the CWT
private-use range (below -65536). docs/certs.md repeats this table for other implementers.
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


def certificate_to_claims(cert: Certificate, signed_at: datetime) -> bytes:
    """Deterministic CBOR encoding of the claims for ``cert`` signed at ``signed_at``."""
    if signed_at.tzinfo is None:
        raise VerificationError("claims.naive_time", "signed_at must be timezone-aware", "signed_at")
    body: dict[int, Any] = {
        0: SCHEMA_VERSION,
        1: cert.cert_type.value,
        2: str(cert.number),
        3: cert.householder_address,
        4: cert.householder_name,
        5: [cert.disaster.name, cert.disaster.date.isoformat()],
        6: cert.dwelling_address,
        11: [cert.competent_town.code, cert.competent_town.name, cert.competent_town.mayor],
        12: [cert.issuing.node_id, cert.issuing.town_code, cert.issuing.town_name, cert.issuing.place],
        13: cert.issue_date.isoformat(),
    }
    optional = {
        7: cert.damage_class.code if cert.damage_class else None,
        8: [[m.name, m.relation] for m in cert.members] or None,
        9: cert.flooding.value if cert.flooding else None,
        10: cert.other_damage,
        14: str(cert.supersedes) if cert.supersedes else None,
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
    except (TypeError, ValueError, IndexError, KeyError, AttributeError, OverflowError) as exc:
        raise VerificationError("claims.structure", f"claims have the wrong structure: {exc}", "payload") from None


def _parse(claims: Any) -> tuple[Certificate, datetime]:
    _expect(isinstance(claims, dict) and set(claims) == {CLAIM_ISS, CLAIM_IAT, CLAIM_CERT}, "claims map keys")
    body, iat = claims[CLAIM_CERT], claims[CLAIM_IAT]
    _expect(type(iat) is int and 0 <= iat < 2**40, "iat")
    _expect(isinstance(body, dict) and body.get(0) == SCHEMA_VERSION, "schema version")
    _expect(set(body) <= set(range(15)) and {1, 2, 3, 4, 5, 6, 11, 12, 13} <= set(body), "content keys")
    town, issuing, disaster = _strs(body[11], 3), _list(body[12], 4), _strs(body[5], 2)
    _expect(all(type(v) is str for v in issuing[:3]) and (issuing[3] is None or type(issuing[3]) is str), "issuing")
    cert = Certificate(
        number=CertificateNumber.parse(_str(body[2])),
        cert_type=CertificateType(_str(body[1])),
        householder_address=_str(body[3]),
        householder_name=_str(body[4]),
        disaster=Disaster(disaster[0], date.fromisoformat(disaster[1])),
        dwelling_address=_str(body[6]),
        damage_class=DamageClass.from_code(_str(body[7])) if 7 in body else None,
        competent_town=Town(*town),
        issuing=IssuingPlace(*issuing),
        issue_date=date.fromisoformat(_str(body[13])),
        members=tuple(HouseholdMember(*_strs(m, 2)) for m in _list(body.get(8, []), None)),
        flooding=Flooding(_str(body[9])) if 9 in body else None,
        other_damage=_str(body[10]) if 10 in body else None,
        supersedes=CertificateNumber.parse(_str(body[14])) if 14 in body else None,
    )
    _expect(claims[CLAIM_ISS] == cert.competent_town.code, "iss equals competent town")
    return cert, datetime.fromtimestamp(iat, timezone.utc)


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
