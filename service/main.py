"""`risai-node`: run one issuance node from a TOML file and RISAI_* environment variables."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from aiohttp import web

from service.config import ConfigError, load_settings
from service.logs import configure_logging
from service.transport import server_ssl_context
from service.web.app import create_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="risai-node", description="Run one 罹災証明書 issuance node.")
    parser.add_argument("--config", type=Path, help="node TOML file (RISAI_* variables override it)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"risai-node: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.node.id)
    logging.getLogger("service.main").info(
        "starting node", extra={"town": settings.node.town_code, "port": settings.node.port})
    try:
        ssl_context = server_ssl_context(settings)  # None only when tls.http = false
    except (ConfigError, OSError) as exc:
        print(f"risai-node: TLS configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        app = create_app(settings)
    except ConfigError as exc:  # e.g. a seal image that cannot be printed
        print(f"risai-node: configuration error: {exc}", file=sys.stderr)
        return 2
    web.run_app(app, host=settings.node.host, port=settings.node.port,
                ssl_context=ssl_context, print=None, access_log_format='%r %s %b %Tf')
    return 0


if __name__ == "__main__":
    sys.exit(main())
