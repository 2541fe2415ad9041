"""The drill checker catches what it must: a lost acknowledged certificate, a duplicate
整理番号, diverged nodes, a forged signature, a hidden conflict; a good history passes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from certs.encoding import cose_to_qr_string, encode_certificate, qr_string_to_cose
from certs.node_keys import load_node_signer
from chaos.checker import DUPLICATES_TRIED, NodeState, check
from chaos.history import FAILED, OK, REJECTED, Fault, History, Op
from chaos.observe import make_verifier
from tests.unit.certs_fixtures import MASHIKI, NOW, at, build_pki, certificate

NODES = ("mashiki-1", "wajima-1", "rikuzentakata-1")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    build_pki(run_dir / "pki")
    signer = load_node_signer(run_dir / "pki" / "nodes" / "wajima-1", MASHIKI.code, NOW)
    qrs = [encode_certificate(certificate(sequence=n), signer, NOW) for n in (1, 2)]
    return make_verifier(run_dir, now=lambda: at(2)), qrs


def _issue(qr: str, number: str, node: str = "wajima-1", start: float = 5.0) -> Op:
    return Op("counter-1", node, "issue", start, start + 0.2, OK, 201, number, qr, f"application:{number}")


def _good(qrs) -> tuple[History, list[NodeState]]:
    numbers = ["434434-wajima-1-000001", "434434-wajima-1-000002"]
    history = History(
        ops=[_issue(qrs[0], numbers[0]), _issue(qrs[1], numbers[1], start=12.0),
             Op("counter-2", "mashiki-1", "apply", 10.0, 15.0, FAILED, None, detail="ClientConnectorError"),
             Op("kiosk-1", "mashiki-1", "verify", 20.0, 20.1, REJECTED, 404)],
        faults=[Fault("kill_node:mashiki-1", "kill_node", "mashiki-1", 8.0, 18.0)],
        marks={"healed": 18.0, "quiesced": 25.0, "converged": 31.0})
    certs = tuple(zip(numbers, qrs))
    states = [NodeState(n, "d" * 64, 100, certs) for n in NODES]
    return history, states


def _failed(verdict) -> dict[str, tuple[str, ...]]:
    return {i.name: i.problems for i in verdict.failed()}


def test_good_history_passes_with_availability_and_convergence(pki):
    verify, qrs = pki
    verdict = check(*_good(qrs), verify, convergence_bound_s=60)
    assert verdict.ok, verdict.failed()
    assert verdict.convergence_s == pytest.approx(6.0)
    assert verdict.availability["mashiki-1"]["during"] == 0.0  # its one request in the fault failed
    assert verdict.availability["mashiki-1"]["outside"] == 1.0  # a 404 is an answer
    assert verdict.availability["wajima-1"]["during"] == 1.0


def test_lost_acknowledged_certificate_is_named(pki):
    verify, qrs = pki
    history, states = _good(qrs)
    states[0] = replace(states[0], certificates=states[0].certificates[:1])
    failed = _failed(check(history, states, verify, convergence_bound_s=60))
    assert list(failed) == ["no acknowledged certificate lost"]
    assert "434434-wajima-1-000002" in failed["no acknowledged certificate lost"][0]
    assert "missing on mashiki-1" in failed["no acknowledged certificate lost"][0]


def test_duplicate_number_is_named(pki):
    verify, qrs = pki
    history, states = _good(qrs)
    # A second, different certificate handed out under the first one's number.
    history.ops.append(_issue(qrs[1], "434434-wajima-1-000001", node="mashiki-1", start=30))
    failed = _failed(check(history, states, verify, convergence_bound_s=60))
    assert "no duplicate 整理番号" in failed
    assert "434434-wajima-1-000001 is used by 2 different certificates" in failed["no duplicate 整理番号"][0]


def test_diverged_states_are_named(pki):
    verify, qrs = pki
    history, states = _good(qrs)
    states[2] = replace(states[2], digest="e" * 64, rows=99)
    del history.marks["converged"]
    failed = _failed(check(history, states, verify, convergence_bound_s=60))
    problems = failed["all nodes converge"]
    assert "nodes diverged" in problems[0] and "rikuzentakata-1 (99 rows)" in problems[0]
    assert "not equal within 60s" in problems[1]


def test_slow_convergence_is_over_the_bound(pki):
    verify, qrs = pki
    history, states = _good(qrs)
    history.marks["converged"] = 125.0
    failed = _failed(check(history, states, verify, convergence_bound_s=60))
    assert "converged after 100.0s, over the bound of 60s" in failed["all nodes converge"]


def test_forged_signature_is_named(pki):
    verify, qrs = pki
    history, states = _good(qrs)
    cose = bytearray(qr_string_to_cose(qrs[1]))
    cose[-1] ^= 0x01  # the last byte belongs to the signature
    forged = cose_to_qr_string(bytes(cose))
    history.ops[1] = replace(history.ops[1], qr=forged)
    states = [replace(s, certificates=((s.certificates[0]), (s.certificates[1][0], forged))) for s in states]
    failed = _failed(check(history, states, verify, convergence_bound_s=60))
    assert list(failed) == ["every certificate verifies"]
    assert "434434-wajima-1-000002" in failed["every certificate verifies"][0]
    assert "signature" in failed["every certificate verifies"][0]


def test_concurrent_writes_without_conflict_are_named(pki):
    verify, qrs = pki
    history, states = _good(qrs)
    entity, base = "application:A-1", "contended:A-1"
    history.ops += [Op("contender-in", "wajima-1", "judge", 20, 20.1, OK, 200, entity=entity, base=base),
                    Op("contender-out", "mashiki-1", "judge", 20, 20.1, OK, 200, entity=entity, base=base)]
    failed = _failed(check(history, states, verify, convergence_bound_s=60))
    assert "concurrent writes to application:A-1" in failed["every concurrent write is a conflict"][0]
    surfaced = [replace(s, conflicts=frozenset({entity})) for s in states]
    assert check(history, surfaced, verify, convergence_bound_s=60).ok


def test_sequential_writes_at_two_nodes_are_not_concurrent(pki):
    verify, qrs = pki
    history, states = _good(qrs)
    history.ops += [Op("c1", "wajima-1", "judge", 20, 20.1, OK, 200, entity="application:A-2"),
                    Op("c2", "mashiki-1", "issue", 25, 25.1, OK, 201, entity="application:A-2")]
    assert check(history, states, verify, convergence_bound_s=60).ok


def _duplicates(history: History, *accepted: tuple[str, str]) -> History:
    """The duplicator's applies for one case: (node, application id) accepted, one refused."""
    history.marks[DUPLICATES_TRIED] = 1.0
    base = "duplicate:R-1/D-1"
    history.ops += [Op(f"duplicator-{i}", node, "apply", 20, 20.2, OK, 201, entity=f"application:{app}", base=base)
                    for i, (node, app) in enumerate(accepted)]
    return history


