"""Pure domain: town codes, damage classes, 整理番号, certificate content, state."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certs.damage import DamageClass
from certs.errors import CertsError, InvalidInput, StateTransitionError
from certs.model import CertificateType
from certs.numbers import CertificateNumber
from certs.state import Issued, Revoked, Superseded, revoke, supersede
from certs.town_code import check_digit, validate_town_code
from tests.unit.certs_fixtures import MASHIKI, certificate

# --- town codes --------------------------------------------------------------------


@pytest.mark.parametrize("code", ["434434", "172049", "032107", "432113", "434418"])
def test_real_town_codes_validate(code):
    assert validate_town_code(code) == code


@pytest.mark.parametrize(
    ("code", "reason"),
    [("434435", "town_code.check_digit"), ("43443", "town_code.format"), ("43443x", "town_code.format"),
     ("４３４４３４", "town_code.format"), (434434, "town_code.format")],
)
def test_bad_town_codes_name_the_reason(code, reason):
    with pytest.raises(InvalidInput) as info:
        validate_town_code(code)
    assert info.value.code == reason and info.value.field == "town_code"


@given(st.from_regex(r"[0-9]{5}", fullmatch=True))
def test_exactly_one_check_digit_validates(body):
    valid = [d for d in range(10) if _valid(body + str(d))]
    assert valid == [check_digit(body)]


def _valid(code: str) -> bool:
    try:
        validate_town_code(code)
    except InvalidInput:
        return False
    return True


# --- damage classes ----------------------------------------------------------------

RATIO_TABLE = [(50, DamageClass.ZENKAI), (40, DamageClass.DAIKIBO_HANKAI), (30, DamageClass.CHUKIBO_HANKAI),
               (20, DamageClass.HANKAI), (10, DamageClass.JUN_HANKAI), (0, DamageClass.ICHIBU_SONKAI)]


def test_exact_boundaries():
    assert DamageClass.from_ratio(Decimal("50.0")) is DamageClass.ZENKAI
    assert DamageClass.from_ratio(Decimal("49.99")) is DamageClass.DAIKIBO_HANKAI
    assert DamageClass.from_ratio(Decimal("100")) is DamageClass.ZENKAI
    assert DamageClass.from_ratio(Decimal("9.999")) is DamageClass.ICHIBU_SONKAI
    assert DamageClass.from_flood_depth(Decimal("1.8")) is DamageClass.ZENKAI
    assert DamageClass.from_flood_depth(Decimal("1.79")) is DamageClass.DAIKIBO_HANKAI
    assert DamageClass.from_flood_depth(Decimal("1")) is DamageClass.DAIKIBO_HANKAI
    assert DamageClass.from_flood_depth(Decimal("0.5")) is DamageClass.CHUKIBO_HANKAI
    assert DamageClass.from_flood_depth(Decimal("0.49")) is DamageClass.HANKAI


@given(st.decimals(min_value=0, max_value=100, places=3))
def test_ratio_class_matches_the_table(ratio):
    expected = next(klass for threshold, klass in RATIO_TABLE if ratio >= threshold)
    assert DamageClass.from_ratio(ratio) is expected


@given(st.decimals(min_value=0, max_value=100, places=2), st.decimals(min_value=0, max_value=100, places=2))
def test_higher_ratio_never_gives_a_lower_class(a, b):
    order = list(DamageClass)  # declared from most to least severe
    low, high = sorted((a, b))
    assert order.index(DamageClass.from_ratio(high)) <= order.index(DamageClass.from_ratio(low))


@given(st.decimals(min_value=0, max_value=10, places=3))
def test_flood_depth_matches_the_shortcut(depth):
    expected = (DamageClass.ZENKAI if depth >= Decimal("1.8") else DamageClass.DAIKIBO_HANKAI if depth >= 1
                else DamageClass.CHUKIBO_HANKAI if depth >= Decimal("0.5") else DamageClass.HANKAI)
    assert DamageClass.from_flood_depth(depth) is expected


@pytest.mark.parametrize("bad", [Decimal("-0.01"), Decimal("100.01"), Decimal("NaN"), Decimal("Infinity"), 49.99, "abc", None])
def test_bad_ratios_are_refused(bad):
    with pytest.raises(InvalidInput) as info:
        DamageClass.from_ratio(bad)
    assert info.value.field == "damage_ratio"


def test_negative_depth_is_refused():
    with pytest.raises(InvalidInput, match="negative"):
        DamageClass.from_flood_depth(Decimal("-0.1"))


def test_labels_and_codes_are_stable():
    assert [c.code for c in DamageClass] == [
        "zenkai", "daikibo-hankai", "chukibo-hankai", "hankai", "jun-hankai", "ichibu-sonkai"]
    assert DamageClass.ICHIBU_SONKAI.label_ja == "準半壊に至らない（一部損壊）"
    assert DamageClass.from_code("hankai").label_en == "Half collapse"


# --- 整理番号 ------------------------------------------------------------------------

node_ids = st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,3}", fullmatch=True)
town_codes = st.sampled_from(["434434", "172049", "032107", "432113", "434418"])


@given(town_codes, node_ids, st.integers(min_value=1, max_value=10**9))
def test_number_round_trips_through_its_string(town, node, sequence):
    number = CertificateNumber(town, node, sequence)
    assert CertificateNumber.parse(str(number)) == number


@given(st.lists(st.tuples(town_codes, node_ids, st.integers(min_value=1, max_value=10**7)), min_size=2, max_size=50))
def test_numbers_from_different_nodes_or_sequences_never_collide(triples):
    # Each node numbers on its own; the string form must stay distinct across nodes.
    distinct = set(triples)
    assert len({str(CertificateNumber(*t)) for t in distinct}) == len(distinct)


@pytest.mark.parametrize("text", ["434434-wajima-1-42", "434434-wajima-1-0000042", "434434-Wajima-000001",
                                  "434434--000001", "434434-a--b-000001", "434435-a-000001", "434434-a-000000", ""])
def test_non_canonical_numbers_are_refused(text):
    with pytest.raises(InvalidInput):
        CertificateNumber.parse(text)


# --- certificate content -------------------------------------------------------------


def test_proxy_issuance_is_marked():
    assert certificate().on_behalf
    assert not certificate(node="mashiki-1", issuing_town=MASHIKI).on_behalf


@pytest.mark.parametrize(
    ("changes", "code"),
    [({"damage_class": None}, "certificate.class_missing"),
     ({"cert_type": CertificateType.HISAI}, "certificate.class_forbidden"),
     ({"householder_name": "  "}, "certificate.text"),
     ({"dwelling_address": "x" * 201}, "certificate.text"),
     ({"number": CertificateNumber("172049", "wajima-1", 1)}, "certificate.number_town"),
     ({"number": CertificateNumber("434434", "mashiki-1", 1)}, "certificate.number_node"),
     ({"supersedes": CertificateNumber("434434", "wajima-1", 42)}, "certificate.supersedes")],
)
def test_invalid_content_is_refused_with_a_code(changes, code):
    with pytest.raises(InvalidInput) as info:
        replace(certificate(), **changes)
    assert info.value.code == code


def test_hisai_certificate_has_no_class():
    cert = certificate(cert_type=CertificateType.HISAI, damage_class=None)
    assert cert.cert_type.label_ja == "被災証明書"


# --- state -------------------------------------------------------------------------

N1, N2, N3 = (CertificateNumber("434434", "mashiki-1", i) for i in (1, 2, 3))


def test_state_transitions():
    assert supersede(Issued(), N1, N2) == Superseded(N2)
    assert supersede(Superseded(N2), N1, N2) == Superseded(N2)  # same event twice
    assert revoke(Issued(), "誤発行") == Revoked("誤発行")
    assert revoke(Revoked("first"), "second") == Revoked("first")
    assert revoke(Superseded(N2), "x") == Revoked("x")


@pytest.mark.parametrize(
    ("status", "by", "code"),
    [(Revoked("x"), N2, "state.revoked"), (Superseded(N2), N3, "state.already_superseded"),
     (Issued(), N1, "state.self_supersede"), (Issued(), CertificateNumber("172049", "a", 1), "state.other_town")],
)
def test_forbidden_transitions(status, by, code):
    with pytest.raises(StateTransitionError) as info:
        supersede(status, N1, by)
    assert info.value.code == code and isinstance(info.value, CertsError)


def test_revocation_needs_a_reason():
    with pytest.raises(InvalidInput):
        revoke(Issued(), " ")
