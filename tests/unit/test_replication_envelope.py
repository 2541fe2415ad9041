"""Envelopes: sign/verify for ES256 and EdDSA, tamper, unsigned, unknown key."""

import pytest

from certs.keys import SoftwareSigner
from replication import envelope
from replication.errors import BadSignature

PAYLOAD = '{"hello":"益城"}'.encode()


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_round_trip(alg):
    signer = SoftwareSigner.generate(alg)
    sealed = envelope.seal(signer, PAYLOAD)
    opened = envelope.open_envelope(sealed, envelope.static_key_lookup(signer))
    assert (opened.payload, opened.kid, opened.alg) == (PAYLOAD, signer.kid, alg)


def test_es256_signature_is_raw_r_s():
    signer = SoftwareSigner.generate("ES256")
    sig = envelope.b64url_decode(envelope.seal(signer, PAYLOAD).split(b".")[2])
    assert len(sig) == 64


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_tampered_payload_fails(alg):
    signer = SoftwareSigner.generate(alg)
    head, _, sig = envelope.seal(signer, PAYLOAD).split(b".")
    forged = b".".join([head, envelope.b64url(b'{"hello":"x"}'), sig])
    with pytest.raises(BadSignature, match="does not verify"):
        envelope.open_envelope(forged, envelope.static_key_lookup(signer))


def test_unsigned_and_unknown_key_fail():
    signer, other = SoftwareSigner.generate(), SoftwareSigner.generate("EdDSA")
    head, body, _ = envelope.seal(signer, PAYLOAD).split(b".")
    with pytest.raises(BadSignature, match="unsigned"):
        envelope.open_envelope(head + b"." + body + b".", envelope.static_key_lookup(signer))
    with pytest.raises(BadSignature, match="not a signed envelope"):
        envelope.open_envelope(PAYLOAD, envelope.static_key_lookup(signer))
    with pytest.raises(BadSignature, match="unknown kid"):
        envelope.open_envelope(head + b"." + body + b".x", envelope.static_key_lookup(other))


def test_alg_must_match_key_type():
    ed = SoftwareSigner.generate("EdDSA")
    sealed = envelope.seal(ed, PAYLOAD)
    es = SoftwareSigner.generate("ES256")
    with pytest.raises(BadSignature, match="does not match key type"):
        envelope.open_envelope(sealed, lambda kid: es.public_key())
