"""Issuance use case against a tiny in-memory fake of IssuanceStore (no database)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from pathlib import Path

import pytest

from certs.ceremony import build_federation_pki
from certs.federation import load_federation
from certs.node_keys import load_node_signer
from certs.trust_list import load_trust_list
from certs.verify import verify
from replication.events import Change
from service.counter.issuance import IssuanceContext, issue_certificate
from service.errors import Conflict, NotFound

NOW = dt.datetime(2024, 1, 20, 3, 0, tzinfo=dt.timezone.utc)


class FakeStore:
    """Dicts for entities and intents (both roll back with a transaction); the open-intent
    rule of issuance_intents_open."""

    def __init__(self) -> None:
        self.entities: dict[tuple[str, str], dict] = {}
        self.intents: dict[str, dict] = {}
        self.sequence = 0
        self.fail_put: str | None = None
        self.records: list[list[str]] = []  # entity types of each record() call

    def connect(self):
        return _Opened(self)

    @contextlib.asynccontextmanager
    async def transaction(self):
        saved = dict(self.entities), {k: dict(v) for k, v in self.intents.items()}
        try:
            yield
        except BaseException:
            self.entities, self.intents = saved
            raise

    async def get(self, entity_type, entity_id, *, for_update=False):
        return self.entities.get((entity_type, entity_id))

    async def get_refs(self, refs):
        return {r: self.entities[r] for r in refs if r in self.entities}

    async def load(self, record_type, entity_id, *, for_update=False):
        state = self.entities.get((record_type.entity_type, entity_id))
        return record_type.from_state(state) if state is not None else None

    def change_of(self, record, *, insert_only=False):
        return Change(record.entity_type, record.entity_id, record.to_state(), insert_only)

    async def record(self, changes):
        self.records.append([c.entity_type for c in changes])
        if self.fail_put in {c.entity_type for c in changes}:
            raise RuntimeError("insert failed on purpose")
        for c in changes:
            self.entities[(c.entity_type, c.entity_id)] = c.state
        return [("event", c.entity_type, c.entity_id) for c in changes]

    def audit_change(self, **fields):
        return Change("audit", f"audit-{len(self.entities)}", fields, insert_only=True)

    async def reserve_number(self, node_id):
        self.sequence += 1
        return self.sequence

    async def open_intent(self, number, application_id, purpose, staff_id, issuer):
        if any(i["application_id"] == application_id and i["state"] == "open" for i in self.intents.values()):
            return False
        self.intents[number] = {"application_id": application_id, "state": "open", "issuer": issuer}
        return True

    async def close_intent(self, number, *, abandoned=None):
        if self.intents[number]["state"] != "open":
            return False
        self.intents[number]["state"] = "abandoned" if abandoned else "completed"
        return True

    async def abandon_stale_intents(self, application_id, reason, *, older_than_s, issuer):
        left = [i for i in self.intents.values()
                if i["application_id"] == application_id and i["state"] == "open" and i.get("issuer") == issuer]
        for intent in left:
            intent["state"] = "abandoned"
        return len(left)


class _Opened:
    """What ``connect()`` returns: the store itself, counting how many are open at once."""

    open_now = 0
    most_open = 0

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def __aenter__(self) -> FakeStore:
        _Opened.open_now += 1
        _Opened.most_open = max(_Opened.most_open, _Opened.open_now)
        return self.store

    async def __aexit__(self, *exc) -> None:
        _Opened.open_now -= 1


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    out = tmp_path_factory.mktemp("pki")
    trust = build_federation_pki(load_federation(Path("deploy/federation.toml")), out, NOW - dt.timedelta(days=1))
    return out, trust


def _store() -> FakeStore:
    store = FakeStore()
    e = store.entities
    e[("household", "H1")] = {"household_id": "H1", "town_code": "434434", "householder_id": "R1",
                              "address": "熊本県益城町宮園1番地"}
    e[("resident", "R1")] = {"resident_id": "R1", "family_name": "山田", "given_name": "花子"}
    e[("dwelling", "D1")] = {"dwelling_id": "D1", "location": "熊本県益城町宮園1番地"}
    e[("survey", "S1")] = {"survey_id": "S1", "dwelling_id": "D1", "kind": "first", "surveyor": "調査 一郎",
                           "surveyed_on": "2024-01-05", "damage_ratio": "45", "flood_depth_m": None,
                           "photo_sha256": [], "notes": ""}
    e[("application", "A1")] = {
        "application_id": "A1", "kind": "risai", "status": "judged", "competent_town": "434434",
        "applicant_town": "434434", "household_id": "H1", "dwelling_id": "D1", "survey_id": "S1",
        "damage_class": "daikibo-hankai", "disaster": {"name": "熊本地震", "date": "2024-01-01"},
        "current_certificate": None, "certificates": [], "history": [], "property": None,
        "received_at": "2024-01-10T01:00:00+00:00"}
    return store


def _ctx(pki, **kw) -> IssuanceContext:
    out, trust = pki
    towns = {t.code: (t.name, t.mayor) for t in trust.towns}
    return IssuanceContext(node_id="wajima-1", node_town="172049", staff_id="s1", staff_town="172049",
                           signer_for=lambda town, now: load_node_signer(out / "nodes" / "wajima-1", town, now),
                           town_info=towns.get, audit_reason=lambda: "避難者の申請", **kw)


async def test_issue_signs_in_the_competent_towns_name_and_is_idempotent(pki):
    store = _store()
    result = await issue_certificate(store.connect, _ctx(pki), "A1", NOW)
    assert result.number == "434434-wajima-1-000001" and not result.existing
    assert result.replication == "not configured"
    trust = load_trust_list(pki[0] / "trust-list.cbor")
    verdict = verify(result.certificate.qr, trust, NOW)
    assert verdict.ok and verdict.certificate.competent_town.mayor == "山田 太郎" and verdict.certificate.on_behalf
    assert store.intents["434434-wajima-1-000001"]["state"] == "completed"
    assert any(k[0] == "audit" for k in store.entities)  # B's staff acted on A's data
    again = await issue_certificate(store.connect, _ctx(pki), "A1", NOW)
    assert again.existing and again.number == result.number and store.sequence == 1


async def test_concurrent_issuers_wait_for_each_other(pki):
    store = _store()

    async def slow() -> None:
        await asyncio.sleep(0.05)

    results = await asyncio.gather(*(issue_certificate(store.connect, _ctx(pki, before_store=slow), "A1", NOW)
                                     for _ in range(3)))
    assert len({r.number for r in results}) == 1 and sum(not r.existing for r in results) == 1


async def test_a_failed_store_abandons_the_intent_and_keeps_the_application(pki):
    store = _store()
    store.fail_put = "certificate"
    with pytest.raises(RuntimeError):
        await issue_certificate(store.connect, _ctx(pki), "A1", NOW)
    assert store.intents["434434-wajima-1-000001"]["state"] == "abandoned"
    assert store.entities[("application", "A1")]["status"] == "judged"
    store.fail_put = None
    result = await issue_certificate(store.connect, _ctx(pki), "A1", NOW)
    assert result.number == "434434-wajima-1-000002"  # a used number is never handed out again


async def test_not_ready_and_unknown_applications(pki):
    store = _store()
    store.entities[("application", "A1")]["status"] = "received"
    with pytest.raises(Conflict):
        await issue_certificate(store.connect, _ctx(pki), "A1", NOW)
    with pytest.raises(NotFound):
        await issue_certificate(store.connect, _ctx(pki), "nope", NOW)
    assert store.sequence == 0


async def test_step_5_is_one_record_call_with_the_certificate_application_and_audit(pki):
    store = _store()
    await issue_certificate(store.connect, _ctx(pki), "A1", NOW)
    assert store.records == [["certificate", "application", "audit"]]


async def test_the_acknowledgement_wait_holds_no_connection(pki):
    store = _store()
    seen = []

    async def acknowledge(event) -> str:
        seen.append(_Opened.open_now)
        return "acknowledged"

    result = await issue_certificate(store.connect, _ctx(pki, acknowledge=acknowledge), "A1", NOW)
    assert seen == [0] and result.replication == "acknowledged"


async def test_issuers_of_one_application_wait_without_a_connection(pki):
    store = _store()
    _Opened.most_open = 0

    async def slow() -> None:
        await asyncio.sleep(0.02)

    results = await asyncio.gather(*(issue_certificate(store.connect, _ctx(pki, before_store=slow), "A1", NOW)
                                     for _ in range(8)))
    assert _Opened.most_open == 1  # the seven others waited holding nothing
    assert sum(not r.existing for r in results) == 1 and store.sequence == 1


async def test_another_processs_open_intent_is_waited_for_then_refused_cleanly(pki, monkeypatch):
    from service.counter import issuance
    from service.errors import Unavailable

    monkeypatch.setattr(issuance, "IN_PROGRESS_WAIT_S", 0.2)
    store = _store()
    store.intents["434434-other-1-000001"] = {"application_id": "A1", "state": "open", "issuer": "another process"}
    with pytest.raises(Unavailable) as refused:
        await issue_certificate(store.connect, _ctx(pki), "A1", NOW)
    assert refused.value.code == "issuance.in_progress" and refused.value.retry_after == 1
    assert not any(k[0] == "certificate" for k in store.entities)  # nothing signed and stored
    # Once the other intent is closed (here: without storing), this issuer may go ahead.
    store.intents["434434-other-1-000001"]["state"] = "abandoned"
    result = await issue_certificate(store.connect, _ctx(pki), "A1", NOW)
    assert not result.existing and len([k for k in store.entities if k[0] == "certificate"]) == 1


async def test_an_intent_abandoned_meanwhile_stores_nothing(pki):
    store = _store()

    async def abandoned_by_a_sweeper() -> None:
        for intent in store.intents.values():
            intent["state"] = "abandoned"

    with pytest.raises(Conflict) as refused:
        await issue_certificate(store.connect, _ctx(pki, before_store=abandoned_by_a_sweeper), "A1", NOW)
    assert refused.value.code == "issuance.abandoned"
    assert store.entities[("application", "A1")]["status"] == "judged"
    assert not any(k[0] == "certificate" for k in store.entities)


async def test_an_intent_left_by_this_process_is_abandoned_at_once(pki):
    from service.counter.issuance import ISSUERS

    store = _store()
    store.intents["434434-wajima-1-000009"] = {"application_id": "A1", "state": "open", "issuer": ISSUERS.owner}
    result = await issue_certificate(store.connect, _ctx(pki), "A1", NOW)
    assert not result.existing and store.intents["434434-wajima-1-000009"]["state"] == "abandoned"
