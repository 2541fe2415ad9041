"""Verifier-app test data: a federation PKI, issued certificates as PDF page images, and
verifier bundles (trust list + status lists) in the wire format of status-format.md.

Test-only stand-in: the status lists and bundles are signed here, following the agreed
format exactly, because certs/status_list.py and certs/bundle.py (issue 11) are built on
another branch at the same time. Once they are merged, ``status_list`` and ``bundle``
below should call ``certs.status_list.sign_status_list`` and ``certs.bundle.build_bundle``,
and the trust list should come straight from the ceremony (which then names the status
list signers itself).
"""

from __future__ import annotations

import subprocess
import zlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cbor2
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from certs.ceremony import build_federation_pki
from certs.cose import sig_structure, sign1
from certs.encoding import cose_to_qr_string, encode_certificate, qr_string_to_cose
from certs.keys import COSE_ALG_IDS, SoftwareSigner, load_private_key
from certs.node_keys import load_node_signer
from certs.numbers import CertificateNumber
from certs.pdf import render_certificate_pdf
from certs.pki import kid_of
from certs.trust_list import _to_cbor, load_trust_list
from service.keyring import Keyring
from service.web.appkeys import KEYRING
from service.web.errors import error_middleware
from service.web.verifier import setup_verifier
from tests.unit.certs_fixtures import MASHIKI, federation_config, worst_case_certificate

TYP = "application/statuslist+cwt"
VALID, REVOKED, UNDER_REVIEW, SUPERSEDED = 0, 1, 2, 3


@dataclass(frozen=True)
class Federation:
    """A PKI folder, its root, and its trust list re-signed to name the status-list signers."""

    pki: Path
    root: x509.Certificate
    trust_list: bytes

    @property
    def root_der(self) -> bytes:
        return self.root.public_bytes(Encoding.DER)


def federation(out: Path, now: datetime) -> Federation:
    """Run the init ceremony 5 days before ``now``; every delegation may sign status lists."""
    build_federation_pki(federation_config(), out, now - timedelta(days=5))
    root = x509.load_pem_x509_certificate((out / "root.pem").read_bytes())
    trust = load_trust_list(out / "trust-list.cbor", root)
    body = _to_cbor(trust)
    body["status_list_signers"] = [kid_of(d) for d in trust.delegations]
    root_key = load_private_key(out / "offline" / "root.key.pem")
    signed = sign1(cbor2.dumps(body, canonical=True), SoftwareSigner(root_key, kid_of(root)))
    return Federation(out, root, signed)


def node_signer(fed: Federation, node: str, town: str, now: datetime):
    return load_node_signer(fed.pki / "nodes" / node, town, now)


def status_list(fed: Federation, node: str, statuses: dict[int, int], superseded_by: dict[int, str],
                issued_at: datetime, validity: timedelta = timedelta(days=2)) -> bytes:
    """A signed status list of issuing node ``node``, signed by that node's own key."""
    signer = node_signer(fed, node, MASHIKI.code, issued_at)
    bits = bytearray(max(statuses) // 4 + 1)
    for index, value in statuses.items():
        bits[index // 4] |= value << ((index % 4) * 2)
    iat = int(issued_at.timestamp())
    claims = {2: f"risai:status:{node}", 6: iat, 4: iat + int(validity.total_seconds()), 65534: 3600,
              65533: {"bits": 2, "lst": zlib.compress(bytes(bits), 9)}, -65537: superseded_by, -65538: node}
    protected = cbor2.dumps({1: COSE_ALG_IDS[signer.alg], 4: signer.kid, 16: TYP}, canonical=True)
    payload = cbor2.dumps(claims, canonical=True)
    signature = signer.sign(sig_structure(protected, payload))
    return cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))


def bundle(fed: Federation, status_lists: list[bytes], created_at: datetime) -> bytes:
    """A verifier bundle: {"format", "created_at", "root", "trust_list", "status_lists"}."""
    return cbor2.dumps({"format": 1, "created_at": int(created_at.timestamp()), "root": fed.root_der,
                        "trust_list": fed.trust_list, "status_lists": status_lists}, canonical=True)


