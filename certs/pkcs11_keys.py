"""A node key held in a PKCS#11 token (an HSM; SoftHSM2 in tests): generated there, never exported.

A key folder opts in with ``pkcs11.toml`` next to ``delegations/``::

    module = "/usr/lib/softhsm/libsofthsm2.so"   # the token's PKCS#11 library
    token_label = "risai-wajima-1"
    key_label = "node"
    pin_env = "RISAI_PKCS11_PIN"                  # the user PIN comes from this variable
    alg = "ES256"                                 # or "EdDSA"

``generate_token_key`` creates the key pair inside the token (private half sensitive and
not extractable) and writes only ``node.pub.pem``, which the ceremony turns into
delegations as for any node key. ``node_keys.load_node_signers`` then returns
``Pkcs11Signer``s.

Signing: Ed25519 is CKM_EDDSA over the Sig_structure. For ES256 SoftHSM2 (like many tokens)
has no CKM_ECDSA_SHA256, so we hash with SHA-256 here and sign the digest with plain
CKM_ECDSA; its raw r‖s output is already the COSE form.

python-pkcs11 is imported lazily, so nodes without a token need neither the package nor a
PKCS#11 library.
"""

from __future__ import annotations

import hashlib
import os
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from .errors import KeyFileError
from .keys import ALGORITHMS, EDDSA, ES256, PublicKey, public_key_pem

PKCS11_CONFIG = "pkcs11.toml"
_OID_ED25519 = "1.3.101.112"
_SESSIONS: dict[tuple[str, str], Any] = {}  # one logged-in session per (module, token)
_SESSIONS_LOCK = threading.Lock()


@dataclass(frozen=True)
class Pkcs11Config:
    """Where a node's token key lives (read from ``pkcs11.toml``)."""

    module: str
    token_label: str
    key_label: str
    pin_env: str = "RISAI_PKCS11_PIN"
    alg: str = ES256

    @classmethod
    def load(cls, key_dir: Path) -> Pkcs11Config | None:
        """The key folder's token configuration, or None if it holds a software key."""
        path = Path(key_dir) / PKCS11_CONFIG
        if not path.exists():
            return None
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            config = cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise KeyFileError("key.pkcs11_config", f"{path} is not a valid token configuration: {exc}", "key_dir") from None
        if config.alg not in ALGORITHMS:
            raise KeyFileError("key.alg", f"{path}: alg must be one of {ALGORITHMS}", "key_dir")
        return config

    def save(self, key_dir: Path) -> Path:
        """Write ``pkcs11.toml`` into ``key_dir`` (no secret in it: the PIN stays in the environment)."""
        path = Path(key_dir) / PKCS11_CONFIG
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [f'{name} = "{value}"' for name, value in vars(self).items()]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def pin(self) -> str:
        """The user PIN from the environment variable ``pin_env``."""
        pin = os.environ.get(self.pin_env)
        if not pin:
            raise KeyFileError("key.pkcs11_pin", f"set the token PIN in ${self.pin_env}", "pin_env")
        return pin