def test_duplicate_across_a_partition_must_be_under_review_on_every_node(pki):
    verify, qrs = pki
    history, states = _good(qrs)
    history = _duplicates(history, ("wajima-1", "A-in"), ("mashiki-1", "A-out"))
    failed = _failed(check(history, states, verify, convergence_bound_s=60))
    assert list(failed) == ["every duplicate across the partition is under review"]
    assert "A-in, A-out (R-1/D-1) are not under review on mashiki-1, rikuzentakata-1, wajima-1" in failed[
        "every duplicate across the partition is under review"][0]
    one_side = [replace(s, reviews=frozenset({frozenset({"A-in", "A-out"})})) if s.node == "wajima-1" else s
                for s in states]
    failed = _failed(check(history, one_side, verify, convergence_bound_s=60))
    assert failed["every duplicate across the partition is under review"][0].endswith("on mashiki-1, rikuzentakata-1")
    everywhere = [replace(s, reviews=frozenset({frozenset({"A-in", "A-out"})})) for s in states]
    assert check(history, everywhere, verify, convergence_bound_s=60).ok


def test_a_duplicator_whose_pair_never_formed_fails_the_drill(pki):
    verify, qrs = pki
    history, states = _good(qrs)
    history = _duplicates(history, ("wajima-1", "A-in"))  # the other side refused: no partition
    failed = _failed(check(history, states, verify, convergence_bound_s=60))
    assert "no duplicate was formed" in failed["every duplicate across the partition is under review"][0]


def test_two_applications_at_one_node_are_not_a_partition_pair(pki):
    verify, qrs = pki
    history, states = _good(qrs)
    history = _duplicates(history, ("wajima-1", "A-1"), ("wajima-1", "A-2"))
    failed = _failed(check(history, states, verify, convergence_bound_s=60))
    assert "no duplicate was formed" in failed["every duplicate across the partition is under review"][0]


def test_drills_without_a_duplicator_do_not_check_duplicates(pki):
    verify, qrs = pki
    history, states = _good(qrs)
    names = [i.name for i in check(history, states, verify, convergence_bound_s=60).invariants]
    assert "every duplicate across the partition is under review" not in names