def pdf_page_png(cert, qr: str, out: Path, dpi: int = 150) -> Path:
    """Render the certificate's PDF (certs.pdf) and its page as a PNG with pdftoppm."""
    pdf = out.with_suffix(".pdf")
    pdf.write_bytes(render_certificate_pdf(cert, qr))
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(pdf), str(out.with_suffix(""))],
                   check=True, timeout=60)
    return out.with_suffix(".png")


@dataclass(frozen=True)
class Scenario:
    """Everything the browser tests use: images by expected verdict, and bundle files."""

    fed: Federation
    images: dict[str, Path]
    qr: dict[str, str]
    current_bundle: bytes
    expired_bundle: Path
    other_root_bundle: Path


def scenario(out: Path, now: datetime | None = None) -> Scenario:
    """Certificates of wajima-1 for 益城町: 1 valid, 2 revoked, 3 superseded by 5, 4 under review."""
    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    fed = federation(out / "pki", now)
    signed_at = now - timedelta(hours=3)
    signer = node_signer(fed, "wajima-1", MASHIKI.code, signed_at)
    qr, images = {}, {}
    for name, sequence in (("valid", 1), ("revoked", 2), ("superseded", 3), ("under_review", 4)):
        cert = replace(worst_case_certificate(), number=CertificateNumber(MASHIKI.code, "wajima-1", sequence))
        qr[name] = encode_certificate(cert, signer, signed_at)
        images[name] = pdf_page_png(cert, qr[name], out / f"{name}.png")
    cert = replace(worst_case_certificate(), number=CertificateNumber(MASHIKI.code, "wajima-1", 1))
    qr["tampered"] = tamper(qr["valid"])
    images["tampered"] = pdf_page_png(cert, qr["tampered"], out / "tampered.png")
    statuses = {1: VALID, 2: REVOKED, 3: SUPERSEDED, 4: UNDER_REVIEW, 5: VALID}
    successor = {3: f"{MASHIKI.code}-wajima-1-000005"}
    current = bundle(fed, [status_list(fed, "wajima-1", statuses, successor, now - timedelta(hours=1))], now)
    expired = bundle(fed, [status_list(fed, "wajima-1", statuses, successor, now - timedelta(days=3))],
                     now - timedelta(hours=2))
    other = federation(out / "other-pki", now)
    other_bundle = bundle(other, [], now)
    (out / "expired.cbor").write_bytes(expired)
    (out / "other-root.cbor").write_bytes(other_bundle)
    return Scenario(fed, images, qr, current, out / "expired.cbor", out / "other-root.cbor")


def tamper(qr: str) -> str:
    """The QR re-encoded with the damage class raised to 全壊 and the original signature kept:
    the forgery a verifier must catch (the transport stays well-formed, the signature fails)."""
    tag = cbor2.loads(qr_string_to_cose(qr))
    protected, unprotected, payload, signature = tag.value
    claims = cbor2.loads(payload)
    claims[-65537][8] = 1  # 全壊
    forged = cbor2.dumps(claims, canonical=True)
    return cose_to_qr_string(cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, forged, signature])))


def node_app(data: Scenario) -> web.Application:
    """A node's verifier routes with its keyring, and a bundle endpoint serving the scenario's
    current bundle (a stand-in for issue 11's GET /api/v1/verifier-bundle)."""
    app = web.Application(middlewares=[error_middleware])
    pki = data.fed.pki
    app[KEYRING] = Keyring.load(pki / "nodes" / "wajima-1", pki / "trust-list.cbor", pki / "root.pem", "172049")

    async def bundle_endpoint(request: web.Request) -> web.Response:
        return web.Response(body=data.current_bundle, content_type="application/cbor")

    app.router.add_get("/api/v1/verifier-bundle", bundle_endpoint)
    setup_verifier(app)
    return app


def camera_video(qr: str, out: Path) -> Path:
    """A Y4M clip (what chromium's fake camera plays) showing the QR for ``qr`` on white, 640x480."""
    from PIL import Image

    from certs.encoding import make_qr

    png = out.with_suffix(".png")
    make_qr(qr).save(str(png), scale=4, border=4)
    frame = Image.new("RGB", (640, 480), "white")
    symbol = Image.open(png).convert("RGB")
    frame.paste(symbol, ((640 - symbol.width) // 2, (480 - symbol.height) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    half = (320, 240)
    body = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    path = out.with_suffix(".y4m")
    path.write_bytes(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n" + (b"FRAME\n" + body) * 3)
    return path
