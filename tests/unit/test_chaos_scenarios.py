"""Scenario files load, stay inside their duration, and name known fault kinds; the
namespace NAT and fault rules are what nftables is given."""

from __future__ import annotations

import pytest

from chaos import scenario
from chaos.faults import INJECT
from chaos.faults.latency import crossing_ports
from chaos.faults.network import filter_rules
from deploy import netns
from deploy.federation_spec import load_spec

FIRST_SET = {"town-hall-offline", "region-isolated", "broker-lost", "database-crash",
             "slow-lossy-links", "clock-skew", "rolling-restart"}


def test_first_set_is_there_and_valid():
    assert FIRST_SET <= set(scenario.names())
    for name in scenario.names():
        sc = scenario.load(name)
        assert sc.faults and all(f.kind in INJECT for f in sc.faults), name
        assert all(f.at_s + f.for_s <= sc.duration_s for f in sc.faults)


def test_every_scenario_of_the_recovery_issue_is_there():
    assert {"disk-full", "broker-disk-lost", "stale-restore", "duplicate-across-partition",
            "frozen-consumer"} <= set(scenario.names())
    dup = scenario.load("duplicate-across-partition")
    assert dup.workload.duplicate and [f.kind for f in dup.faults] == ["partition"]


def test_a_duplicator_without_a_partition_is_refused(tmp_path):
    bad = tmp_path / "nocut.toml"
    bad.write_text('duration_s = 30\n[workload]\nduplicate = true\n[[faults]]\nkind = "kill_db"\n'
                   'target = "mashiki-1"\nat_s = 5\nfor_s = 10\n')
    with pytest.raises(scenario.ScenarioError, match="nocut.toml.*need a partition fault"):
        scenario.load(str(bad))


def test_bad_scenario_is_refused_with_its_name(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('duration_s = 10\n[[faults]]\nkind = "partition"\ntarget = "x"\nat_s = 5\nfor_s = 10\n')
    with pytest.raises(scenario.ScenarioError, match="bad.toml.*within duration_s"):
        scenario.load(str(bad))
    with pytest.raises(scenario.ScenarioError, match="no scenario 'nope'"):
        scenario.load("nope")


def test_nat_sends_each_port_to_its_region():
    layout = netns.Layout.from_spec(load_spec())
    kyushu = layout.region("kyushu")
    assert kyushu.ip == "10.213.77.11" and 19101 in kyushu.ports and 8101 in kyushu.http_ports
    rules = netns.nat_rules(layout, kyushu)
    assert "tcp dport 19102 dnat to 10.213.77.12" in rules
    assert "dport 19101 dnat" not in rules.split("chain pre")[0]  # its own broker stays local
    assert 'iif "eth0" tcp dport { 19101, 19201, 8101, 15501 } dnat to 127.0.0.1' in rules
    proxied = netns.nat_rules(layout, kyushu, {19102: "10.213.77.1:29102"})
    assert "tcp dport 19102 dnat to 10.213.77.1:29102" in proxied
    assert netns.Layout.from_json(layout.to_json()) == layout


def test_partition_spares_client_http_and_latency_spares_it_too():
    layout = netns.Layout.from_spec(load_spec())
    hokuriku = layout.region("hokuriku")
    rules = filter_rules(hokuriku, "drop")
    assert "ip saddr 10.213.77.1 tcp dport { 8102 } accept" in rules and 'iif "eth0" drop' in rules
    crossing = crossing_ports(layout, hokuriku)
    assert 8101 not in crossing["risai-hokuriku"] and 19101 in crossing["risai-hokuriku"]
    assert crossing["risai-kyushu"] == [19102, 19202, 15502]
