"""Staff accounts: Argon2id hashing, names, roles (pure parts of service.staff.accounts)."""

from __future__ import annotations

import pytest
from argon2 import extract_parameters
from argon2.low_level import Type

from service.errors import InvalidRequest
from service.staff.accounts import (
    ROLES,
    account_from_state,
    hash_password,
    normalise_username,
    parse_roles,
    staff_id_for,
    verify_password,
)


def test_argon2id_memory_hard_hash_round_trip():
    hashed = hash_password("correct horse battery staple")
    params = extract_parameters(hashed)
    assert hashed.startswith("$argon2id$")
    assert params.type is Type.ID and params.memory_cost >= 64 * 1024  # KiB
    assert verify_password(hashed, "correct horse battery staple")
    assert not verify_password(hashed, "correct horse battery stapler")
    assert hash_password("correct horse battery staple") != hashed  # salted


@pytest.mark.parametrize("bad", ["", "not a hash", "$argon2id$v=19$garbage"])
def test_verify_never_raises_on_bad_hashes(bad):
    assert verify_password(bad, "whatever password") is False


@pytest.mark.parametrize("password", ["short", "x" * 1025])
def test_password_length_policy(password):
    with pytest.raises(InvalidRequest) as err:
        hash_password(password)
    assert err.value.fields[0]["code"] == "staff.password"


def test_usernames_compare_normalised_and_ids_are_deterministic():
    assert normalise_username(" ＳＡＴＯ ") == "sato"
    assert staff_id_for("434434", "SATO") == staff_id_for("434434", "sato")
    assert staff_id_for("434434", "sato") != staff_id_for("434418", "sato")


def test_roles():
    assert parse_roles("clerk, supervisor") == {"clerk", "supervisor"}
    assert parse_roles(ROLES) == ROLES
    for bad in ("clerk,mayor", "", []):
        with pytest.raises(InvalidRequest) as err:
            parse_roles(bad)
        assert err.value.fields[0]["code"] == "staff.roles"


def test_state_drops_unknown_roles_from_replicas():
    account = account_from_state({"staff_id": "s", "town_code": "434434", "username": "a",
                                  "display_name": "A", "roles": ["clerk", "root"],
                                  "password_hash": "h", "disabled": False})
    assert account.staff.roles == {"clerk"}
    assert account.staff.public()["roles"] == ["clerk"]
