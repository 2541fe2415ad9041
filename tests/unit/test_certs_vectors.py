"""Fixed test vectors (tests/vectors/): the wire format must not drift.

certificate-v2.json is the current format (byte-exact Ed25519); certificate-v1.json is the
frozen format-1 vector that old QRs follow and must keep decoding and verifying.
"""

from __future__ import annotations

import json
from datetime import datetime

from cryptography.hazmat.primitives import serialization

from certs.boxes import PrintedBoxes
from certs.claims import certificate_to_claims, decode_claims
from certs.encoding import decode_certificate, encode_certificate, sign_certificate
from certs.keys import SoftwareSigner, verify_signature
from tests.vectors.make_vectors import HERE, KID, VECTOR_FILE, VECTOR_FILE_V1, vector_certificate, vector_certificate_v1

VECTORS = json.loads(VECTOR_FILE.read_text(encoding="utf-8"))
VECTORS_V1 = json.loads(VECTOR_FILE_V1.read_text(encoding="utf-8"))
SIGNED_AT = datetime.fromisoformat(VECTORS["signed_at"])


def _private(name: str):
    return serialization.load_pem_private_key((HERE / f"{name}-node.key.pem").read_bytes(), password=None)


def _public(alg: str):
    return serialization.load_pem_public_key((HERE / VECTORS["vectors"][alg]["public_key"]).read_bytes())


def test_claims_bytes_are_stable():
    assert certificate_to_claims(vector_certificate(), SIGNED_AT).hex() == VECTORS["claims_hex"]
    assert certificate_to_claims(vector_certificate_v1(), SIGNED_AT, version=1).hex() == VECTORS_V1["claims_hex"]


def test_ed25519_vector_is_byte_exact():
    signer = SoftwareSigner(_private("eddsa"), KID)
    vector = VECTORS["vectors"]["EdDSA"]
    assert sign_certificate(vector_certificate(), signer, SIGNED_AT).hex() == vector["cose_hex"]
    assert encode_certificate(vector_certificate(), signer, SIGNED_AT) == vector["qr"]


def test_each_vector_decodes_and_its_signature_verifies():
    boxes = PrintedBoxes.of(vector_certificate())
    for alg, vector in VECTORS["vectors"].items():
        decoded = decode_certificate(vector["qr"], boxes)
        assert decoded.certificate == vector_certificate() and decoded.signed_at == SIGNED_AT
        assert decoded.version == 2 and decoded.boxes_digest.hex() == VECTORS["boxes_digest_hex"]
        assert decode_certificate(bytes.fromhex(vector["cose_hex"]), boxes).certificate == vector_certificate()
        message = decoded.sign1
        assert (message.alg, message.kid, message.payload.hex()) == (alg, KID, VECTORS["claims_hex"])
        assert verify_signature(_public(alg), alg, message.to_be_signed(), message.signature)


def test_format_1_vectors_still_decode_and_verify():
    for alg, vector in VECTORS_V1["vectors"].items():
        decoded = decode_certificate(vector["qr"])
        assert decoded.version == 1 and decoded.boxes_digest is None
        assert decoded.certificate == vector_certificate_v1() and decoded.signed_at == SIGNED_AT
        assert decode_certificate(vector["qr"], PrintedBoxes.of(vector_certificate_v1())).boxes_checked
        assert decode_claims(decoded.sign1.payload).certificate.members == vector_certificate_v1().members
        message = decoded.sign1
        assert verify_signature(_public(alg), alg, message.to_be_signed(), message.signature)
