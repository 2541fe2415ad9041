"""Transport security of a node: HTTPS with its server certificate, HSTS, Kafka over SSL
with its client certificate, and the certificates' expiry on /metrics.

The files come from the ceremony (certs/tls.py) through the ``tls.dir`` setting. Plain
HTTP or plaintext Kafka only when a setting turns them off, and the log says so.
"""

from __future__ import annotations

import logging
import ssl
import time

from aiohttp import web

from certs.tls import TlsFiles, kafka_options, server_context
from service.config import ConfigError, Settings

log = logging.getLogger("service.transport")
HSTS = "max-age=31536000"  # one year; no includeSubDomains: nodes are addressed by IP


def _files(settings: Settings, role: str) -> TlsFiles:
    if settings.tls.dir is None:
        raise ConfigError(f"tls.dir is not set, but TLS is on for {role}")
    return TlsFiles(settings.tls.dir / role)


def server_ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The HTTPS context, or None (with a warning) when tls.http is off."""
    if not settings.tls.http:
        log.warning("serving plain HTTP (tls.http = false): for local development only; "
                    "session cookies and resident data cross the network unencrypted")
        return None
    return server_context(_files(settings, "server"))


def kafka_client_options(settings: Settings) -> dict:
    """aiokafka TLS options from the node's client certificate ({} when tls.kafka is off)."""
    if not settings.tls.kafka:
        log.warning("connecting to Kafka in plaintext (tls.kafka = false): development only")
        return {}
    return kafka_options(_files(settings, "client"))


@web.middleware
async def hsts_middleware(request: web.Request, handler):
    """Strict-Transport-Security on every answer, errors included (HTTPS nodes only)."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers["Strict-Transport-Security"] = HSTS
        raise
    response.headers["Strict-Transport-Security"] = HSTS
    return response


def watch_expiry(settings: Settings, gauge) -> None:
    """Seconds until each TLS certificate of the node expires, read live by /metrics."""
    if settings.tls.dir is None:
        return
    for role in ("server", "client"):
        files = TlsFiles(settings.tls.dir / role)
        if files.cert.exists():
            not_after = files.certificate().not_valid_after_utc.timestamp()
            gauge.labels(cert=role).set_function(lambda t=not_after: t - time.time())
