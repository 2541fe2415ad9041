"""Encoding: CBOR claims → COSE_Sign1 → zlib → base45 → JPRC1: string → QR."""

from __future__ import annotations

import zlib
from dataclasses import replace
from datetime import date, datetime, timezone

import base45
import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certs.boxes import PRINTED_ONLY, PrintedBoxes
from certs.claims import SCHEMA_VERSION
from certs.cose import parse_sign1
from certs.damage import DamageClass
from certs.encoding import (
    PREFIX,
    b45decode,
    cose_to_qr_string,
    decode_certificate,
    encode_certificate,
    make_qr,
    qr_string_to_cose,
)
from certs.errors import VerificationError
from certs.keys import EDDSA, ES256, SoftwareSigner, generate_private_key, verify_signature
from certs.model import Certificate, CertificateType, Disaster, Flooding, HouseholdMember, IssuingPlace, Town
from certs.numbers import CertificateNumber
from tests.unit.certs_fixtures import NOW, certificate, worst_case_certificate

SIGNERS = {alg: SoftwareSigner(generate_private_key(alg), b"kid-" + alg.encode()[:4]) for alg in (ES256, EDDSA)}

# Text a form may hold: kanji, kana, full-width and ASCII, no control characters.
text = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), min_size=1, max_size=40).filter(str.strip)
node = st.from_regex(r"[a-z0-9]{1,6}(-[a-z0-9]{1,4}){0,2}", fullmatch=True)
towns = st.sampled_from([Town("434434", "益城町", "山田 太郎"), Town("172049", "輪島市", "佐藤 花子")])
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))


@st.composite
def certificates(draw) -> Certificate:
    town, node_id, cert_type = draw(towns), draw(node), draw(st.sampled_from(CertificateType))
    disaster_date = draw(days)
    dwelling = draw(text)
    return Certificate(
        number=CertificateNumber(town.code, node_id, draw(st.integers(1, 10**8))),
        cert_type=cert_type,
        householder_address=draw(st.one_of(st.just(dwelling), text)),
        householder_name=draw(text),
        disaster=Disaster(draw(text), disaster_date),
        dwelling_address=dwelling,
        damage_class=draw(st.sampled_from(DamageClass)) if cert_type is CertificateType.RISAI else None,
        competent_town=town,
        issuing=IssuingPlace(node_id, draw(st.sampled_from(["434434", "172049"])), draw(text), draw(st.none() | text)),
        issue_date=draw(st.dates(min_value=disaster_date, max_value=date(2100, 1, 1))),
        members=tuple(draw(st.lists(st.builds(HouseholdMember, text, text), max_size=8))),
        flooding=draw(st.none() | st.sampled_from(Flooding)),
        other_damage=draw(st.none() | text),
        supersedes=draw(st.none() | st.builds(CertificateNumber, st.just(town.code), st.just("other"), st.integers(1, 99))),
    )


@settings(max_examples=150, deadline=None)
@given(certificates(), st.sampled_from([ES256, EDDSA]), st.integers(0, 2**33))
def test_round_trip(cert, alg, epoch):
    signed_at = datetime.fromtimestamp(epoch, timezone.utc)
    qr = encode_certificate(cert, SIGNERS[alg], signed_at)
    assert qr.startswith(PREFIX) and set(qr) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    decoded = decode_certificate(qr, PrintedBoxes.of(cert))
    assert decoded.certificate == cert and decoded.signed_at == signed_at and decoded.boxes_checked
    assert decoded.version == SCHEMA_VERSION
    bare = decode_certificate(qr).certificate  # what the QR alone carries
    assert bare.members == () and bare.other_damage is None and bare.issuing.place is None
    assert bare.householder_address in (cert.householder_address, PRINTED_ONLY)
    assert PrintedBoxes.of(cert).apply(bare) == cert
    message = decoded.sign1
    assert message.alg == alg and message.kid == SIGNERS[alg].kid
    assert verify_signature(SIGNERS[alg]._key.public_key(), alg, message.to_be_signed(), message.signature)


def test_es256_signature_is_raw_r_s():
    message = parse_sign1(qr_string_to_cose(encode_certificate(certificate(), SIGNERS[ES256], NOW)))
    assert len(message.signature) == 64 and cbor2.loads(message.protected) == {1: -7, 4: SIGNERS[ES256].kid}


def test_realistic_certificate_fits_qr_version_15_level_m():
    qr = make_qr(encode_certificate(certificate(), SIGNERS[ES256], NOW))
    assert qr.version <= 15 and qr.error in ("M", "Q", "H") and qr.mode == "alphanumeric"


