"""A second, independent decoder for the published vectors.

It deliberately imports nothing from the project (no certs.*): base45 is decoded by hand
from RFC 9285, then zlib, cbor2 and cryptography do the rest, following only the format
documented in docs/certs.md. If this test and the project disagree, the documentation or
the code has drifted.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

VECTORS_DIR = Path(__file__).resolve().parents[1] / "vectors"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def b45decode(text: str) -> bytes:
    """RFC 9285: groups of 3 chars → 2 bytes (c + 45d + 2025e), a final pair → 1 byte."""
    out = bytearray()
    for i in range(0, len(text), 3):
        chunk = [ALPHABET.index(c) for c in text[i:i + 3]]
        value = sum(v * 45**k for k, v in enumerate(chunk))
        out += value.to_bytes(2 if len(chunk) == 3 else 1, "big")
    return bytes(out)


def decode_and_verify(qr: str, public_pem: bytes) -> dict:
    assert qr.startswith("JPRC1:")
    cose = cbor2.loads(zlib.decompress(b45decode(qr[len("JPRC1:"):])))
    assert cose.tag == 18  # COSE_Sign1
    protected, unprotected, payload, signature = cose.value
    header = cbor2.loads(protected)
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload])
    key = serialization.load_pem_public_key(public_pem)
    if header[1] == -8:  # EdDSA
        key.verify(signature, to_be_signed)
    else:  # ES256: COSE carries raw r||s, cryptography wants DER
        assert header[1] == -7
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        key.verify(der, to_be_signed, ec.ECDSA(hashes.SHA256()))
    return {"kid": header[4], "claims": cbor2.loads(payload)}


def text(value) -> str:
    """Claims format 2 text: UTF-8 text string, or UTF-16BE in a byte string."""
    return value if isinstance(value, str) else value.decode("utf-16-be")


def test_independent_decoder_reads_both_vectors():
    vectors = json.loads((VECTORS_DIR / "certificate-v2.json").read_text(encoding="utf-8"))
    for alg, vector in vectors["vectors"].items():
        result = decode_and_verify(vector["qr"], (VECTORS_DIR / vector["public_key"]).read_bytes())
        claims = result["claims"]
        body = claims[-65537]
        assert result["kid"].hex() == vectors["kid"], alg
        assert claims[1] == "434434" and claims[6] == 1704879000
        assert body[0] == 2 and body[2] == ["wajima-1", 42]  # 整理番号 434434-wajima-1-000042
        assert body[8] == 1  # 全壊
        assert [text(v) for v in body[12]] == ["益城町", "山田 太郎"]
        assert body[13][0] == "172049" and text(body[13][1]) == "輪島市"
        assert 3 not in body and text(body[7]) == "熊本県上益城郡益城町大字宮園1234番地5"  # same address: omitted
        assert body[14] == 19732  # 2024-01-10 as days since 1970-01-01
        # The printed boxes are bound by a digest, recomputed here from the printed text.
        printed = ["JPRC printed boxes v2", None, [["熊本 花子", "妻"]], "車庫の倒壊", "輪島市役所 災害対策窓口"]
        assert body[16] == hashlib.sha256(cbor2.dumps(printed, canonical=True)).digest()[:16]


def test_independent_decoder_reads_the_format_1_vectors():
    vectors = json.loads((VECTORS_DIR / "certificate-v1.json").read_text(encoding="utf-8"))
    for vector in vectors["vectors"].values():
        body = decode_and_verify(vector["qr"], (VECTORS_DIR / vector["public_key"]).read_bytes())["claims"][-65537]
        assert body[0] == 1 and body[2] == "434434-wajima-1-000042" and body[9] == [["熊本 花子", "妻"]]
