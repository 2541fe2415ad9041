"""Regenerate the fixed test vectors in this folder.

    python -m tests.vectors.make_vectors

Keys are deterministic (an Ed25519 seed and a P-256 scalar written below), so the PEM
files never change. The Ed25519 vector is byte-exact (EdDSA is deterministic). ECDSA is
randomised, so the ES256 vector is a fixed signature that must keep verifying; rerunning
this script produces a different but equally valid ES256 signature, so only rerun it when
the format changes on purpose (and bump the vector file name).

certificate-v1.json holds claims format 1 (世帯構成員 as text in the QR) and is frozen: old
QRs must keep decoding. This script writes certificate-v2.json (format 2: printed boxes as
a digest, compact 整理番号, UTF-16 text); its certificate also has a place and other damage
so the digest covers every box.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from certs.boxes import boxes_digest
from certs.claims import certificate_to_claims
from certs.damage import DamageClass
from certs.encoding import cose_to_qr_string, sign_certificate
from certs.keys import SoftwareSigner, public_key_pem
from certs.model import Certificate, CertificateType, Disaster, HouseholdMember, IssuingPlace, Town
from certs.numbers import CertificateNumber

HERE = Path(__file__).resolve().parent
VECTOR_FILE = HERE / "certificate-v2.json"
VECTOR_FILE_V1 = HERE / "certificate-v1.json"
ED25519_SEED = bytes(range(32))
P256_SCALAR = int("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721", 16)
KID = bytes.fromhex("a1b2c3d4e5f60718")
SIGNED_AT = datetime(2024, 1, 10, 9, 30, tzinfo=timezone.utc)


def vector_certificate_v1() -> Certificate:
    """The certificate the format-1 vectors encode: 益城町's dwelling, issued at a 輪島市 node."""
    return Certificate(
        number=CertificateNumber("434434", "wajima-1", 42),
        cert_type=CertificateType.RISAI,
        householder_address="熊本県上益城郡益城町大字宮園1234番地5",
        householder_name="熊本 太郎",
        disaster=Disaster("令和6年能登半島地震", date(2024, 1, 1)),
        dwelling_address="熊本県上益城郡益城町大字宮園1234番地5",
        damage_class=DamageClass.ZENKAI,
        competent_town=Town("434434", "益城町", "山田 太郎"),
        issuing=IssuingPlace("wajima-1", "172049", "輪島市"),
        issue_date=date(2024, 1, 10),
        members=(HouseholdMember("熊本 花子", "妻"),),
    )


def vector_certificate() -> Certificate:
    """The certificate the format-2 vectors encode: format 1's, plus a place and other damage."""
    cert = vector_certificate_v1()
    return replace(cert, issuing=replace(cert.issuing, place="輪島市役所 災害対策窓口"), other_damage="車庫の倒壊")


def keys() -> dict[str, object]:
    """The two deterministic private keys, by COSE algorithm name."""
    return {
        "EdDSA": ed25519.Ed25519PrivateKey.from_private_bytes(ED25519_SEED),
        "ES256": ec.derive_private_key(P256_SCALAR, ec.SECP256R1()),
    }


def main() -> None:
    """Write the PEM keys and certificate-v2.json."""
    claims = certificate_to_claims(vector_certificate(), SIGNED_AT)
    digest = boxes_digest(vector_certificate(), householder_in_qr=True)
    out = {"kid": KID.hex(), "signed_at": SIGNED_AT.isoformat(), "claims_hex": claims.hex(),
           "boxes_digest_hex": digest.hex(), "vectors": {}}
    for alg, key in keys().items():
        name = alg.lower()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        (HERE / f"{name}-node.key.pem").write_bytes(pem)
        (HERE / f"{name}-node.pub.pem").write_bytes(public_key_pem(key))
        cose = sign_certificate(vector_certificate(), SoftwareSigner(key, KID), SIGNED_AT)
        out["vectors"][alg] = {"cose_hex": cose.hex(), "qr": cose_to_qr_string(cose), "public_key": f"{name}-node.pub.pem"}
    VECTOR_FILE.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
