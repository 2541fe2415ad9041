"""Settings: TOML plus RISAI_* variables, required fields named, passwords hidden."""

from __future__ import annotations

import pytest

from service.config import ConfigError, load_settings, redact_dsn

MINIMAL = {
    "RISAI_NODE__ID": "wajima-1",
    "RISAI_NODE__TOWN_CODE": "172049",
    "RISAI_DATABASE__DSN": "postgresql://risai:secret@127.0.0.1:5432/risai",
    "RISAI_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:9092",
    "RISAI_TLS__DIR": "/etc/risai/tls",
}


def test_environment_alone_is_enough_and_defaults_apply():
    settings = load_settings(None, MINIMAL)
    assert settings.node.id == "wajima-1"
    assert settings.node.port == 8100
    assert settings.kafka.mode == "durable"
    assert settings.secure_cookies is True
    assert settings.tls.http is True and settings.tls.kafka is True  # secure by default


def test_tls_needs_its_folder_unless_turned_off_explicitly():
    env = {k: v for k, v in MINIMAL.items() if k != "RISAI_TLS__DIR"}
    with pytest.raises(ConfigError) as err:
        load_settings(None, env)
    assert "tls.dir" in str(err.value) and "RISAI_TLS__DIR" in str(err.value)
    with pytest.raises(ConfigError, match="tls.dir"):  # HTTP off alone still leaves Kafka TLS on
        load_settings(None, {**env, "RISAI_TLS__HTTP": "false"})
    plain = load_settings(None, {**env, "RISAI_TLS__HTTP": "false", "RISAI_TLS__KAFKA": "false"})
    assert plain.tls.dir is None and not plain.tls.http and not plain.tls.kafka


def test_environment_overrides_file_and_types_are_coerced(tmp_path):
    cfg = tmp_path / "node.toml"
    cfg.write_text('[node]\nid = "from-file"\ntown_code = "172049"\nport = 9000\n'
                   '[database]\ndsn = "postgresql://a:b@h/d"\n[kafka]\nbootstrap_servers = "x:1"\n')
    settings = load_settings(cfg, {"RISAI_NODE__PORT": "9100", "RISAI_KAFKA__ACK_TIMEOUT_S": "0.5",
                                   "RISAI_TLS__DIR": "/etc/risai/tls"})
    assert settings.node.id == "from-file"
    assert settings.node.port == 9100
    assert settings.kafka.ack_timeout_s == 0.5


@pytest.mark.parametrize("missing, named", [
    ("RISAI_NODE__ID", "node.id"),
    ("RISAI_DATABASE__DSN", "database.dsn"),
    ("RISAI_KAFKA__BOOTSTRAP_SERVERS", "kafka.bootstrap_servers"),
])
def test_missing_required_setting_is_named_with_both_ways_to_set_it(missing, named):
    env = {k: v for k, v in MINIMAL.items() if k != missing}
    with pytest.raises(ConfigError) as err:
        load_settings(None, env)
    assert named in str(err.value) and missing in str(err.value)


@pytest.mark.parametrize("key, value, expect", [
    ("RISAI_NODE__PORT", "eighty", "node.port"),
    ("RISAI_NODE__TOWN_CODE", "172048", "node.town_code"),
    ("RISAI_KAFKA__MODE", "sometimes", "kafka.mode"),
])
def test_bad_values_are_refused_with_the_setting_named(key, value, expect):
    with pytest.raises(ConfigError) as err:
        load_settings(None, {**MINIMAL, key: value})
    assert expect in str(err.value)


def test_unknown_setting_and_bad_toml_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(None, {**MINIMAL, "RISAI_NODE__COLOUR": "blue"})
    bad = tmp_path / "bad.toml"
    bad.write_text("[node\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad, MINIMAL)
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "absent.toml", MINIMAL)


def test_passwords_are_hidden_in_logged_dsns():
    assert redact_dsn("postgresql://risai:s3cr3t@127.0.0.1:5432/risai") == \
        "postgresql://risai:***@127.0.0.1:5432/risai"
    assert "s3cr3t" not in load_settings(None, {**MINIMAL, "RISAI_DATABASE__DSN":
                                                "postgresql://u:s3cr3t@h/d"}).database.redacted_dsn()
