"""The verifier bundle: one file a bank or insurer carries to verify with no network.

CBOR map (canonical)::

    {"format": 1, "created_at": int seconds, "root": DER of the federation root,
     "trust_list": signed trust list bytes exactly as served,
     "status_lists": [signed status list bytes, ...]}

The bundle itself is not signed: everything inside is. Reading it (``parse_bundle``):

1. the root must equal the pinned root, if one is given (the bundle's own root is only
   trusted when the verifier chose to pin it, e.g. ``risai-verify --bundle``);
2. the trust list must verify under that root; otherwise the whole bundle is refused;
3. each status list is verified against the trust list. One that is refused is dropped and
   its reason kept (``Bundle.rejected``): certificates of that node are then 確認不能,
   never valid. Of two lists for one node the newer (``iat``) is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from .errors import CertsError
from .status_list import StatusList, StatusListError, parse_status_list
from .trust_list import TrustList, parse_trust_list

FORMAT = 1
MAX_BUNDLE_BYTES = 128 * 1024 * 1024
MEDIA_TYPE = "application/cbor"
FILE_NAME = "risai-verifier-bundle.cbor"


class BundleError(CertsError):
    """A bundle that cannot be used at all: malformed, another root, or a bad trust list."""

    default_code = "certs.bundle"


@dataclass(frozen=True)
class Bundle:
    """A verified bundle: the root, the trust list, usable status lists by issuing node."""

    created_at: datetime
    root: x509.Certificate
    trust_list: TrustList
    status_lists: dict[str, StatusList] = field(default_factory=dict)
    rejected: tuple[tuple[int, str], ...] = ()  # (position in the file, reason) of dropped lists


def build_bundle(root: x509.Certificate, trust_list: bytes, status_lists: Sequence[bytes], created_at: datetime) -> bytes:
    """The bundle bytes (canonical CBOR); the parts are embedded exactly as given."""
    return cbor2.dumps({
        "format": FORMAT,
        "created_at": int(created_at.timestamp()),
        "root": root.public_bytes(Encoding.DER),
        "trust_list": bytes(trust_list),
        "status_lists": [bytes(s) for s in status_lists],
    }, canonical=True)


def parse_bundle(data: bytes, pinned_root: x509.Certificate | None) -> Bundle:
    """Verify and read a bundle (see the module docstring); BundleError if refused.

    ``pinned_root=None`` pins the root the bundle carries: a caller does that only when the
    user chose this bundle file as the source of trust.
    """
    if not isinstance(data, (bytes, bytearray)) or not 0 < len(data) <= MAX_BUNDLE_BYTES:
        raise BundleError("bundle.size", f"bundle must be 1..{MAX_BUNDLE_BYTES} bytes", "bundle")
    obj = _load(bytes(data))
    try:
        root = x509.load_der_x509_certificate(obj["root"])
    except ValueError:
        raise BundleError("bundle.root", "bundle root is not a DER certificate", "bundle") from None
    if pinned_root is not None and root != pinned_root:
        raise BundleError("bundle.anchor", "bundle root is not the pinned federation root", "bundle")
    try:
        trust_list = parse_trust_list(obj["trust_list"], anchor=root)
    except CertsError as exc:
        raise BundleError("bundle.trust_list", f"bundle trust list refused: {exc.message}", "bundle") from None
    lists: dict[str, StatusList] = {}
    rejected = []
    for position, signed in enumerate(obj["status_lists"]):
        try:
            parsed = parse_status_list(signed, trust_list)
        except StatusListError as exc:
            rejected.append((position, exc.message))
            continue
        current = lists.get(parsed.node_id)
        if current is None or parsed.issued_at > current.issued_at:
            lists[parsed.node_id] = parsed
    created = datetime.fromtimestamp(obj["created_at"], timezone.utc)
    return Bundle(created, root, trust_list, lists, tuple(rejected))


def _load(data: bytes) -> dict:
    try:
        obj = cbor2.loads(data)
    except Exception as exc:  # untrusted bytes: cbor2 raises several types
        raise BundleError("bundle.cbor", f"bundle is not valid CBOR: {type(exc).__name__}", "bundle") from None
    shape = {"format": int, "created_at": int, "root": bytes, "trust_list": bytes, "status_lists": list}
    if not isinstance(obj, dict) or set(obj) != set(shape) or obj.get("format") != FORMAT:
        raise BundleError("bundle.format", "not a verifier bundle of format 1", "bundle")
    if any(type(obj[k]) is not t for k, t in shape.items()) or any(type(s) is not bytes for s in obj["status_lists"]):
        raise BundleError("bundle.format", "bundle fields have the wrong types", "bundle")
    return obj
