"""Card backends behind one interface: a software card in a PKCS#12 file, or a key in a
PKCS#11 token (SoftHSM2 in tests). Each signs a challenge with ECDSA P-256 / SHA-256 and
returns the raw r‖s signature, after the resident's PIN unlocks the key.

Like the My Number card's user-authentication PIN, a card locks after MAX_TRIES wrong PINs
in a row; the count is kept beside the card (``<file>.tries``) so restarting the bridge
does not reset it. A real JPKI card needs another backend (docs/kiosk.md, "A real card").
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import pkcs12

MAX_TRIES = 3


class CardProblem(Exception):
    """Why a card could not sign: ``code`` is card.absent, card.pin, card.locked or card.error."""

    def __init__(self, code: str, message: str, tries_left: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.tries_left = code, message, tries_left


class Card(Protocol):
    """What the bridge needs of a card reader with a card."""

    name: str

    def present(self) -> bool:
        """Whether a card is in (on) the reader."""

    def sign(self, message: bytes, pin: str) -> tuple[bytes, str]:
        """(raw r‖s ECDSA P-256 SHA-256 signature over ``message``, the card's certificate PEM)."""


@dataclasses.dataclass
class PinCounter:
    """Wrong PINs in a row, kept in a file beside the card."""

    path: Path

    def wrong(self) -> int:
        try:
            return int(self.path.read_text())
        except (OSError, ValueError):
            return 0

    def check(self) -> None:
        if self.wrong() >= MAX_TRIES:
            raise CardProblem("card.locked", "the card is locked after too many wrong PINs; "
                              "the town office can reset it")

    def failed(self) -> CardProblem:
        count = self.wrong() + 1
        self.path.write_text(str(count))
        if count >= MAX_TRIES:
            return CardProblem("card.locked", "wrong PIN; the card is now locked", 0)
        return CardProblem("card.pin", "wrong PIN", MAX_TRIES - count)

    def reset(self) -> None:
        self.path.unlink(missing_ok=True)


def _raw(der: bytes) -> bytes:
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


class Pkcs12Card:
    """A software card: a PKCS#12 file (key + user-authentication certificate) whose password
    is the PIN. The file being there is the card being on the reader. For tests and demos
    only: a 4-digit password protects nothing against someone who copies the file."""

    def __init__(self, path: Path) -> None:
        self.path, self.name = Path(path), f"pkcs12:{Path(path).name}"
        self.tries = PinCounter(self.path.with_name(self.path.name + ".tries"))

    def present(self) -> bool:
        return self.path.is_file()

    def sign(self, message: bytes, pin: str) -> tuple[bytes, str]:
        if not self.present():
            raise CardProblem("card.absent", "no card on the reader")
        self.tries.check()
        try:
            key, cert, _ = pkcs12.load_key_and_certificates(self.path.read_bytes(), pin.encode())
        except ValueError:
            raise self.tries.failed() from None
        self.tries.reset()
        if not isinstance(key, ec.EllipticCurvePrivateKey) or cert is None:
            raise CardProblem("card.error", "the card holds no P-256 key and certificate")
        signature = _raw(key.sign(message, ec.ECDSA(hashes.SHA256())))
        return signature, cert.public_bytes(serialization.Encoding.PEM).decode()


class Pkcs11Card:
    """A key in a PKCS#11 token (SoftHSM2, or a token whose library speaks PKCS#11) with its
    certificate in a PEM file; the token's user PIN is the card PIN. As for the node's token
    keys (certs.pkcs11_keys), SHA-256 is hashed here and the digest signed with CKM_ECDSA,
    whose output is raw r‖s already."""

    def __init__(self, module: str, token_label: str, key_label: str, certificate: Path) -> None:
        self.module, self.token_label, self.key_label = module, token_label, key_label
        self.certificate = Path(certificate)
        self.name = f"pkcs11:{token_label}/{key_label}"
        self.tries = PinCounter(self.certificate.with_name(self.certificate.name + ".tries"))

    def _token(self):
        import pkcs11  # lazily: a bridge with a PKCS#12 card needs no PKCS#11 library

        lib = pkcs11.lib(self.module)
        try:
            return lib.get_token(token_label=self.token_label)
        except (pkcs11.NoSuchToken, pkcs11.MultipleTokensReturned):
            return None

    def present(self) -> bool:
        return self.certificate.is_file() and self._token() is not None

    def sign(self, message: bytes, pin: str) -> tuple[bytes, str]:
        import pkcs11

        token = self._token()
        if token is None or not self.certificate.is_file():
            raise CardProblem("card.absent", "no card on the reader")
        self.tries.check()
        try:
            session = token.open(user_pin=pin)
        except (pkcs11.PinIncorrect, pkcs11.PinLenRange, pkcs11.PinInvalid):
            raise self.tries.failed() from None
        self.tries.reset()
        with session:
            key = session.get_key(pkcs11.KeyType.EC, pkcs11.ObjectClass.PRIVATE_KEY, label=self.key_label)
            signature = key.sign(hashlib.sha256(message).digest(), mechanism=pkcs11.Mechanism.ECDSA)
        return bytes(signature), self.certificate.read_text()


def open_card(spec: str) -> Card:
    """A card from its command-line form: ``pkcs12:<file>`` or
    ``pkcs11:<module>,<token label>,<key label>,<certificate PEM file>``."""
    kind, _, rest = spec.partition(":")
    if kind == "pkcs12" and rest:
        return Pkcs12Card(Path(rest))
    if kind == "pkcs11" and rest.count(",") == 3:
        module, token, key, cert = rest.split(",")
        return Pkcs11Card(module, token, key, Path(cert))
    raise ValueError(f"--card must be pkcs12:<file> or pkcs11:<module>,<token>,<key>,<cert.pem>, not {spec!r}")


def write_software_card(path: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate, pin: str) -> Path:
    """Write a software card (PKCS#12, the PIN as its password)."""
    data = pkcs12.serialize_key_and_certificates(b"risai card", key, cert, None,
                                                 serialization.BestAvailableEncryption(pin.encode()))
    path.write_bytes(data)
    path.chmod(0o600)
    return path
