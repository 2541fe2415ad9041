"""Applicant details: 続柄, phone numbers as typed at a counter, and the 委任状 rule."""

from __future__ import annotations

import pytest

from service.counter.applicants import Agent, ApplicantDetails, details_for, normalise_phone
from service.errors import InvalidRequest


@pytest.mark.parametrize("typed, stored", [("096-123-4567", "0961234567"), ("０９０（１２３４）５６７８", "09012345678"),
                                           ("+81 90 1234 5678", "+819012345678")])
def test_phone_numbers_fold_width_hyphens_and_spaces(typed, stored):
    assert normalise_phone(typed, "phone") == stored


@pytest.mark.parametrize("typed", ["123", "096-abc-4567", "0" * 16])
def test_a_phone_number_that_is_not_one_is_refused(typed):
    with pytest.raises(InvalidRequest) as err:
        normalise_phone(typed, "applicant.phone")
    assert err.value.code == "applicant.phone" and err.value.problems[0].field == "applicant.phone"


def test_a_householder_applying_is_recorded_as_the_householder():
    assert details_for(None, is_householder=True).relationship == "householder"
    assert details_for(None, is_householder=False).relationship is None
    with pytest.raises(InvalidRequest) as err:
        details_for(ApplicantDetails("householder"), is_householder=False)
    assert err.value.code == "applicant.not_householder"


@pytest.mark.parametrize("relation, attorney, ok", [("household", False, True), ("relative", False, False),
                                                    ("legal", False, False), ("other", True, True)])
def test_only_a_relative_of_the_same_household_needs_no_letter_of_attorney(relation, attorney, ok):
    details = ApplicantDetails("spouse", agent=Agent("代理 花子", relation, None, attorney))
    if ok:
        assert details_for(details, is_householder=False).agent.relation == relation
    else:
        with pytest.raises(InvalidRequest) as err:
            details_for(details, is_householder=False)
        assert err.value.code == "applicant.power_of_attorney"


def test_delivery_by_post_needs_the_address_to_post_it_to():
    with pytest.raises(InvalidRequest) as err:
        details_for(ApplicantDetails("householder", delivery="mail"), is_householder=True)
    assert err.value.code == "applicant.mail_address"
    mailed = details_for(ApplicantDetails(None, contact_address="熊本市中央区1-1", delivery="mail"), is_householder=True)
    assert mailed.to_state()["delivery"] == "mail"
