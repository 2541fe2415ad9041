"""The JavaScript decoder reads the fixed certificate vectors (claims formats 1 and 2,
EdDSA and ES256) exactly as certs/ does, and refuses every one-character change of a QR
string, as certs.encoding does (tested there at every position)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from certs.boxes import PRINTED_ONLY
from certs.encoding import decode_certificate
from certs.errors import VerificationError
from tests.support.node_js import VERIFIER, node_or_skip

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def js_decode(qrs: list[str]) -> list[dict]:
    result = subprocess.run([node_or_skip(), "tools/decode-qr.mjs"], input=json.dumps(qrs), capture_output=True,
                            text=True, cwd=VERIFIER, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def python_view(qr: str) -> dict:
    """certs' reading of a QR in the shape verifier/tools/decode-qr.mjs prints."""
    d = decode_certificate(qr)
    c = d.certificate
    return {
        "kid": d.sign1.kid.hex(), "alg": d.sign1.alg, "claims_hex": d.sign1.payload.hex(), "version": d.version,
        "signedAt": int(d.signed_at.timestamp()), "boxesDigest": d.boxes_digest.hex() if d.boxes_digest else None,
        "certificate": {
            "number": str(c.number), "type": c.cert_type.label_ja.replace("被災証明書", "被災証明"),
            "householderAddress": None if c.householder_address == PRINTED_ONLY else c.householder_address,
            "householderName": c.householder_name,
            "disaster": {"name": c.disaster.name, "date": c.disaster.date.isoformat()},
            "dwellingAddress": c.dwelling_address,
            "damageClass": c.damage_class.label_ja if c.damage_class else None,
            "competentTown": {"code": c.competent_town.code, "name": c.competent_town.name, "mayor": c.competent_town.mayor},
            "issuing": {"nodeId": c.issuing.node_id, "townCode": c.issuing.town_code, "townName": c.issuing.town_name,
                        "place": c.issuing.place},
            "issueDate": c.issue_date.isoformat(),
            "flooding": c.flooding.label_ja if c.flooding else None,
            "supersedes": str(c.supersedes) if c.supersedes else None,
            "members": [{"name": m.name, "relation": m.relation} for m in c.members],
            "otherDamage": c.other_damage,
        },
    }


def vector_qrs() -> list[str]:
    qrs = []
    for name in ("certificate-v1.json", "certificate-v2.json"):
        for vector in json.loads((VECTORS / name).read_text())["vectors"].values():
            qrs.append(vector["qr"])
    return qrs


def test_vectors_decode_the_same_in_javascript():
    qrs = vector_qrs()
    assert len(qrs) == 4
    for qr, js in zip(qrs, js_decode(qrs)):
        assert js == python_view(qr)


def test_changed_characters_are_refused_where_certs_refuses_them():
    """Change characters across one vector's string (every 3rd position): the JS decoder
    refuses exactly the strings certs refuses, and reads the others exactly as certs does
    (their signature then fails in both verifiers)."""
    qr = vector_qrs()[-1]
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    changed = [qr[:i] + alphabet[(alphabet.index(qr[i]) + 1) % 45] + qr[i + 1:] for i in range(6, len(qr), 3)]
    refused = 0
    for text, js in zip(changed, js_decode(changed)):
        try:
            py = python_view(text)
        except VerificationError:
            refused += 1
            assert "error" in js, text
            continue
        assert js == py, text
    assert refused > len(changed) // 2  # most changes break zlib, CBOR or the claims
