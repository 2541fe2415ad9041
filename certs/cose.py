"""COSE_Sign1 (RFC 9052 §4.2), hand-rolled on cbor2.

Why not pycose: signing must go through the narrow Signer port (a PKCS#11 token never
hands out key material, while pycose wants a CoseKey holding the private key), the
Sig_structure is a four-element array, and a strict parser of our own lets the verifier
turn every malformed input into one VerificationError. See docs/certs.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import cbor2

from .errors import VerificationError
from .keys import COSE_ALG_IDS, COSE_ALG_NAMES, Signer

COSE_SIGN1_TAG = 18
HEADER_ALG, HEADER_KID, HEADER_TYP = 1, 4, 16  # RFC 9596: 16 = typ (media type of the content)
MAX_COSE_BYTES = 8192


@dataclass(frozen=True)
class Sign1:
    """A parsed COSE_Sign1 message (signature not yet checked)."""

    protected: bytes
    alg: str
    kid: bytes
    payload: bytes
    signature: bytes

    def to_be_signed(self) -> bytes:
        """The bytes the signature covers."""
        return sig_structure(self.protected, self.payload)


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """Sig_structure for COSE_Sign1 with empty external AAD."""
    return cbor2.dumps(["Signature1", protected, b"", payload])


def sign1(payload: bytes, signer: Signer, typ: str | None = None) -> bytes:
    """Tagged COSE_Sign1 over ``payload``; alg and kid (and ``typ`` if given) go in the protected header.

    The kid is protected (signed), as the EU DCC recommends, so it cannot be swapped
    to point a verifier at another key. ``typ`` names the content (status lists carry
    "application/statuslist+cwt"), so a signed status list can never pass for a certificate.
    """
    header: dict = {HEADER_ALG: COSE_ALG_IDS[signer.alg], HEADER_KID: signer.kid}
    if typ is not None:
        header[HEADER_TYP] = typ
    protected = cbor2.dumps(header, canonical=True)
    signature = signer.sign(sig_structure(protected, payload))
    return _encode(protected, payload, signature, tagged=True)


def _encode(protected: bytes, payload: bytes, signature: bytes, tagged: bool) -> bytes:
    message = [protected, {}, payload, signature]
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, message) if tagged else message)


def parse_sign1(data: bytes, max_size: int = MAX_COSE_BYTES, typ: str | None = None) -> Sign1:
    """Strictly parse a COSE_Sign1 (tagged or untagged); raise VerificationError if malformed.

    With ``typ`` the protected header must carry exactly that typ; without it, no typ at all.
    """
    if not isinstance(data, (bytes, bytearray)) or not 0 < len(data) <= max_size:
        raise VerificationError("cose.size", f"COSE message must be 1..{max_size} bytes", "cose")
    try:
        obj = cbor2.loads(bytes(data))
    except Exception as exc:  # untrusted bytes: cbor2 raises several types (incl. RecursionError)
        raise VerificationError("cose.cbor", f"not valid CBOR: {type(exc).__name__}", "cose") from None
    tagged = isinstance(obj, cbor2.CBORTag)
    if tagged:
        if obj.tag != COSE_SIGN1_TAG:
            raise VerificationError("cose.tag", f"CBOR tag {obj.tag} is not COSE_Sign1 (18)", "cose")
        obj = obj.value
    if not (isinstance(obj, (list, tuple)) and len(obj) == 4):
        raise VerificationError("cose.structure", "COSE_Sign1 must be a 4-element array", "cose")
    protected, unprotected, payload, signature = obj
    if not (type(protected) is bytes and isinstance(unprotected, Mapping) and type(payload) is bytes
            and type(signature) is bytes):
        raise VerificationError("cose.structure", "COSE_Sign1 elements have the wrong types", "cose")
    if unprotected:
        raise VerificationError("cose.unprotected", "unprotected header must be empty", "cose")
    # Only the canonical encoding is accepted, so trailing bytes or re-encoded lengths
    # cannot produce a second byte string that verifies (the payload is signed as-is).
    if _encode(protected, payload, signature, tagged) != bytes(data):
        raise VerificationError("cose.noncanonical", "COSE_Sign1 is not canonically encoded", "cose")
    alg, kid = _parse_protected(protected, typ)
    return Sign1(protected, alg, kid, payload, signature)


def _parse_protected(protected: bytes, typ: str | None) -> tuple[str, bytes]:
    try:
        header = cbor2.loads(protected)
    except Exception:  # untrusted bytes, see parse_sign1
        raise VerificationError("cose.header", "protected header is not valid CBOR", "cose") from None
    wanted = {HEADER_ALG, HEADER_KID} | ({HEADER_TYP} if typ is not None else set())
    if not isinstance(header, dict) or set(header) != wanted:
        what = "alg, kid and typ" if typ is not None else "alg and kid"
        raise VerificationError("cose.header", f"protected header must hold exactly {what}", "cose")
    if typ is not None and header[HEADER_TYP] != typ:
        raise VerificationError("cose.typ", f"content type must be {typ!r}", "cose")
    alg, kid = header[HEADER_ALG], header[HEADER_KID]
    if type(alg) is not int or alg not in COSE_ALG_NAMES:
        raise VerificationError("cose.alg", f"unsupported COSE algorithm {alg!r}", "cose")
    if type(kid) is not bytes or not 1 <= len(kid) <= 32:
        raise VerificationError("cose.kid", "kid must be 1..32 bytes", "cose")
    return COSE_ALG_NAMES[alg], kid
