"""Card CA, software cards and kiosk request signatures (service.kiosk.cards, .signing, .sessions)."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from service.errors import InvalidRequest
from service.kiosk import cards, sessions, signing

NOW = dt.datetime(2024, 1, 2, 9, 0, tzinfo=dt.timezone.utc)


def _pem(cert) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def ca():
    return cards.create_card_ca("Test JPKI CA", now=NOW)


@pytest.fixture(scope="module")
def card(ca):
    return cards.issue_card(*ca, town_code="434434", resident_id="R0001", now=NOW)


def test_card_verifies_and_names_the_resident(ca, card):
    sig = cards.sign_challenge(card[0], "abc")
    assert cards.verify_card(_pem(card[1]), sig, "abc", [ca[1]], NOW) == ("434434", "R0001")


def test_webcrypto_raw_signature_accepted(ca, card):
    r, s = decode_dss_signature(card[0].sign(b"abc", ec.ECDSA(hashes.SHA256())))
    raw = base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()
    assert cards.verify_card(_pem(card[1]), raw, "abc", [ca[1]], NOW)[1] == "R0001"


def test_refusals(ca, card):
    sig = cards.sign_challenge(card[0], "abc")
    cases = {
        "card.untrusted": lambda: cards.verify_card(_pem(card[1]), sig, "abc", [], NOW),
        "card.expired": lambda: cards.verify_card(_pem(card[1]), sig, "abc", [ca[1]],
                                                  NOW + dt.timedelta(days=3650)),
        "card.signature": lambda: cards.verify_card(_pem(card[1]), sig, "abd", [ca[1]], NOW),
    }
    for code, call in cases.items():
        with pytest.raises(cards.CardError) as err:
            call()
        assert err.value.code == code
    with pytest.raises(InvalidRequest):
        cards.verify_card("not pem", sig, "abc", [ca[1]], NOW)
    with pytest.raises(InvalidRequest):
        cards.verify_card(_pem(card[1]), "***", "abc", [ca[1]], NOW)


@pytest.mark.parametrize("make", [lambda: ec.generate_private_key(ec.SECP256R1()),
                                  ed25519.Ed25519PrivateKey.generate])
def test_kiosk_request_signatures(make):
    key = make()
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    headers = signing.sign_request(key, "k1", "POST", "/api/v1/kiosk/redeem", b"{}", NOW)
    sig = base64.b64decode(headers["X-Kiosk-Signature"])
    message = signing.request_message("POST", "/api/v1/kiosk/redeem", headers["X-Kiosk-Timestamp"],
                                      headers["X-Kiosk-Nonce"], b"{}")
    assert signing.verify_request_signature(pem, message, sig)
    changed = signing.request_message("POST", "/api/v1/kiosk/redeem", headers["X-Kiosk-Timestamp"],
                                      headers["X-Kiosk-Nonce"], b"{ }")
    assert not signing.verify_request_signature(pem, changed, sig)


def test_device_keys_must_be_p256_or_ed25519():
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    for bad in (p384, "junk"):
        with pytest.raises(InvalidRequest) as err:
            signing.load_device_key(bad)
        assert err.value.fields[0]["code"] == "kiosk.key"


def test_application_codes_are_readable_and_normalised():
    code = sessions.new_application_code()
    assert len(code) == 14 and code.count("-") == 2
    assert not set(code.replace("-", "")) & set("01OIL")
    assert sessions.normalise_code(code.lower().replace("-", " ")) == code
