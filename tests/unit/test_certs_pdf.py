"""PDF: render, extract the text with pdftotext, rasterise with pdftoppm, read the QR back.

Needs poppler-utils. Outside CI the test skips when pdftoppm is missing; with CI=true it
fails instead, so a CI image without poppler cannot pass silently. Set
CERTS_WRITE_SAMPLE=1 to refresh docs/certificate-sample.png from this test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from certs.boxes import PrintedBoxes
from certs.encoding import encode_certificate
from certs.model import Flooding, IssuingPlace
from certs.node_keys import load_node_signer
from certs.pdf import ArchiveMark, CertificateBook, CopyMark, CopyReason, render_certificate_pdf, wareki
from certs.trust_list import load_trust_list
from certs.verify import Status, verify
from tests.unit.certs_fixtures import MASHIKI, NOW, WAJIMA, at, build_pki, certificate

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "certificate-sample.png"


def _require_poppler() -> None:
    if shutil.which("pdftoppm") and shutil.which("pdftotext"):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("pdftoppm/pdftotext missing in CI: install poppler-utils")
    pytest.skip("pdftoppm/pdftotext not installed (apt-get install poppler-utils poppler-data)")


def test_pdf_shows_title_mayor_and_a_verifiable_qr(tmp_path):
    _require_poppler()
    build_pki(tmp_path / "fed")
    cert = certificate(
        flooding=Flooding.ABOVE_FLOOR,
        issuing=IssuingPlace("wajima-1", WAJIMA.code, WAJIMA.name, "輪島市役所 本庁舎 災害対策窓口"),
    )
    qr = encode_certificate(cert, load_node_signer(tmp_path / "fed" / "nodes" / "wajima-1", MASHIKI.code, NOW), NOW)
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(render_certificate_pdf(cert, qr))

    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True).stdout.decode()
    assert "罹災証明書" in text and "山田 太郎" in text and "輪島市（代行）" in text

    subprocess.run(["pdftoppm", "-png", "-r", "150", "-singlefile", str(pdf), str(tmp_path / "page")], check=True)
    with Image.open(tmp_path / "page.png") as page:
        results = zxingcpp.read_barcodes(page)
    assert [r.text for r in results] == [qr]
    # The PDF prints the boxes the QR binds by digest; checking them gives the full certificate.
    verdict = verify(results[0].text, load_trust_list(tmp_path / "fed" / "trust-list.cbor"), at(),
                     printed_boxes=PrintedBoxes.of(cert))
    assert verdict.ok and verdict.certificate == cert and verdict.check("boxes").status is Status.PASS

    if os.environ.get("CERTS_WRITE_SAMPLE") == "1":
        shutil.copyfile(tmp_path / "page.png", SAMPLE)


def _pdf_text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, check=True, capture_output=True).stdout.decode()


def test_a_copy_and_an_archive_copy_are_marked_and_never_equal_the_original(tmp_path):
    _require_poppler()
    build_pki(tmp_path / "fed")
    cert = certificate()
    qr = encode_certificate(cert, load_node_signer(tmp_path / "fed" / "nodes" / "wajima-1", MASHIKI.code, NOW), NOW)
    original = render_certificate_pdf(cert, qr)
    plain = _pdf_text(original)
    assert "再交付" not in plain and "失効" not in plain and "保存用写し" not in plain

    copy = render_certificate_pdf(cert, qr, copy=CopyMark(2, date(2024, 1, 20), CopyReason.DAMAGED))
    text = _pdf_text(copy)
    assert copy != original and "再交付（第2号）" in text and "令和6年1月20日" in text and "理由: 汚損" in text
    assert "Reissued copy no. 2" in text and "罹災証明書" in text.replace(" ", "")

    revoked = _pdf_text(render_certificate_pdf(cert, qr, archive=ArchiveMark("revoked", "誤交付", date(2024, 2, 1))))
    assert "失効" in revoked and "REVOKED" in revoked and "証明書として使用できません" in revoked and "誤交付" in revoked
    superseded = _pdf_text(render_certificate_pdf(
        cert, qr, archive=ArchiveMark("superseded", "434434-wajima-1-000043", date(2024, 2, 1))))
    assert "差替え" in superseded and "SUPERSEDED" in superseded and "434434-wajima-1-000043" in superseded


def test_wareki():
    assert wareki(date(2024, 1, 10)) == "令和6年1月10日"
    assert wareki(date(2019, 5, 1)) == "令和元年5月1日" and wareki(date(2019, 4, 30)) == "平成31年4月30日"
    assert wareki(date(2016, 4, 14)) == "平成28年4月14日" and wareki(date(1989, 1, 7)) == "昭和64年1月7日"


def test_pdf_has_a_seal_area_wareki_and_no_node_id_where_the_resident_reads(tmp_path):
    """Issue 15: 公印省略 in the 公印 area, 交付日 in 和暦 with 西暦, and the node id only in
    the small staff line at the foot (the place name stays)."""
    _require_poppler()
    build_pki(tmp_path / "fed")
    cert = certificate(issuing=IssuingPlace("wajima-1", WAJIMA.code, WAJIMA.name, "輪島市役所 窓口"))
    qr = encode_certificate(cert, load_node_signer(tmp_path / "fed" / "nodes" / "wajima-1", MASHIKI.code, NOW), NOW)
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(render_certificate_pdf(cert, qr))
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True).stdout.decode()
    assert "公印省略" in text
    issue = cert.issue_date
    assert f"令和{issue.year - 2018}年{issue.month}月{issue.day}日（{issue.year}年）" in text
    assert "輪島市役所 窓口" in text
    # The 整理番号 names its node by design (number = town-node-sequence); nothing else may.
    lines_with_node = [line for line in text.splitlines() if "wajima-1" in line and line != str(cert.number)]
    assert lines_with_node == ["発行ノード / issuing node: wajima-1"], lines_with_node


def test_a_book_holds_many_certificates_one_per_page(tmp_path):
    _require_poppler()
    build_pki(tmp_path / "fed")
    signer = load_node_signer(tmp_path / "fed" / "nodes" / "wajima-1", MASHIKI.code, NOW)
    book = CertificateBook("一括印刷")
    numbers = []
    for sequence in (7, 8, 9):
        cert = certificate(sequence=sequence)
        book.add(cert, encode_certificate(cert, signer, NOW))
        numbers.append(str(cert.number))
    pdf = tmp_path / "book.pdf"
    pdf.write_bytes(book.finish())
    assert book.pages == 3
    for page, number in enumerate(numbers, start=1):
        text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-enc", "UTF-8", str(pdf), "-"],
                              check=True, capture_output=True).stdout.decode()
        assert number in text and all(other not in text for other in numbers if other != number)
