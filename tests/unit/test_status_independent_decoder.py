"""A second, independent reader of the status-list and bundle vectors.

Imports nothing from the project (no certs.*): it follows only the wire format written in
docs/certs.md ("Status lists", "Verifier bundle") with cbor2, zlib and cryptography. If it
and certs/status_list.py disagree, the documentation or the code has drifted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from datetime import datetime
from pathlib import Path

import cbor2
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding

VECTORS_DIR = Path(__file__).resolve().parents[1] / "vectors"
DELEGATION_OID = x509.ObjectIdentifier("2.25.31122992788610468450511199230181575966.1")


def cose_verify(cose: bytes, public_key) -> tuple[dict, bytes, bool]:
    """(protected header, payload, signature ok) of a tagged COSE_Sign1."""
    message = cbor2.loads(cose)
    assert message.tag == 18
    protected, unprotected, payload, signature = message.value
    assert unprotected == {}
    header = cbor2.loads(protected)
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload])
    try:
        if header[1] == -8:
            public_key.verify(signature, to_be_signed)
        else:
            assert header[1] == -7
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            public_key.verify(der, to_be_signed, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return header, payload, False
    return header, payload, True


def read_trust_list(signed: bytes, root: x509.Certificate) -> dict:
    """The trust list's content, after checking the root's signature over it."""
    header, payload, ok = cose_verify(signed, root.public_key())
    assert ok and header[4] == hashlib.sha256(root.public_bytes(Encoding.DER)).digest()[:8]
    return cbor2.loads(payload)


def delegations_by_kid(trust_list: dict) -> dict[bytes, x509.Certificate]:
    certs = (x509.load_der_x509_certificate(der) for der in trust_list["delegations"])
    return {hashlib.sha256(c.public_bytes(Encoding.DER)).digest()[:8]: c for c in certs}


def node_of(delegation: x509.Certificate) -> str:
    """The node id in the delegation extension: DER SEQUENCE { UTF8String town, UTF8String node }."""
    value = delegation.extensions.get_extension_for_oid(DELEGATION_OID).value.value
    town_len = value[3]
    return value[4 + town_len + 2:].decode("ascii")


def read_status_list(cose: bytes, trust_list: dict) -> dict | None:
    """The decoded list if its signer is allowed and its signature verifies, else None."""
    header = cbor2.loads(cbor2.loads(cose).value[0])
    assert header[16] == "application/statuslist+cwt"
    kid = header[4]
    delegation = delegations_by_kid(trust_list).get(kid)
    if delegation is None or kid not in trust_list["status_list_signers"]:
        return None
    _, payload, ok = cose_verify(cose, delegation.public_key())
    claims = cbor2.loads(payload)
    if not ok or node_of(delegation) != claims[-65538]:
        return None
    assert claims[65533]["bits"] == 2
    bits = zlib.decompress(claims[65533]["lst"])
    statuses = {i: (bits[i // 4] >> ((i % 4) * 2)) & 3 for i in range(1, len(bits) * 4)}
    return {"sub": claims[2], "iat": claims[6], "exp": claims[4], "ttl": claims[65534],
            "statuses": statuses, "superseded_by": claims[-65537]}


def test_independent_decoder_reads_every_status_list_vector():
    vectors = json.loads((VECTORS_DIR / "status-lists.json").read_text(encoding="utf-8"))
    root = x509.load_der_x509_certificate(base64.b64decode(vectors["root_der_b64"]))
    trust_list = read_trust_list(base64.b64decode(vectors["trust_list_b64"]), root)
    now = int(datetime.fromisoformat(vectors["verify_at"]).timestamp())
    outcomes = {}
    for vector in vectors["vectors"]:
        decoded = read_status_list(bytes.fromhex(vector["cose_hex"]), trust_list)
        if decoded is None:
            outcomes[vector["name"]] = "refused"
            continue
        outcomes[vector["name"]] = "expired" if now > decoded["exp"] else "usable"
        assert decoded["sub"] == "risai:status:" + vector["node_id"]
        assert decoded["iat"] <= decoded["exp"] and decoded["ttl"] > 0
        listed = {str(i): s for i, s in decoded["statuses"].items() if str(i) in vector["statuses"]}
        assert listed == vector["statuses"]
        assert {str(i): n for i, n in decoded["superseded_by"].items()} == vector["superseded_by"]
        assert decoded["statuses"][2] == 1 and decoded["statuses"][3] == 3 and decoded["statuses"][4] == 2
    assert outcomes == {v["name"]: v["expected"] for v in vectors["vectors"]}
    assert set(outcomes.values()) == {"usable", "expired", "refused"}


def test_independent_decoder_reads_the_bundle():
    cases = json.loads((VECTORS_DIR / "verifier-cases.json").read_text(encoding="utf-8"))
    pinned = base64.b64decode(cases["root_der_b64"])
    bundle = cbor2.loads((VECTORS_DIR / "verifier-bundle.cbor").read_bytes())
    assert set(bundle) == {"format", "created_at", "root", "trust_list", "status_lists"} and bundle["format"] == 1
    assert bundle["root"] == pinned
    trust_list = read_trust_list(bundle["trust_list"], x509.load_der_x509_certificate(bundle["root"]))
    subjects = sorted(read_status_list(s, trust_list)["sub"] for s in bundle["status_lists"])
    assert subjects == ["risai:status:mashiki-1", "risai:status:wajima-1"]
    # The bundle of another federation carries another root: a verifier pinning ours refuses it.
    foreign = next(c for c in cases["cases"] if c.get("bundle_error"))
    assert cbor2.loads(base64.b64decode(foreign["bundle"]))["root"] != pinned
