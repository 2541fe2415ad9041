"""The card bridge's HTTP interface, on the kiosk's loopback only (docs/kiosk.md).

    GET  /v1/status               {"card_present", "card", "printer"}
    POST /v1/sign {challenge, pin} {"signature": base64 raw r‖s, "certificate_pem"}
    POST /v1/print  (application/pdf body)   {"job"}

Errors are {"error": {"code", "message"[, "tries_left"]}}: card.absent (409), card.pin (401,
with tries_left), card.locked (423), challenge.format (422), printer.none (503), origin (403).

Only the kiosk page may call it: the Origin must be one given with --allow-origin (CORS,
with the Private Network Access preflight answered), and it binds 127.0.0.1 only. It signs
only what looks like a node challenge (43 base64url characters), so a page cannot use it to
sign arbitrary data with the resident's card.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import re
from typing import Any

from aiohttp import web

from card_bridge.cards import Card, CardProblem, open_card
from card_bridge.printer import Printer, open_printer

CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
PIN = re.compile(r"[0-9]{4}")
STATUS = {"card.absent": 409, "card.pin": 401, "card.locked": 423, "card.error": 500}
CARD: web.AppKey[Card] = web.AppKey("card", Card)
PRINTER: web.AppKey[Printer | None] = web.AppKey("printer", object)
ORIGINS: web.AppKey[frozenset[str]] = web.AppKey("origins", frozenset)
MAX_PDF = 8 * 1024 * 1024


def _error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **extra}}, status=status)


@web.middleware
async def cors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Only the kiosk page's origin; preflights answered, Private Network Access included."""
    origin = request.headers.get("Origin")
    if origin is not None and origin not in request.app[ORIGINS]:
        return _error(403, "origin", f"origin {origin} may not use this card bridge")
    if request.method == "OPTIONS":
        response: web.StreamResponse = web.Response(status=204, headers={
            "Access-Control-Allow-Methods": "GET, POST", "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Allow-Private-Network": "true", "Access-Control-Max-Age": "600"})
    else:
        response = await handler(request)
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    response.headers["Cache-Control"] = "no-store"
    return response


async def status(request: web.Request) -> web.Response:
    card, printer = request.app[CARD], request.app[PRINTER]
    present = await asyncio.to_thread(card.present)
    return web.json_response({"card_present": present, "card": card.name,
                              "printer": type(printer).__name__ if printer else None})


async def sign(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("challenge"), str) \
            or not CHALLENGE.fullmatch(body["challenge"]):
        return _error(422, "challenge.format", "challenge must be the node's challenge (43 base64url characters)")
    if not isinstance(body.get("pin"), str) or not PIN.fullmatch(body["pin"]):
        return _error(422, "pin.format", "pin must be 4 digits")
    try:
        signature, cert = await asyncio.to_thread(request.app[CARD].sign, body["challenge"].encode(), body["pin"])
    except CardProblem as problem:
        extra = {} if problem.tries_left is None else {"tries_left": problem.tries_left}
        return _error(STATUS[problem.code], problem.code, problem.message, **extra)
    return web.json_response({"signature": base64.b64encode(signature).decode(), "certificate_pem": cert})


async def print_pdf(request: web.Request) -> web.Response:
    printer = request.app[PRINTER]
    if printer is None:
        return _error(503, "printer.none", "this kiosk has no printer configured")
    pdf = await request.read()
    if not pdf.startswith(b"%PDF-"):
        return _error(422, "print.format", "the body must be a PDF")
    try:
        job = await asyncio.to_thread(printer.print_pdf, pdf)
    except OSError as exc:
        return _error(503, "printer.failed", f"the printer failed: {exc}")
    return web.json_response({"job": job}, status=201)


def create_bridge(card: Card, printer: Printer | None, origins: list[str]) -> web.Application:
    """The bridge's app."""
    app = web.Application(middlewares=[cors], client_max_size=MAX_PDF)
    app[CARD], app[PRINTER], app[ORIGINS] = card, printer, frozenset(origins)
    app.router.add_get("/v1/status", status)
    app.router.add_post("/v1/sign", sign)
    app.router.add_post("/v1/print", print_pdf)
    app.router.add_route("OPTIONS", "/v1/{tail:.*}", status)  # answered by the middleware
    return app


def main(argv: list[str] | None = None) -> None:
    """risai-card-bridge: serve the card bridge (or make a test card: ``make-test-card``)."""
    import sys

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["make-test-card"]:
        from card_bridge.test_card import main as make

        return make(argv[1:])
    parser = argparse.ArgumentParser(prog="risai-card-bridge", description=__doc__.split("\n")[0])
    parser.add_argument("--card", required=True, help="pkcs12:<file> or pkcs11:<module>,<token>,<key>,<cert.pem>")
    parser.add_argument("--allow-origin", action="append", required=True,
                        help="the node origin the kiosk page comes from, e.g. https://wajima-1.example:8443")
    parser.add_argument("--printer", help="lp:<CUPS queue> or dir:<folder> (tests and demos)")
    parser.add_argument("--port", type=int, default=47110)
    args = parser.parse_args(argv)
    app = create_bridge(open_card(args.card), open_printer(args.printer), args.allow_origin)
    web.run_app(app, host="127.0.0.1", port=args.port, print=lambda line: print(line, flush=True))
