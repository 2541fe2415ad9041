"""Claims format 1 (the content map of QRs issued before format 2), kept decodable.

Format 1 carries every box as text: 3 householder address (omitted when equal to key 7),
9 世帯構成員 [[name, relation], ...], 11 other damage, 13 issuing [code, name(, place)],
2 and 15 整理番号 as strings. Certificates already handed out keep verifying; new ones are
issued in format 2 (claims.py). The encoder stays so verify() can check printed text
against a format-1 QR the same way as against a format-2 one: by re-encoding.
"""

from __future__ import annotations

from typing import Any

from . import _fields as f
from .model import Certificate, Disaster, HouseholdMember, IssuingPlace, Town
from .numbers import CertificateNumber

VERSION = 1
REQUIRED = {0, 1, 2, 4, 5, 6, 7, 12, 13, 14}


def encode_body(cert: Certificate, types: dict, classes: dict, flooding: dict) -> dict[int, Any]:
    """The format-1 content map of ``cert``."""
    issuing = [cert.issuing.town_code, cert.issuing.town_name] + ([cert.issuing.place] if cert.issuing.place else [])
    body: dict[int, Any] = {
        0: VERSION, 1: types[cert.cert_type], 2: str(cert.number), 4: cert.householder_name,
        5: cert.disaster.name, 6: f.days(cert.disaster.date), 7: cert.dwelling_address,
        12: [cert.competent_town.name, cert.competent_town.mayor], 13: issuing, 14: f.days(cert.issue_date),
    }
    optional = {
        3: cert.householder_address if cert.householder_address != cert.dwelling_address else None,
        8: classes[cert.damage_class] if cert.damage_class else None,
        9: [[m.name, m.relation] for m in cert.members] or None,
        10: flooding[cert.flooding] if cert.flooding else None,
        11: cert.other_damage,
        15: str(cert.supersedes) if cert.supersedes else None,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def parse_body(iss: Any, body: dict, types: dict, classes: dict, flooding: dict) -> Certificate:
    """Certificate from a format-1 content map; ValueError (or CertsError) if malformed."""
    f.expect(set(body) <= set(range(16)) and REQUIRED <= set(body), "content keys")
    number = CertificateNumber.parse(f.text(body[2]))
    town, issuing = f.texts(body[12], 2), f.texts(body[13], len(f.array(body[13], None)))
    f.expect(len(issuing) in (2, 3), "issuing")
    f.expect(iss == number.town_code, "iss equals competent town")
    f.expect(3 not in body or body[3] != body[7], "householder address omitted when equal")
    return Certificate(
        number=number,
        cert_type=f.lookup(types, body[1]),
        householder_address=f.text(body[3]) if 3 in body else f.text(body[7]),
        householder_name=f.text(body[4]),
        disaster=Disaster(f.text(body[5]), f.as_date(body[6])),
        dwelling_address=f.text(body[7]),
        damage_class=f.lookup(classes, body[8]) if 8 in body else None,
        competent_town=Town(number.town_code, *town),
        issuing=IssuingPlace(number.node_id, *issuing),
        issue_date=f.as_date(body[14]),
        members=tuple(HouseholdMember(*f.texts(m, 2)) for m in f.array(body.get(9, []), None)),
        flooding=f.lookup(flooding, body[10]) if 10 in body else None,
        other_damage=f.text(body[11]) if 11 in body else None,
        supersedes=CertificateNumber.parse(f.text(body[15])) if 15 in body else None,
    )
