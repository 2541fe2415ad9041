"""Status lists for a large federation: build, sign, size, and a verifier's lookups.

    python -m bench.bench_status_list [--certificates 1000000] [--nodes 20]

A synthetic federation of ``--nodes`` issuing nodes shares ``--certificates`` certificates
evenly; 1 % are revoked, 3 % superseded (each with its successor's number) and 0.1 % under
review (fixed random seed). Measured in one run:

- project: the status of every certificate per node from the numbers, as a node builds it
  (certs.status_list.federation_statuses), then sign_status_list for every node (pack the
  2-bit list, zlib, CBOR, COSE_Sign1 ES256), the bundle, and a verifier reading the bundle
  (parse_bundle: trust list and every list's signature) and looking numbers up;
- baseline, on the same bytes: zlib.compress of each node's bitstring plus one raw
  `cryptography` ES256 signature over each list's to-be-signed bytes, and a bare
  ``(bits[i // 4] >> (i % 4) * 2) & 3`` read for the lookup.

It prints the figures and the ratios project / baseline.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import zlib
from datetime import datetime, timezone
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cbor2  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from certs.bundle import build_bundle, parse_bundle  # noqa: E402
from certs.ceremony import build_federation_pki  # noqa: E402
from certs.cose import parse_sign1  # noqa: E402
from certs.federation import FederationConfig, NodeConfig, TownConfig  # noqa: E402
from certs.node_keys import load_node_signers  # noqa: E402
from certs.numbers import CertificateNumber  # noqa: E402
from certs.status_list import TYP, ZLIB_LEVEL, federation_statuses, lookup, pack, sign_status_list  # noqa: E402

NOW = datetime(2024, 1, 10, 9, 0, tzinfo=timezone.utc)
TOWNS = ["434434", "172049", "032107", "432113", "434418"]  # valid 全国地方公共団体コード
LOOKUPS = 200_000


def federation(nodes: int) -> FederationConfig:
    """Five towns that all delegate to one another; ``nodes`` nodes spread over them."""
    towns = tuple(TownConfig(code, f"町{i}", f"町長{i}", tuple(c for c in TOWNS if c != code))
                  for i, code in enumerate(TOWNS))
    return FederationConfig("bench", towns, tuple(NodeConfig(f"node-{i}", TOWNS[i % len(TOWNS)]) for i in range(nodes)))


def synthetic(nodes: int, certificates: int, rng: random.Random) -> tuple[dict, list, list, list]:
    """(highest sequence per node, revoked, (old, new) superseded, under review) as numbers."""
    per_node = certificates // nodes
    highest = {f"node-{i}": per_node for i in range(nodes)}
    revoked, superseded, review = [], [], []
    for node in highest:
        town = TOWNS[int(node.split("-")[1]) % len(TOWNS)]
        number = lambda seq: f"{town}-{node}-{seq:06d}"  # noqa: E731
        for seq in range(1, per_node + 1):
            draw = rng.random()
            if draw < 0.01:
                revoked.append(number(seq))
            elif draw < 0.04:
                superseded.append((number(seq), number(rng.randint(1, per_node))))
            elif draw < 0.041:
                review.append(number(seq))
    return highest, revoked, superseded, review


def timed(fn, *args, **kwargs):
    """(result, seconds)."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def project_build(highest, revoked, superseded, review, signers, node_of_signer):
    lists, t_status = timed(federation_statuses, highest, revoked, superseded, review)
    signer = next(iter(signers.values()))
    start = time.perf_counter()
    signed = {node: sign_status_list(node, statuses, successors, signer, node_of_signer, NOW)
              for node, (statuses, successors) in lists.items()}
    return lists, signed, t_status, time.perf_counter() - start


def baseline(lists: dict, signed: dict, key) -> float:
    """Seconds for zlib of each bitstring plus a raw ES256 signature over each list's TBS bytes."""
    bitstrings = [pack(statuses) for statuses, _ in lists.values()]
    tbs = [parse_sign1(data, 1 << 26, typ=TYP).to_be_signed() for data in signed.values()]
    start = time.perf_counter()
    for bits in bitstrings:
        zlib.compress(bits, ZLIB_LEVEL)
    for data in tbs:
        key.sign(data, ec.ECDSA(hashes.SHA256()))
    return time.perf_counter() - start


