"""The keyring's key-folder cache: loaded once, reloaded when a file changes (issue 10)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from certs import node_keys
from certs.ceremony import build_federation_pki
from certs.errors import KeyFileError
from certs.federation import load_federation
from service.keyring import KeyFolderCache

NOW = dt.datetime(2024, 1, 20, 3, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("pki")
    build_federation_pki(load_federation(Path("deploy/federation.toml")), out, NOW - dt.timedelta(days=1))
    return out / "nodes" / "wajima-1"


def test_loaded_once_then_reloaded_when_a_delegation_goes(key_dir, tmp_path, monkeypatch):
    folder = tmp_path / "keys"
    shutil.copytree(key_dir, folder)
    loads = []
    real = node_keys.load_node_signers
    monkeypatch.setattr("service.keyring.load_node_signers", lambda d: loads.append(d) or real(d))
    clock = [0.0]
    cache = KeyFolderCache(clock=lambda: clock[0])
    delegations, signers = cache.current(folder)
    assert "434434" in delegations and "434434" in signers
    for _ in range(100):
        cache.current(folder)
    assert len(loads) == 1  # not once per issuance

    clock[0] += 2  # the folder is looked at again, unchanged: no reload
    cache.current(folder)
    assert len(loads) == 1

    os.remove(folder / "delegations" / "434434.pem")
    cache.current(folder)
    assert len(loads) == 1  # within the second: not looked at yet
    clock[0] += 1.1
    delegations, _ = cache.current(folder)
    assert "434434" not in delegations and len(loads) == 2


def test_keyring_signer_for_answers_as_load_node_signer(key_dir):
    from service.keyring import Keyring

    ring = Keyring(key_dir, "172049", {}, trust_list=None)
    assert ring.signer_for("434434", NOW).kid == node_keys.load_node_signer(key_dir, "434434", NOW).kid
    with pytest.raises(KeyFileError) as refused:
        ring.signer_for("434418", NOW)
    assert refused.value.code == "key.no_delegation"
    with pytest.raises(KeyFileError) as expired:
        ring.signer_for("434434", NOW + dt.timedelta(days=3650))
    assert expired.value.code == "key.delegation_expired"
