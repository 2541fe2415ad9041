"""``risai-verify``: verify a certificate offline, against a verifier bundle or a trust list.

    risai-verify --bundle risai-verifier-bundle.cbor 'JPRC1:...'
    risai-verify --bundle bundle.cbor --root root.pem 'JPRC1:...'     (bundle's root must match)
    risai-verify --trust-list trust-list.cbor --root root.pem [--status-list wajima-1.cwt ...] 'JPRC1:...'
    risai-verify --trust-list trust-list.cbor --insecure-no-root 'JPRC1:...'
    echo 'JPRC1:...' | risai-verify --bundle bundle.cbor -

The root must be pinned: ``--root``, or the one inside the bundle given with ``--bundle``.
A bare trust list without ``--root`` is refused unless ``--insecure-no-root`` is given, and
then the output says that the origin is unchecked.

Prints the verdict word (有効 / 無効 / 失効 / 差替え / 確認中 / 確認不能, English beside it), the
status list's age, every check, and the certificate's content only under 有効 (otherwise
marked as not trustworthy). Exits 0 only for 有効, 1 for any other verdict, 2 if the trust
list or bundle cannot be used.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509

from .bundle import Bundle, parse_bundle
from .errors import CertsError
from .status_list import StatusList, parse_status_list
from .trust_list import TrustList, load_trust_list
from .verify import CHECKS, MAX_TRUST_LIST_AGE, VALID, WORDS_EN, Status, Verdict, verify

_MARKS = {Status.PASS: "OK", Status.FAIL: "NG", Status.SKIPPED: "--"}
EXIT_VALID, EXIT_NOT_VALID, EXIT_UNUSABLE = 0, 1, 2


def _content_lines(verdict: Verdict) -> list[str]:
    cert = verdict.certificate
    if cert is None:
        return []
    place = cert.issuing.town_name + (" (代行 / on behalf)" if cert.on_behalf else "")
    lines = [
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
    if verdict.valid:
        return lines
    return ["  !! 以下の内容は信頼できません（検証結果が有効ではありません） / "
            "NOT TRUSTWORTHY: the verdict is not VALID; do not rely on this content !!"] + lines


def _status_list_line(verdict: Verdict) -> str:
    listed = verdict.status_list
    if listed is None:
        return "状態リスト / Status list: なし / none (状態を確認できません / status cannot be checked)"
    age_h = listed.age(verdict.now).total_seconds() / 3600 if verdict.now else float("nan")
    expired = " 期限切れ / EXPIRED" if verdict.now and listed.expired(verdict.now) else ""
    return (f"状態リスト / Status list: {listed.node_id}, 発行 / issued {listed.issued_at.isoformat()} "
            f"({age_h:.1f}時間前 / h old), 期限 / expires {listed.expires_at.isoformat()}{expired}, "
            f"署名 / signed by {listed.signer_node}")


def format_verdict(verdict: Verdict) -> str:
    """Human-readable verdict: the word, the status list's age, the content, then every check."""
    word = verdict.word
    head = f"結果 / Result: {word} / {WORDS_EN[word]}"
    if verdict.superseded_by:
        head += f" → {verdict.superseded_by}"
    lines = [head, _status_list_line(verdict), *_content_lines(verdict)]
    for check in verdict.checks:
        ja_label, en_label = CHECKS[check.name]
        lines.append(f"[{_MARKS[check.status]}] {ja_label} / {en_label}: {check.ja} / {check.en}")
    return "\n".join(lines)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="risai-verify", description="Verify a 罹災証明書 QR string offline")
    parser.add_argument("qr", nargs="?", help="QR string (JPRC1:...), or - to read it from stdin")
    parser.add_argument("--cose", type=Path, help="file with raw COSE_Sign1 bytes instead of a QR string")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--bundle", type=Path, help="verifier bundle (risai-verifier-bundle.cbor); pins its root")
    source.add_argument("--trust-list", type=Path, help="saved trust list (trust-list.cbor); needs --root")
    parser.add_argument("--status-list", type=Path, action="append", default=[],
                        help="a signed status list file (with --trust-list); may be repeated")
    parser.add_argument("--root", type=Path, help="pinned federation root certificate (PEM)")
    parser.add_argument("--insecure-no-root", action="store_true",
                        help="accept a trust list without a pinned root (its origin is then NOT checked)")
    parser.add_argument("--now", help="ISO time to verify at (default: now)")
    parser.add_argument("--max-age-hours", type=float, default=MAX_TRUST_LIST_AGE.total_seconds() / 3600)
    return parser.parse_args(argv)


def _sources(args: argparse.Namespace) -> tuple[TrustList, dict[str, StatusList], list[str]]:
    """Trust list, status lists and notes to print; CertsError/OSError/ValueError if unusable."""
    anchor = x509.load_pem_x509_certificate(args.root.read_bytes()) if args.root else None
    notes = []
    if args.bundle:
        bundle: Bundle = parse_bundle(args.bundle.read_bytes(), anchor)
        notes += [f"注意: 状態リスト {pos} 番目を除外 / note: status list #{pos} dropped: {why}" for pos, why in bundle.rejected]
        return bundle.trust_list, bundle.status_lists, notes
    if anchor is None:
        notes.append("警告: ルート証明書が固定されていないため、信頼リストの発行元は確認されていません / "
                     "WARNING: no pinned root: the trust list's ORIGIN IS UNCHECKED (any root's list is accepted)")
    trust_list = load_trust_list(args.trust_list, anchor)
    lists: dict[str, StatusList] = {}
    for path in args.status_list:
        parsed = parse_status_list(path.read_bytes(), trust_list)
        if parsed.node_id not in lists or parsed.issued_at > lists[parsed.node_id].issued_at:
            lists[parsed.node_id] = parsed
    return trust_list, lists, notes


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``risai-verify``."""
    args = _parse_args(argv)
    if args.trust_list and not args.root and not args.insecure_no_root:
        print("ルート証明書を固定してください（--root、または --bundle） / pin the federation root: --root ROOT.pem "
              "or --bundle FILE (or --insecure-no-root to accept an unchecked origin)", file=sys.stderr)
        return EXIT_UNUSABLE
    now = datetime.fromisoformat(args.now) if args.now else datetime.now(timezone.utc)
    now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    try:
        trust_list, lists, notes = _sources(args)
    except (CertsError, OSError, ValueError) as exc:
        print(f"信頼リストまたはバンドルを使用できません / trust list or bundle unusable: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    if args.cose:
        data: str | bytes = args.cose.read_bytes()
    elif args.qr in (None, "-"):
        data = sys.stdin.read().strip()
    else:
        data = args.qr.strip()
    verdict = verify(data, trust_list, now, max_trust_list_age=timedelta(hours=args.max_age_hours), status_lists=lists)
    for note in notes:
        print(note)
    print(format_verdict(verdict))
    return EXIT_VALID if verdict.word == VALID else EXIT_NOT_VALID


if __name__ == "__main__":
    sys.exit(main())