def test_worst_case_fits_version_15():
    qr = make_qr(encode_certificate(worst_case_certificate(), SIGNERS[ES256], NOW))
    assert qr.version <= 15 and qr.error in ("M", "Q", "H")


def test_other_printed_text_fails_the_box_check():
    cert = worst_case_certificate()
    qr = encode_certificate(cert, SIGNERS[EDDSA], NOW)
    boxes = PrintedBoxes.of(cert)
    for changed in (replace(boxes, members=boxes.members[:-1]), replace(boxes, other_damage="なし"),
                    replace(boxes, place=None), replace(boxes, householder_address=cert.dwelling_address),
                    replace(boxes, members=tuple(reversed(boxes.members)))):
        with pytest.raises(VerificationError) as error:
            decode_certificate(qr, changed)
        assert error.value.code == "boxes.mismatch"
    assert decode_certificate(qr, boxes).certificate == cert


def test_householder_address_leaves_the_qr_only_when_needed():
    cert = worst_case_certificate()
    kept = decode_certificate(encode_certificate(cert, SIGNERS[EDDSA], NOW)).certificate
    assert kept.householder_address == cert.householder_address
    huge = replace(cert, householder_address="".join(chr(0x4E00 + 37 * i) for i in range(90)))  # no real address
    qr = encode_certificate(huge, SIGNERS[EDDSA], NOW)
    assert decode_certificate(qr).certificate.householder_address == PRINTED_ONLY and make_qr(qr).version <= 15
    assert decode_certificate(qr, PrintedBoxes.of(huge)).certificate == huge
    with pytest.raises(VerificationError):  # the address is bound by the digest
        decode_certificate(qr, replace(PrintedBoxes.of(huge), householder_address=cert.householder_address))


def test_oversized_text_still_makes_a_qr():
    long = "".join(chr(0x4E00 + 37 * i) for i in range(200))  # distinct kanji: nothing to compress
    cert = replace(worst_case_certificate(), dwelling_address=long, householder_name=long)
    qr = make_qr(encode_certificate(cert, SIGNERS[ES256], NOW))
    assert 15 < qr.version <= 40 and qr.error in ("M", "Q", "H")


def _cose() -> bytes:
    return qr_string_to_cose(encode_certificate(certificate(), SIGNERS[EDDSA], NOW))


def _with_unprotected(c: bytes) -> bytes:
    protected, _, payload, signature = cbor2.loads(c).value
    return cbor2.dumps(cbor2.CBORTag(18, [protected, {4: b"other"}, payload, signature]))


@pytest.mark.parametrize(
    "mangle",
    [lambda c: c + b"\x00", lambda c: c[:-1], lambda c: cbor2.dumps(cbor2.CBORTag(98, cbor2.loads(c).value)),
     lambda c: cbor2.dumps([1, 2, 3, 4]), _with_unprotected, lambda c: b"", lambda c: b"\xd2" * 5000],
)
def test_structurally_wrong_cose_is_rejected(mangle):
    with pytest.raises(VerificationError):
        decode_certificate(mangle(_cose()))


def test_untagged_cose_sign1_is_accepted():
    assert decode_certificate(_cose()[1:], PrintedBoxes.of(certificate())).certificate == certificate()


def test_trailing_zlib_bytes_and_other_headers_are_rejected():
    compressed = zlib.compress(_cose(), 9)
    for bad in (compressed + b"\x00", zlib.compress(_cose(), 1), compressed[:-1]):
        with pytest.raises(VerificationError):
            qr_string_to_cose(PREFIX + base45.b45encode(bad).decode())


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_cose_raises_only_the_library_error(data):
    cose = bytearray(_cose())
    for _ in range(data.draw(st.integers(1, 4))):
        cose[data.draw(st.integers(0, len(cose) - 1))] = data.draw(st.integers(0, 255))
    try:
        decode_certificate(cose_to_qr_string(bytes(cose)))
    except VerificationError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_fast_base45_decoder_agrees_with_the_base45_package(data):
    assert b45decode(base45.b45encode(data).decode()) == data


@pytest.mark.parametrize("text", ["A", "ABCD", "GGW", ":::", "::", "ab", "A\u00e9B", "AB~"])
def test_fast_base45_decoder_rejects_what_the_package_rejects(text):
    with pytest.raises(ValueError):
        base45.b45decode(text)
    with pytest.raises(ValueError):
        b45decode(text)