class Pkcs11Signer:
    """A Signer whose private key stays in a PKCS#11 token."""

    def __init__(self, config: Pkcs11Config, private_key: Any, kid: bytes) -> None:
        self.alg = config.alg
        self.kid = bytes(kid)
        self._key = private_key
        self._lock = threading.Lock()  # a PKCS#11 session runs one operation at a time

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` in COSE form (64 bytes) inside the token."""
        from pkcs11 import Mechanism

        with self._lock:
            if self.alg == EDDSA:
                return bytes(self._key.sign(data, mechanism=Mechanism.EDDSA))
            return bytes(self._key.sign(hashlib.sha256(data).digest(), mechanism=Mechanism.ECDSA))

    def __repr__(self) -> str:
        return f"Pkcs11Signer(alg={self.alg!r}, kid={self.kid.hex()!r})"


def generate_token_key(config: Pkcs11Config, key_dir: Path) -> PublicKey:
    """Create the node's key pair in the token and write ``node.pub.pem`` and ``pkcs11.toml``.

    Refuses if the token already holds a key with that label (no silent replacement).
    """
    from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
    from pkcs11.util.ec import encode_named_curve_parameters

    session = _session(config)
    if list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.LABEL: config.key_label})):
        raise KeyFileError("key.exists", f"token {config.token_label} already holds key {config.key_label!r}", "key_label")
    private = {Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.SIGN: True}
    if config.alg == EDDSA:
        params = {Attribute.EC_PARAMS: encode_named_curve_parameters(_OID_ED25519)}
        domain = session.create_domain_parameters(KeyType.EC_EDWARDS, params, local=True)
        domain.generate_keypair(store=True, label=config.key_label, private_template=private,
                                mechanism=Mechanism.EC_EDWARDS_KEY_PAIR_GEN)
    else:
        params = {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}
        domain = session.create_domain_parameters(KeyType.EC, params, local=True)
        domain.generate_keypair(store=True, label=config.key_label, private_template=private)
    public = token_public_key(config)
    config.save(key_dir)
    from .node_keys import NODE_PUB

    (Path(key_dir) / NODE_PUB).write_bytes(public_key_pem(public))
    return public


def token_public_key(config: Pkcs11Config) -> PublicKey:
    """The public half of the token key, as a ``cryptography`` key."""
    from pkcs11 import Attribute, ObjectClass

    public = _object(config, ObjectClass.PUBLIC_KEY)
    point = _der_octet_string(bytes(public[Attribute.EC_POINT]), 32 if config.alg == EDDSA else 65)
    if config.alg == EDDSA:
        return ed25519.Ed25519PublicKey.from_public_bytes(point)
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)


def token_signer(config: Pkcs11Config, kid: bytes) -> Pkcs11Signer:
    """A Signer for the token key under delegation ``kid``."""
    from pkcs11 import ObjectClass

    return Pkcs11Signer(config, _object(config, ObjectClass.PRIVATE_KEY), kid)


def _object(config: Pkcs11Config, object_class: Any) -> Any:
    from pkcs11 import Attribute

    found = list(_session(config).get_objects({Attribute.CLASS: object_class, Attribute.LABEL: config.key_label}))
    if len(found) != 1:
        raise KeyFileError("key.pkcs11_key", f"token {config.token_label} holds {len(found)} keys "
                           f"labelled {config.key_label!r} (expected 1)", "key_label")
    return found[0]


def _session(config: Pkcs11Config) -> Any:
    # Logging in costs a PIN check in the token; one session per token is kept for the
    # life of the process, as the service loads signers on every issuance.
    import pkcs11

    key = (config.module, config.token_label)
    with _SESSIONS_LOCK:
        if key not in _SESSIONS:
            try:
                token = pkcs11.lib(config.module).get_token(token_label=config.token_label)
                _SESSIONS[key] = token.open(rw=True, user_pin=config.pin())
            except (pkcs11.PKCS11Error, RuntimeError, OSError) as exc:
                raise KeyFileError("key.pkcs11_token", f"cannot open token {config.token_label!r} via "
                                   f"{config.module}: {type(exc).__name__} {exc}", "token_label") from None
        return _SESSIONS[key]


def close_sessions() -> None:
    """Log out of every token opened by this process (tests, shutdown)."""
    with _SESSIONS_LOCK:
        for session in _SESSIONS.values():
            session.close()
        _SESSIONS.clear()


def _der_octet_string(data: bytes, size: int) -> bytes:
    # CKA_EC_POINT is a DER OCTET STRING around the point (PKCS#11 2.40); some tokens
    # return the bare point. Both are told apart by length alone.
    if len(data) == size + 2 and data[:2] == bytes([0x04, size]):
        return data[2:]
    if len(data) != size:
        raise KeyFileError("key.pkcs11_key", f"unexpected EC point of {len(data)} bytes in the token", "key_label")
    return data
