"""A node key in a PKCS#11 token (SoftHSM2): generated there, delegated, signs, verifies offline.

Needs Debian's ``softhsm2`` and the ``python-pkcs11`` package. Without them the test is
skipped on a developer machine but FAILS in CI (env CI=true), so a broken CI image cannot
hide it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from certs.ceremony import build_federation_pki
from certs.encoding import decode_certificate, encode_certificate
from certs.errors import KeyFileError
from certs.node_keys import NODE_KEY, load_node_signer
from certs.trust_list import load_trust_list
from certs.verify import verify
from tests.unit.certs_fixtures import MASHIKI, NOW, RIKUZENTAKATA, at, certificate, federation_config

MODULES = (Path("/usr/lib/softhsm/libsofthsm2.so"), Path("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"))
TOKEN, PIN_ENV, PIN = "risai-test", "RISAI_TEST_PKCS11_PIN", "246810"


def _missing() -> str | None:
    try:
        import pkcs11  # noqa: F401
    except ImportError:
        return "python-pkcs11 is not installed (pip install python-pkcs11)"
    if not any(m.exists() for m in MODULES) or shutil.which("softhsm2-util") is None:
        return "SoftHSM2 is not installed (apt-get install softhsm2)"
    return None


@pytest.fixture(scope="module")
def token(tmp_path_factory):
    reason = _missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the PKCS#11 test: {reason}")
        pytest.skip(reason)
    from certs import pkcs11_keys

    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    saved = {k: os.environ.get(k) for k in ("SOFTHSM2_CONF", PIN_ENV)}
    # SoftHSM2 reads SOFTHSM2_CONF when the library is first initialised in this process.
    os.environ.update({"SOFTHSM2_CONF": str(conf), PIN_ENV: PIN})
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", "13579111"],
                   check=True, capture_output=True)
    yield next(str(m) for m in MODULES if m.exists())
    pkcs11_keys.close_sessions()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def federation(token, tmp_path_factory):
    from certs.pkcs11_keys import Pkcs11Config, generate_token_key

    out = tmp_path_factory.mktemp("fed")
    configs = {}
    for node, alg in (("wajima-1", "ES256"), ("rikuzentakata-1", "EdDSA")):
        configs[node] = Pkcs11Config(token, TOKEN, f"{node}-key", PIN_ENV, alg)
        generate_token_key(configs[node], out / "nodes" / node)  # the ceremony only sees node.pub.pem
    build_federation_pki(federation_config(), out, NOW)
    return out, configs


@pytest.mark.parametrize("node,town", [("wajima-1", None), ("rikuzentakata-1", RIKUZENTAKATA)])
def test_token_key_signs_a_certificate_that_verifies_offline(federation, node, town):
    from certs.pkcs11_keys import Pkcs11Signer

    out, configs = federation
    signer = load_node_signer(out / "nodes" / node, MASHIKI.code, NOW)
    assert isinstance(signer, Pkcs11Signer) and signer.alg == configs[node].alg
    assert not (out / "nodes" / node / NODE_KEY).exists()
    cert = certificate(node=node, issuing_town=town) if town else certificate()
    qr = encode_certificate(cert, signer, NOW)
    verdict = verify(qr, load_trust_list(out / "trust-list.cbor"), at())  # nothing but the saved trust list
    assert verdict.ok, verdict.checks
    assert decode_certificate(qr).sign1.kid == signer.kid


def test_private_key_stays_in_the_token(federation):
    from pkcs11 import Attribute, ObjectClass

    from certs.pkcs11_keys import _object

    _, configs = federation
    key = _object(configs["wajima-1"], ObjectClass.PRIVATE_KEY)
    assert key[Attribute.SENSITIVE] and not key[Attribute.EXTRACTABLE] and key[Attribute.NEVER_EXTRACTABLE]


def test_a_second_key_with_the_same_label_is_refused(federation, tmp_path):
    from certs.pkcs11_keys import generate_token_key

    _, configs = federation
    with pytest.raises(KeyFileError) as error:
        generate_token_key(configs["wajima-1"], tmp_path)
    assert error.value.code == "key.exists"
