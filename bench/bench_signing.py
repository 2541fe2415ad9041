"""Signing and verification throughput: the project's paths against raw `cryptography`.

    python -m bench.bench_signing        (or: python bench/bench_signing.py)

For each algorithm it measures, in the same run: raw `cryptography` sign and verify of the
same to-be-signed bytes, the project's issue path (claims → COSE_Sign1 → zlib → base45)
and its verify path (decode, signature, chain, delegation, validity, revocation), and
prints the ratio project/raw. Each measurement runs for a fixed time, so the whole run
takes about 15 s.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from certs.ceremony import build_federation_pki  # noqa: E402
from certs.damage import DamageClass  # noqa: E402
from certs.encoding import decode_certificate, encode_certificate  # noqa: E402
from certs.federation import FederationConfig, NodeConfig, TownConfig  # noqa: E402
from certs.model import Certificate, CertificateType, Disaster, IssuingPlace, Town  # noqa: E402
from certs.node_keys import load_node_signer  # noqa: E402
from certs.numbers import CertificateNumber  # noqa: E402
from certs.verify import verify  # noqa: E402

SECONDS = 1.5
NOW = datetime(2024, 1, 10, 9, 0, tzinfo=timezone.utc)


def rate(operation, seconds: float = SECONDS) -> float:
    """Operations per second of ``operation()`` over about ``seconds``."""
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(20):
            operation()
        count += 20
    return count / (time.perf_counter() - start)


def sample(node: str) -> Certificate:
    """A realistic certificate issued by ``node`` for 益城町."""
    address = "熊本県上益城郡益城町大字宮園字北ノ前1234番地5 益城ハイツ203号室"
    return Certificate(
        CertificateNumber("434434", node, 1), CertificateType.RISAI, address, "熊本 太郎",
        Disaster("令和6年能登半島地震", date(2024, 1, 1)), address, DamageClass.HANKAI,
        Town("434434", "益城町", "山田 太郎"), IssuingPlace(node, "172049", "輪島市"), date(2024, 1, 10),
    )


def raw_operations(signer, tbs: bytes, signature_raw: bytes):
    """Raw `cryptography` sign and verify closures for the signer's algorithm."""
    key = signer._key  # the bench may look inside: it compares against the same key
    public = key.public_key()
    if signer.alg == "EdDSA":
        signature = key.sign(tbs)
        return (lambda: key.sign(tbs)), (lambda: public.verify(signature, tbs))
    der = key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    return (lambda: key.sign(tbs, ec.ECDSA(hashes.SHA256()))), (lambda: public.verify(der, tbs, ec.ECDSA(hashes.SHA256())))


def main() -> None:
    """Build a throwaway federation and print the figures."""
    config = FederationConfig("bench", (TownConfig("434434", "益城町", "山田 太郎", ("172049",)),
                                        TownConfig("172049", "輪島市", "佐藤 花子", ("434434",))),
                              (NodeConfig("es-1", "172049", "ES256"), NodeConfig("ed-1", "172049", "EdDSA")))
    with tempfile.TemporaryDirectory() as folder:
        trust_list = build_federation_pki(config, Path(folder), NOW)
        print(f"{'algorithm':<8} {'operation':<8} {'project/s':>10} {'raw/s':>10} {'ratio':>6}")
        for node in ("es-1", "ed-1"):
            signer = load_node_signer(Path(folder) / "nodes" / node, "434434", NOW)
            cert = sample(node)
            qr = encode_certificate(cert, signer, NOW)
            message = decode_certificate(qr).sign1
            raw_sign, raw_verify = raw_operations(signer, message.to_be_signed(), message.signature)
            assert verify(qr, trust_list, NOW + timedelta(hours=1)).ok
            figures = {
                "sign": (rate(lambda: encode_certificate(cert, signer, NOW)), rate(raw_sign)),
                "verify": (rate(lambda: verify(qr, trust_list, NOW + timedelta(hours=1))), rate(raw_verify)),
            }
            for operation, (project, raw) in figures.items():
                print(f"{signer.alg:<8} {operation:<8} {project:>10.0f} {raw:>10.0f} {project / raw:>6.2f}")


if __name__ == "__main__":
    main()
