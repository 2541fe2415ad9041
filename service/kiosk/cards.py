"""Resident cards (pure): the test card CA, card certificates and challenge signatures.

A card is modelled on the My Number card's user-authentication certificate: the node
hands out a random single-use challenge, the card signs it (ECDSA P-256), and the node
checks the card certificate against the card CAs it trusts. The certificate binds
``urn:risai:resident:<town>:<resident id>``.
"""

from __future__ import annotations

import base64
import datetime as dt

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certs.keys import ES256, SoftwareSigner, raw_signature, verify_signature
from service.errors import InvalidRequest, Unauthenticated
from service.kiosk.signing import decode_base64

RESIDENT_URN = "urn:risai:resident:"


class CardError(Unauthenticated):
    """A card or its signature was refused (401 with a ``card.*`` code)."""


# ---- the test card CA (pure) -------------------------------------------------------------

def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def create_card_ca(common_name: str, *, now: dt.datetime,
                   days: int = 3650) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A card-issuing CA (P-256), like J-LIS's for user-authentication certificates."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(common_name))
            .issuer_name(_name(common_name)).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                         False, False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def issue_card(ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, *,
               town_code: str, resident_id: str, now: dt.datetime, days: int = 1825,
               ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A software card: its key and a user-authentication certificate for one resident."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("利用者証明用"))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False,
                                         False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(
                f"{RESIDENT_URN}{town_code}:{resident_id}")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def sign_challenge(card_key: ec.EllipticCurvePrivateKey, challenge: str) -> str:
    """What the card does: sign the challenge (ECDSA P-256 SHA-256, r||s, base64)."""
    return base64.b64encode(SoftwareSigner(card_key, kid=b"").sign(challenge.encode())).decode()


def _resident_of(card: x509.Certificate) -> tuple[str, str]:
    try:
        san = card.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = []
    for uri in san.get_values_for_type(x509.UniformResourceIdentifier) if san else []:
        if uri.startswith(RESIDENT_URN) and uri.count(":") == 4:
            town, resident = uri[len(RESIDENT_URN):].split(":")
            return town, resident
    raise CardError("the card certificate names no resident", code="card.no_resident")


def _issued_by_trusted(card: x509.Certificate, trusted: list[x509.Certificate]) -> bool:
    for ca in trusted:
        if ca.subject != card.issuer:
            continue
        try:
            card.verify_directly_issued_by(ca)
            return True
        except (ValueError, TypeError, InvalidSignature):
            continue
    return False


def verify_card(card_pem: str, signature_b64: str, challenge: str,
                trusted: list[x509.Certificate], now: dt.datetime) -> tuple[str, str]:
    """Check a card's certificate and challenge signature; returns (town code, resident id)."""
    try:
        card = x509.load_pem_x509_certificate(card_pem.encode())
    except (ValueError, TypeError, AttributeError):
        raise InvalidRequest.about("card_certificate", "not a PEM certificate",
                                   "card.malformed") from None
    signature = decode_base64(signature_b64, "signature")
    if not _issued_by_trusted(card, trusted):
        raise CardError("the card was not issued by a trusted card CA", code="card.untrusted")
    if not card.not_valid_before_utc <= now <= card.not_valid_after_utc:
        raise CardError("the card certificate is not valid now", code="card.expired")
    key = card.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise CardError("the card key must be ECDSA P-256", code="card.key_type")
    try:
        valid = verify_signature(key, ES256, challenge.encode(), raw_signature(ES256, signature))
    except ValueError:  # neither raw r||s nor DER
        valid = False
    if not valid:
        raise CardError("the card's signature over the challenge is wrong", code="card.signature")
    return _resident_of(card)
