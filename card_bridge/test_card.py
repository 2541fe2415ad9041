"""``risai-card-bridge make-test-card``: a test card CA and a software card for one resident
(tests and demos; the CA's certificate is what an admin registers at POST /api/v1/card-cas)."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from card_bridge.cards import write_software_card
from service.kiosk import cards


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="risai-card-bridge make-test-card")
    parser.add_argument("--out", type=Path, required=True, help="folder for ca.pem, ca.key.pem and card.p12")
    parser.add_argument("--town", required=True, help="the resident's town code, e.g. 434434")
    parser.add_argument("--resident", required=True, help="the resident id, e.g. R0001")
    parser.add_argument("--pin", default="1234")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc)
    ca_file = args.out / "ca.key.pem"
    if ca_file.exists():
        from cryptography import x509

        ca_key = serialization.load_pem_private_key(ca_file.read_bytes(), None)
        ca = x509.load_pem_x509_certificate((args.out / "ca.pem").read_bytes())
    else:
        ca_key, ca = cards.create_card_ca("Test card CA (not JPKI)", now=now)
        ca_file.write_bytes(ca_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
        (args.out / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    key, cert = cards.issue_card(ca_key, ca, town_code=args.town, resident_id=args.resident, now=now)
    card = write_software_card(args.out / f"card-{args.resident}.p12", key, cert, args.pin)
    print(f"card: {card}\nregister the CA: POST /api/v1/card-cas with {args.out / 'ca.pem'}")
