"""Regenerate the status-list, bundle and verifier-case vectors in this folder.

    .venv/bin/python -m tests.vectors.make_status_vectors

Byte-for-byte deterministic: every key is derived from a fixed scalar or seed written below,
ECDSA signs with RFC 6979 (deterministic nonces, certs/keys.py and certs/pki.py), serial numbers and times are fixed. So a
rerun rewrites identical files; a diff means the format changed (on purpose, or not).

Writes:
- status-lists.json: signed status lists (valid / revoked / superseded / under review
  entries, an expired list, a list by a key that may not sign status lists), the trust list
  and root they verify against, and what each index must decode to.
- verifier-bundle.cbor: the bundle the valid verifier cases use.
- verifier-cases.json: QR string + bundle + time → the verdict word both verifiers
  (risai-verify in Python, the offline web verifier in JavaScript) must give. The expected
  words are written here by construction of each case, not computed by the verifier.

The federation: towns 益城町 (434434) and 輪島市 (172049); nodes mashiki-1 (EdDSA key, own
town), wajima-1 (ES256, its town and 益城町 by the mutual-aid agreement), and wajima-2
(ES256, a delegation from 輪島市 but NOT named as a status-list signer: the "wrong signer").
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding

from certs.bundle import build_bundle
from certs.damage import DamageClass
from certs.encoding import cose_to_qr_string, qr_string_to_cose, sign_certificate
from certs.keys import SoftwareSigner
from certs.model import Certificate, CertificateType, Disaster, HouseholdMember, IssuingPlace, Town
from certs.numbers import CertificateNumber
from certs.pki import create_delegation, create_root_ca, create_town_ca, kid_of
from certs.status_list import CertStatus, sign_status_list
from certs.trust_list import Revocation, TownEntry, TrustList, sign_trust_list

HERE = Path(__file__).resolve().parent
PKI_AT = datetime(2024, 1, 1, 0, 0, tzinfo=timezone.utc)
TRUST_LIST_AT = datetime(2024, 1, 9, 0, 0, tzinfo=timezone.utc)
SIGNED_AT = datetime(2024, 1, 10, 9, 0, tzinfo=timezone.utc)  # the certificates
LIST_AT = datetime(2024, 1, 10, 12, 0, tzinfo=timezone.utc)  # the status lists
VERIFY_AT = datetime(2024, 1, 11, 9, 0, tzinfo=timezone.utc)  # the verifier's clock
EXPIRED_LIST_AT = datetime(2024, 1, 5, 0, 0, tzinfo=timezone.utc)
MASHIKI = Town("434434", "益城町", "山田 太郎")
WAJIMA = Town("172049", "輪島市", "佐藤 花子")
# Status list of wajima-1: index → status; 5 is the successor of 3; 6 is revoked in the trust list.
WAJIMA_STATUSES = {1: CertStatus.VALID, 2: CertStatus.REVOKED, 3: CertStatus.SUPERSEDED, 4: CertStatus.UNDER_REVIEW,
                   5: CertStatus.VALID, 6: CertStatus.VALID, 7: CertStatus.VALID}
SUCCESSOR = "434434-wajima-1-000005"


def _p256(seed: int) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(0x5EED_0000_0000_0000 + seed, ec.SECP256R1())


def _federation(name: str, seed: int) -> dict:
    """Root, two town CAs, three node delegations, and the keys, all from fixed seeds."""
    root_key, mashiki_key, wajima_key = _p256(seed + 1), _p256(seed + 2), _p256(seed + 3)
    nodes = {"mashiki-1": ed25519.Ed25519PrivateKey.from_private_bytes(bytes([seed + 4]) * 32),
             "wajima-1": _p256(seed + 5), "wajima-2": _p256(seed + 6)}
    root = create_root_ca(root_key, name, PKI_AT, timedelta(days=3650), seed + 100)
    cas = {MASHIKI.code: (mashiki_key, create_town_ca(root_key, root, mashiki_key.public_key(), MASHIKI.code,
                                                      MASHIKI.name, PKI_AT, timedelta(days=1825), seed + 101)),
           WAJIMA.code: (wajima_key, create_town_ca(root_key, root, wajima_key.public_key(), WAJIMA.code,
                                                    WAJIMA.name, PKI_AT, timedelta(days=1825), seed + 102))}
    grants = [("mashiki-1", MASHIKI.code), ("wajima-1", WAJIMA.code), ("wajima-1", MASHIKI.code), ("wajima-2", WAJIMA.code)]
    delegations = {}
    for serial, (node, town) in enumerate(grants, start=seed + 110):
        key, ca = cas[town]
        delegations[(node, town)] = create_delegation(key, ca, nodes[node].public_key(), node, PKI_AT,
                                                      timedelta(days=30), serial)
    signers = {k: SoftwareSigner(nodes[k[0]], kid_of(cert)) for k, cert in delegations.items()}
    status_signers = tuple(kid_of(c) for (node, _), c in delegations.items() if node != "wajima-2")
    trust_list = TrustList(
        3, TRUST_LIST_AT, name, root,
        (TownEntry(MASHIKI.code, MASHIKI.name, MASHIKI.mayor, cas[MASHIKI.code][1]),
         TownEntry(WAJIMA.code, WAJIMA.name, WAJIMA.mayor, cas[WAJIMA.code][1])),
        tuple(delegations.values()),
        revoked_certificates=(Revocation("434434-wajima-1-000006", "誤交付 / issued in error", TRUST_LIST_AT),),
        status_list_signers=status_signers,
    )
    return {"root": root, "trust_list": trust_list, "signed_trust_list": sign_trust_list(trust_list, root_key),
            "signers": signers}


def _certificate(node: str, sequence: int, **changes) -> Certificate:
    town = WAJIMA if node.startswith("wajima") else MASHIKI
    cert = Certificate(
        number=CertificateNumber(MASHIKI.code, node, sequence), cert_type=CertificateType.RISAI,
        householder_address="熊本県上益城郡益城町大字宮園1234番地5", householder_name="熊本 太郎",
        disaster=Disaster("平成28年熊本地震", date(2016, 4, 14)),
        dwelling_address="熊本県上益城郡益城町大字宮園1234番地5", damage_class=DamageClass.DAIKIBO_HANKAI,
        competent_town=MASHIKI, issuing=IssuingPlace(node, town.code, town.name), issue_date=date(2024, 1, 10),
        members=(HouseholdMember("熊本 花子", "妻"),))
    return replace(cert, **changes)


def _qr(fed: dict, node: str, sequence: int, signed_at: datetime = SIGNED_AT) -> str:
    signer = fed["signers"][(node, MASHIKI.code)]
    return cose_to_qr_string(sign_certificate(_certificate(node, sequence), signer, signed_at))


def _wajima_list(fed: dict, signer: tuple[str, str], issued_at: datetime = LIST_AT) -> bytes:
    return sign_status_list("wajima-1", WAJIMA_STATUSES, {3: SUCCESSOR}, fed["signers"][signer], signer[0], issued_at)


def _mashiki_list(fed: dict) -> bytes:
    return sign_status_list("mashiki-1", {1: CertStatus.VALID}, {}, fed["signers"][("wajima-1", WAJIMA.code)],
                            "wajima-1", LIST_AT)


def _tampered(qr: str) -> str:
    cose = bytearray(qr_string_to_cose(qr))
    cose[-1] ^= 0x01  # last byte of the signature
    return cose_to_qr_string(bytes(cose))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def status_list_vectors(fed: dict) -> dict:
    """status-lists.json: each signed list and what a verifier must conclude."""
    expected = {str(i): int(s) for i, s in WAJIMA_STATUSES.items()}
    vectors = [
        ("valid-revoked-superseded-under-review.es256", _wajima_list(fed, ("wajima-1", WAJIMA.code)), "usable"),
        ("same-list-signed-by-another-node.eddsa", _wajima_list(fed, ("mashiki-1", MASHIKI.code)), "usable"),
        ("expired", _wajima_list(fed, ("wajima-1", WAJIMA.code), EXPIRED_LIST_AT), "expired"),
        ("wrong-signer", _wajima_list(fed, ("wajima-2", WAJIMA.code)), "refused"),
    ]
    return {
        "about": "Status lists (draft-ietf-oauth-status-list, CWT form) of issuing node wajima-1; see docs/certs.md",
        "root_der_b64": _b64(fed["root"].public_bytes(Encoding.DER)),
        "trust_list_b64": _b64(fed["signed_trust_list"]),
        "status_list_signers_hex": [k.hex() for k in fed["trust_list"].status_list_signers],
        "verify_at": VERIFY_AT.isoformat(),
        "vectors": [{"name": name, "cose_hex": data.hex(), "expected": outcome, "node_id": "wajima-1",
                     "statuses": expected, "superseded_by": {"3": SUCCESSOR}} for name, data, outcome in vectors],
    }


def verifier_cases(fed: dict, other: dict) -> tuple[bytes, dict]:
    """The main bundle and verifier-cases.json."""
    waj, mash = ("wajima-1", WAJIMA.code), ("mashiki-1", MASHIKI.code)
    good = build_bundle(fed["root"], fed["signed_trust_list"], [_wajima_list(fed, mash), _mashiki_list(fed)], LIST_AT)
    expired = build_bundle(fed["root"], fed["signed_trust_list"], [_wajima_list(fed, waj, EXPIRED_LIST_AT)], LIST_AT)
    wrong_signer = build_bundle(fed["root"], fed["signed_trust_list"], [_wajima_list(fed, ("wajima-2", WAJIMA.code))], LIST_AT)
    no_lists = build_bundle(fed["root"], fed["signed_trust_list"], [], LIST_AT)
    foreign = build_bundle(other["root"], other["signed_trust_list"], [_wajima_list(other, mash)], LIST_AT)
    wrong_key = dict(fed, signers={k: SoftwareSigner(_p256(999), s.kid) for k, s in fed["signers"].items()})
    at = VERIFY_AT.isoformat()
    rows = [
        ("valid", _qr(fed, "wajima-1", 1), good, "有効", None),
        ("valid, issued by the competent town's own node (EdDSA)", _qr(fed, "mashiki-1", 1), good, "有効", None),
        ("tampered signature", _tampered(_qr(fed, "wajima-1", 1)), good, "無効", None),
        ("signed by a key that is not the delegation's", _qr(wrong_key, "wajima-1", 1), good, "無効", None),
        ("revoked", _qr(fed, "wajima-1", 2), good, "失効", None),
        ("superseded", _qr(fed, "wajima-1", 3), good, "差替え", SUCCESSOR),
        ("under review", _qr(fed, "wajima-1", 4), good, "確認中", None),
        ("revoked in the trust list", _qr(fed, "wajima-1", 6), good, "失効", None),
        ("beyond the end of the list", _qr(fed, "wajima-1", 40), good, "確認不能", None),
        ("signed after the list was issued", _qr(fed, "wajima-1", 7, LIST_AT + timedelta(hours=1)), good, "確認不能", None),
        ("expired list", _qr(fed, "wajima-1", 1), expired, "確認不能", None),
        ("list signed by a key that may not sign status lists", _qr(fed, "wajima-1", 1), wrong_signer, "確認不能", None),
        ("no list for the issuing node", _qr(fed, "wajima-1", 1), no_lists, "確認不能", None),
        ("bundle of another federation root", _qr(other, "wajima-1", 1), foreign, "無効", None),
    ]
    cases = []
    for name, qr, bundle, verdict, by in rows:
        case = {"name": name, "qr": qr, "bundle": _b64(bundle), "now": at, "verdict": verdict, "superseded_by": by}
        if bundle is foreign:
            case["bundle_error"] = True
        cases.append(case)
    return good, {
        "about": "QR + verifier bundle + time → verdict; the pinned root is root_der_b64 for every case",
        "root_der_b64": _b64(fed["root"].public_bytes(Encoding.DER)),
        "verdicts": ["有効", "無効", "失効", "差替え", "確認中", "確認不能"],
        "cases": cases,
    }


def _write_json(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main() -> None:
    """Write status-lists.json, verifier-bundle.cbor and verifier-cases.json."""
    fed = _federation("テスト相互応援グループ", 0)
    other = _federation("別の連合 / another federation", 50)
    _write_json(HERE / "status-lists.json", status_list_vectors(fed))
    bundle, cases = verifier_cases(fed, other)
    (HERE / "verifier-bundle.cbor").write_bytes(bundle)
    _write_json(HERE / "verifier-cases.json", cases)


if __name__ == "__main__":
    main()
