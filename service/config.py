"""The node's settings: one frozen tree, read once from TOML plus RISAI_ environment variables.

Environment variables override the file. Nested keys use a double underscore:
RISAI_DATABASE__DSN overrides [database] dsn, RISAI_NODE__PORT overrides [node] port.
A missing optional field takes a safe default; a missing required field stops start-up
with a message that names it and both ways to set it.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Mapping

from certs.errors import CertsError
from certs.town_code import validate_town_code

ENV_PREFIX = "RISAI_"


class ConfigError(Exception):
    """Bad or missing configuration; the message names the setting and the fix."""


@dataclasses.dataclass(frozen=True)
class NodeSettings:
    id: str
    town_code: str
    host: str = "127.0.0.1"
    port: int = 8100


@dataclasses.dataclass(frozen=True)
class DatabaseSettings:
    dsn: str
    pool_min: int = 1
    pool_max: int = 10
    # How long a request waits for a pooled connection before it gets 503 node.busy.
    acquire_timeout_s: float = 5.0

    def redacted_dsn(self) -> str:
        return redact_dsn(self.dsn)


@dataclasses.dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: str
    topic_prefix: str = "risai.events"
    # Durability of a reply (DESIGN 4): "durable" waits up to ack_timeout_s for Kafka's
    # acknowledgement of an issuance event; "local-only" never waits.
    mode: str = "durable"
    ack_timeout_s: float = 2.0


@dataclasses.dataclass(frozen=True)
class KeySettings:
    # The node's own key folder from the PKI ceremony (node.key.pem, delegations/).
    key_dir: Path | None = None
    # The signed trust list and the federation root that anchors it.
    trust_list: Path | None = None
    root_cert: Path | None = None


@dataclasses.dataclass(frozen=True)
class TlsSettings:
    # The node's TLS folder from the ceremony (nodes/<id>/tls: server/ for HTTPS, client/
    # for Kafka, each with cert.pem, key.pem and the TLS CA's ca.pem).
    dir: Path | None = None
    # HTTPS for the node's server. false only for local development (warned in the log).
    http: bool = True
    # Kafka over SSL with the node's client certificate. false only for a plaintext broker.
    kafka: bool = True


@dataclasses.dataclass(frozen=True)
class PrintingSettings:
    # A folder of town seal images (公印の印影), one PNG per competent town named by its code
    # (434434.png). A town with an image has it printed in the 公印 area; any other town's
    # certificates print 公印省略. Every node that may issue for a town needs its image.
    seal_dir: Path | None = None


@dataclasses.dataclass(frozen=True)
class Settings:
    node: NodeSettings
    database: DatabaseSettings
    kafka: KafkaSettings
    keys: KeySettings = KeySettings()
    tls: TlsSettings = TlsSettings()
    printing: PrintingSettings = PrintingSettings()
    federation_file: Path | None = None
    log_level: str = "INFO"
    # Staff session cookies carry the Secure flag unless explicitly turned off for plain
    # HTTP development on loopback.
    secure_cookies: bool = True


_SECTIONS = {"node": NodeSettings, "database": DatabaseSettings, "kafka": KafkaSettings,
             "keys": KeySettings, "tls": TlsSettings, "printing": PrintingSettings}


def redact_dsn(dsn: str) -> str:
    """The DSN with its password replaced by ***, for logs and error messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", dsn)


def _env_overrides(env: Mapping[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, value in env.items():
        if not key.startswith(ENV_PREFIX):
            continue
        path = key[len(ENV_PREFIX):].lower().split("__")
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return tree


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _coerce(name: str, raw: Any, typ: Any) -> Any:
    text = str(typ)
    try:
        if typ is int or text == "int":
            return int(raw)
        if typ is float or text == "float":
            return float(raw)
        if typ is bool or text == "bool":
            if isinstance(raw, bool):
                return raw
            if str(raw).lower() in ("1", "true", "yes", "on"):
                return True
            if str(raw).lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if "Path" in text:
            return Path(raw) if raw not in (None, "") else None
        return str(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {name} has an invalid value {raw!r} (expected {text})") from None


def _build(cls: type, name: str, data: Any) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"[{name}] must be a table")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(fields)
    if unknown:
        raise ConfigError(f"unknown setting(s) in [{name}]: {', '.join(sorted(unknown))}")
    values = {}
    for field in fields.values():
        full = f"{name}.{field.name}" if name else field.name
        if field.name in data:
            sub = _SECTIONS.get(field.name) if not name else None
            values[field.name] = (_build(sub, field.name, data[field.name]) if sub
                                  else _coerce(full, data[field.name], field.type))
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            env = ENV_PREFIX + full.upper().replace(".", "__")
            raise ConfigError(f"missing required setting {full}: set it in the TOML file "
                              f"or with the environment variable {env}")
    return cls(**values)


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from a TOML file (optional) and RISAI_* environment variables."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    data = _merge(data, _env_overrides(os.environ if env is None else env))
    for section in ("node", "database", "kafka"):
        data.setdefault(section, {})
    settings = _build(Settings, "", data)
    if settings.kafka.mode not in ("durable", "local-only"):
        raise ConfigError("setting kafka.mode must be 'durable' or 'local-only'")
    if (settings.tls.http or settings.tls.kafka) and settings.tls.dir is None:
        raise ConfigError("missing required setting tls.dir (HTTPS and Kafka TLS are on by default):"
                          " set it in the TOML file or with RISAI_TLS__DIR, or turn TLS off"
                          " explicitly with tls.http = false and tls.kafka = false")
    try:
        validate_town_code(settings.node.town_code, "node.town_code")
    except CertsError as exc:
        raise ConfigError(f"setting node.town_code: {exc}") from None
    return settings
