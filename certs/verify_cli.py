"""``risai-verify``: verify a certificate offline against a saved trust list.

    risai-verify --trust-list trust-list.cbor [--root root.pem] 'JPRC1:...'
    risai-verify --trust-list trust-list.cbor --cose cert.cose
    echo 'JPRC1:...' | risai-verify --trust-list trust-list.cbor -

Prints the verdict, Japanese first with English beside it, and exits 0 if valid, 1 if
not, 2 if the trust list itself cannot be used.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509

from .errors import CertsError
from .trust_list import load_trust_list
from .verify import CHECKS, MAX_TRUST_LIST_AGE, Status, Verdict, verify

_MARKS = {Status.PASS: "OK", Status.FAIL: "NG", Status.SKIPPED: "--"}


def format_verdict(verdict: Verdict) -> str:
    """Human-readable verdict: summary, certificate content, then every check."""
    lines = ["結果 / Result: " + ("有効 / VALID" if verdict.ok else "無効 / INVALID")]
    cert = verdict.certificate
    if cert is not None:
        place = cert.issuing.town_name + (" (代行 / on behalf)" if cert.on_behalf else "")
        lines += [
            f"  {cert.cert_type.label_ja} / {cert.cert_type.label_en}",
            f"  整理番号 / No.: {cert.number}",
            f"  世帯主氏名 / Householder: {cert.householder_name}",
            f"  被災住家の所在地 / Dwelling: {cert.dwelling_address}",
            f"  罹災原因 / Cause: {cert.disaster.name} ({cert.disaster.date.isoformat()})",
        ]
        if cert.damage_class is not None:
            lines.append(f"  被害の程度 / Damage: {cert.damage_class.label_ja} / {cert.damage_class.label_en}")
        lines += [
            f"  発行者 / Issuer: {cert.competent_town.name}長 {cert.competent_town.mayor}",
            f"  交付場所 / Place of issue: {place}, node {cert.issuing.node_id}",
            f"  交付日 / Issued: {cert.issue_date.isoformat()}",
        ]
    for check in verdict.checks:
        ja_label, en_label = CHECKS[check.name]
        lines.append(f"[{_MARKS[check.status]}] {ja_label} / {en_label}: {check.ja} / {check.en}")
    return "\n".join(lines)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="risai-verify", description="Verify a 罹災証明書 QR string offline")
    parser.add_argument("qr", nargs="?", help="QR string (JPRC1:...), or - to read it from stdin")
    parser.add_argument("--cose", type=Path, help="file with raw COSE_Sign1 bytes instead of a QR string")
    parser.add_argument("--trust-list", type=Path, required=True, help="saved trust list (trust-list.cbor)")
    parser.add_argument("--root", type=Path, help="pinned federation root certificate (PEM)")
    parser.add_argument("--now", help="ISO time to verify at (default: now)")
    parser.add_argument("--max-age-hours", type=float, default=MAX_TRUST_LIST_AGE.total_seconds() / 3600)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``risai-verify``."""
    args = _parse_args(argv)
    now = datetime.fromisoformat(args.now) if args.now else datetime.now(timezone.utc)
    now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    try:
        anchor = x509.load_pem_x509_certificate(args.root.read_bytes()) if args.root else None
        trust_list = load_trust_list(args.trust_list, anchor)
    except (CertsError, OSError, ValueError) as exc:
        print(f"信頼リストを使用できません / trust list unusable: {exc}", file=sys.stderr)
        return 2
    if args.cose:
        data: str | bytes = args.cose.read_bytes()
    elif args.qr in (None, "-"):
        data = sys.stdin.read().strip()
    else:
        data = args.qr.strip()
    verdict = verify(data, trust_list, now, max_trust_list_age=timedelta(hours=args.max_age_hours))
    if anchor is None:
        print("注意: ルート証明書が固定されていません / note: root not pinned (use --root)")
    print(format_verdict(verdict))
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
