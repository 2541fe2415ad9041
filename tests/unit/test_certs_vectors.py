"""Fixed test vectors (tests/vectors/): the wire format must not drift."""

from __future__ import annotations

import json
from datetime import datetime

from cryptography.hazmat.primitives import serialization

from certs.claims import certificate_to_claims
from certs.encoding import decode_certificate, encode_certificate, sign_certificate
from certs.keys import SoftwareSigner, verify_signature
from tests.vectors.make_vectors import HERE, KID, VECTOR_FILE, vector_certificate

VECTORS = json.loads(VECTOR_FILE.read_text(encoding="utf-8"))
SIGNED_AT = datetime.fromisoformat(VECTORS["signed_at"])


def _private(name: str):
    return serialization.load_pem_private_key((HERE / f"{name}-node.key.pem").read_bytes(), password=None)


def _public(alg: str):
    return serialization.load_pem_public_key((HERE / VECTORS["vectors"][alg]["public_key"]).read_bytes())


def test_claims_bytes_are_stable():
    assert certificate_to_claims(vector_certificate(), SIGNED_AT).hex() == VECTORS["claims_hex"]


def test_ed25519_vector_is_byte_exact():
    signer = SoftwareSigner(_private("eddsa"), KID)
    vector = VECTORS["vectors"]["EdDSA"]
    assert sign_certificate(vector_certificate(), signer, SIGNED_AT).hex() == vector["cose_hex"]
    assert encode_certificate(vector_certificate(), signer, SIGNED_AT) == vector["qr"]


def test_each_vector_decodes_and_its_signature_verifies():
    for alg, vector in VECTORS["vectors"].items():
        decoded = decode_certificate(vector["qr"])
        assert decoded.certificate == vector_certificate() and decoded.signed_at == SIGNED_AT
        assert decode_certificate(bytes.fromhex(vector["cose_hex"])).certificate == vector_certificate()
        message = decoded.sign1
        assert (message.alg, message.kid, message.payload.hex()) == (alg, KID, VECTORS["claims_hex"])
        assert verify_signature(_public(alg), alg, message.to_be_signed(), message.signature)