def lookups(bundle, highest: dict, rng: random.Random) -> tuple[float, float]:
    """Seconds per lookup: certs.status_list.lookup, and a bare bit read of the same indexes."""
    nodes = sorted(highest)
    numbers = []
    for _ in range(LOOKUPS):
        node = rng.choice(nodes)
        numbers.append(CertificateNumber(TOWNS[int(node.split("-")[1]) % len(TOWNS)], node, rng.randint(1, highest[node])))
    lists = bundle.status_lists
    at = NOW
    start = time.perf_counter()
    for number in numbers:
        lookup(lists, number, at)
    project = (time.perf_counter() - start) / LOOKUPS
    pairs = [(lists[n.node_id].bits, n.sequence) for n in numbers]
    start = time.perf_counter()
    for bits, i in pairs:
        (bits[i // 4] >> (i % 4) * 2) & 3
    raw = (time.perf_counter() - start) / LOOKUPS
    return project, raw


def main(argv: list[str] | None = None) -> None:
    """Run and print the figures."""
    parser = argparse.ArgumentParser(prog="bench_status_list")
    parser.add_argument("--certificates", type=int, default=1_000_000)
    parser.add_argument("--nodes", type=int, default=20)
    args = parser.parse_args(argv)
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        trust_list = build_federation_pki(federation(args.nodes), out, NOW)
        signers = load_node_signers(out / "nodes" / "node-0")
        key = ec.generate_private_key(ec.SECP256R1())
        highest, revoked, superseded, review = synthetic(args.nodes, args.certificates, rng)
        lists, signed, t_status, t_sign = project_build(highest, revoked, superseded, review, signers, "node-0")
        t_base = baseline(lists, signed, key)
        trust_bytes = (out / "trust-list.cbor").read_bytes()
        bundle_bytes, t_bundle = timed(build_bundle, trust_list.root, trust_bytes, list(signed.values()), NOW)
        bundle, t_parse = timed(parse_bundle, bundle_bytes, trust_list.root)
        per_lookup, per_raw = lookups(bundle, highest, rng)
    wire = sum(len(d) for d in signed.values())
    raw_bits = sum(len(pack(s)) for s, _ in lists.values())
    successors = sum(len(cbor2.dumps({i: n for i, n in s.items()})) for _, s in lists.values())
    print(f"status lists: {args.certificates:,} certificates over {args.nodes} issuing nodes "
          f"({len(revoked):,} revoked, {len(superseded):,} superseded, {len(review):,} under review)")
    print(f"  statuses from numbers (federation_statuses): {t_status * 1000:8.1f} ms")
    print(f"  pack + zlib + CBOR + sign, all lists:        {t_sign * 1000:8.1f} ms")
    print(f"  baseline zlib + raw ES256 sign, same bytes:  {t_base * 1000:8.1f} ms   ratio {t_sign / t_base:6.1f}x")
    print(f"  build + sign total vs baseline:              {(t_status + t_sign) * 1000:8.1f} ms   ratio "
          f"{(t_status + t_sign) / t_base:6.1f}x")
    print(f"  on the wire: {wire:,} B for all lists ({wire / args.nodes:,.0f} B per node); bitstrings "
          f"uncompressed {raw_bits:,} B; superseded_by maps {successors:,} B (CBOR)")
    print(f"  bundle: {len(bundle_bytes):,} B, built in {t_bundle * 1000:.1f} ms; a verifier reads and checks it "
          f"in {t_parse * 1000:.1f} ms")
    print(f"  lookup: {per_lookup * 1e6:.2f} µs per certificate (bare bit read {per_raw * 1e6:.3f} µs, "
          f"ratio {per_lookup / per_raw:.1f}x)")


if __name__ == "__main__":
    main()
