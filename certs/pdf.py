"""Printable certificate in the Cabinet Office unified form (統一様式), A4, with the QR.

Rendered on demand (a request for a PDF), never on the issuing path: issuing only signs.
Japanese text uses IPA Mincho from Debian's fonts-ipafont-mincho when installed (embedded
as a subset, so pdftotext and any viewer get real text), else ReportLab's built-in CID
font HeiseiMin-W3, which needs no file. The QR code is drawn as vector rectangles from
segno's module matrix, so it stays sharp at any print resolution.

Two marked variants (DESIGN 5, "nothing invalid ever printed"):
- a 再交付 copy (``CopyMark``) prints 再交付, its copy number, the date of the copy and the
  reason (紛失 / 汚損 / 追加) above the title, so it is never byte-identical to the original;
- an archive copy of a revoked or superseded certificate (``ArchiveMark``) carries a large
  失効 / 差替え mark diagonally across the page and a banner saying it is not valid as a
  certificate (with the reason, or the superseding number). The service refuses to print
  such a certificate any other way.
"""

from __future__ import annotations

import enum
import functools
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from .damage import DamageClass
from .encoding import make_qr
from .model import Certificate, CertificateType, Flooding

IPA_MINCHO = Path("/usr/share/fonts/opentype/ipafont-mincho/ipam.ttf")
LEFT, RIGHT, LABEL_WIDTH = 20 * mm, A4[0] - 20 * mm, 52 * mm
QR_SIZE = 48 * mm


@functools.cache
def japanese_font() -> str:
    """Register (once) and return the name of the Japanese font to use."""
    if IPA_MINCHO.exists():
        pdfmetrics.registerFont(TTFont("IPAMincho", str(IPA_MINCHO)))
        return "IPAMincho"
    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiMin-W3"))
    return "HeiseiMin-W3"


class CopyReason(enum.Enum):
    """Why a 再交付 copy was made."""

    LOST = "紛失"
    DAMAGED = "汚損"
    ADDITIONAL = "追加"

    @property
    def label_en(self) -> str:
        """English beside the Japanese."""
        return {"LOST": "lost", "DAMAGED": "damaged", "ADDITIONAL": "additional copy"}[self.name]


@dataclass(frozen=True)
class CopyMark:
    """A 再交付 copy: its number (1, 2, ...), the day it was made and why."""

    copy_no: int
    made_on: date
    reason: CopyReason | None  # None: a copy recorded before reasons were (printed as not recorded)


@dataclass(frozen=True)
class ArchiveMark:
    """An archive print of a withdrawn certificate: ``state`` is "revoked" or "superseded";
    ``detail`` the revocation reason or the superseding 整理番号."""

    state: str
    detail: str
    printed_on: date

    @property
    def label(self) -> tuple[str, str]:
        """(Japanese, English) word for the mark."""
        return ("失効", "REVOKED") if self.state == "revoked" else ("差替え", "SUPERSEDED")


def render_certificate_pdf(cert: Certificate, qr_string: str, *, copy: CopyMark | None = None,
                           archive: ArchiveMark | None = None, seal: bytes | None = None) -> bytes:
    """A4 PDF of ``cert`` with the QR for ``qr_string`` (the signed encoding of ``cert``),
    marked as a 再交付 ``copy`` or as an ``archive`` copy when given; ``seal`` is the competent
    town's seal image (PNG bytes) for the 公印 area, else 公印省略 is printed."""
    book = CertificateBook(f"{cert.cert_type.label_ja} {cert.number}")
    book.add(cert, qr_string, copy=copy, archive=archive, seal=seal)
    return book.finish()


class CertificateBook:
    """Many certificates as the pages of one PDF (一括印刷): one canvas, so the font subset
    and the document overhead are paid once, not per page. Pages are added in order; the
    caller adds only certificates it has checked (current, printed boxes matching the QR)."""

    def __init__(self, title: str) -> None:
        self._buffer = io.BytesIO()
        self._canvas = Canvas(self._buffer, pagesize=A4, invariant=True)  # invariant: same input, same bytes
        self._canvas.setTitle(title)
        self.pages = 0

    def add(self, cert: Certificate, qr_string: str, *, copy: CopyMark | None = None,
            archive: ArchiveMark | None = None, seal: bytes | None = None) -> None:
        """Draw ``cert`` as the next page (``seal``: the competent town's seal image)."""
        _draw_page(self._canvas, cert, qr_string, copy, archive, seal)
        self._canvas.showPage()
        self.pages += 1

    def finish(self) -> bytes:
        """The PDF bytes (the book takes no more pages)."""
        self._canvas.save()
        return self._buffer.getvalue()


def _draw_page(canvas: Canvas, cert: Certificate, qr_string: str, copy: CopyMark | None,
               archive: ArchiveMark | None, seal: bytes | None) -> None:
    font = japanese_font()
    if copy is not None:
        _copy_banner(canvas, font, copy)
    if archive is not None:
        _archive_banner(canvas, font, archive)
    y = _header(canvas, font, cert)
    y = _rows(canvas, font, cert, y)
    _footer(canvas, font, cert, y, seal)
    draw_qr(canvas, qr_string, LEFT, 22 * mm, QR_SIZE)
    canvas.setFont(font, 8)
    canvas.drawString(LEFT, 17 * mm, "検証用QRコード（オフライン検証可） / Verification QR code (offline, JPRC1)")
    # For staff only, in small type away from what the resident reads: which node issued it.
    canvas.setFont(font, 6)
    canvas.drawRightString(A4[0] - LEFT, 12 * mm, f"発行ノード / issuing node: {cert.issuing.node_id}")
    if archive is not None:
        _archive_mark(canvas, font, archive)  # last, so it lies over everything else


def draw_qr(canvas: Canvas, qr_string: str, x: float, y: float, size: float) -> None:
    """Draw the QR for ``qr_string`` as vector squares in a ``size`` box at (x, y)."""
    matrix = make_qr(qr_string).matrix
    border = 4  # the quiet zone the QR standard asks for, in modules
    module = size / (len(matrix) + 2 * border)
    canvas.setFillColorRGB(0, 0, 0)
    for row_index, row in enumerate(matrix):
        top = y + size - (row_index + border + 1) * module
        column = 0
        while column < len(row):  # one rectangle per run of dark modules: smaller PDF
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            canvas.rect(x + (start + border) * module, top, (column - start) * module, module, stroke=0, fill=1)


def _header(canvas: Canvas, font: str, cert: Certificate) -> float:
    top = A4[1] - 20 * mm
    canvas.setFont(font, 10)
    canvas.drawRightString(RIGHT, top, f"整理番号 / No.  {cert.number}")
    # The form spaces the title out; character spacing (not inserted spaces) keeps the
    # word searchable and extractable as 罹災証明書.
    title = cert.cert_type.label_ja
    canvas.setFont(font, 24)
    spacing = 8
    width = pdfmetrics.stringWidth(title, font, 24) + spacing * (len(title) - 1)
    canvas.saveState()  # character spacing is graphics state: keep it to the title
    text = canvas.beginText(A4[0] / 2 - width / 2, top - 20 * mm)
    text.setFont(font, 24)
    text.setCharSpace(spacing)
    text.textOut(title)
    canvas.drawText(text)
    canvas.restoreState()
    canvas.setFont(font, 11)
    canvas.drawCentredString(A4[0] / 2, top - 28 * mm, cert.cert_type.label_en)
    return top - 38 * mm


def _rows(canvas: Canvas, font: str, cert: Certificate, y: float) -> float:
    rows = [
        ("世帯主住所", "Householder's address", cert.householder_address),
        ("世帯主氏名", "Householder's name", cert.householder_name),
        ("罹災原因", "Cause of damage", f"{_jdate(cert.disaster.date)} {cert.disaster.name}"),
        ("被災住家の所在地", "Location of the damaged dwelling", cert.dwelling_address),
    ]
    if cert.cert_type is CertificateType.RISAI:
        rows.append(("住家の被害の程度", "Degree of damage to the dwelling", _classes(cert.damage_class)))
    if cert.members:
        rows.append(("世帯構成員", "Household members", "、".join(f"{m.name}（{m.relation}）" for m in cert.members)))
    if cert.flooding:
        marks = "　".join(("■" if cert.flooding is f else "□") + f.label_ja for f in Flooding)
        rows.append(("浸水区分", "Inundation", f"{marks}\n{cert.flooding.label_en}"))
    if cert.other_damage:
        rows.append(("その他の被害", "Other damage", cert.other_damage))
    for ja, en, value in rows:
        y = _row(canvas, font, ja, en, value, y)
    return y


def _row(canvas: Canvas, font: str, ja: str, en: str, value: str, y: float) -> float:
    lines = [part for paragraph in value.split("\n") for part in _wrap(paragraph, font, 11, RIGHT - LEFT - LABEL_WIDTH - 6 * mm)]
    height = max(14 * mm, (len(lines) * 6 + 5) * mm)
    canvas.setLineWidth(0.6)
    canvas.rect(LEFT, y - height, RIGHT - LEFT, height)
    canvas.line(LEFT + LABEL_WIDTH, y - height, LEFT + LABEL_WIDTH, y)
    canvas.setFont(font, 11)
    canvas.drawString(LEFT + 3 * mm, y - 6 * mm, ja)
    canvas.setFont(font, 7.5)
    canvas.drawString(LEFT + 3 * mm, y - 10.5 * mm, en)
    canvas.setFont(font, 11)
    for index, line in enumerate(lines):
        canvas.drawString(LEFT + LABEL_WIDTH + 3 * mm, y - (6 + 6 * index) * mm, line)
    return y - height


def _footer(canvas: Canvas, font: str, cert: Certificate, y: float, seal: bytes | None) -> None:
    canvas.setFont(font, 11)
    canvas.drawString(LEFT, y - 10 * mm, "上記のとおり相違ないことを証明します。")
    canvas.setFont(font, 8)
    canvas.drawString(LEFT, y - 14.5 * mm, "This is to certify that the above is true and correct.")
    if cert.supersedes:
        canvas.drawString(LEFT, y - 19 * mm, f"本証明書は整理番号 {cert.supersedes} を置き換えます / Supersedes No. {cert.supersedes}")
    x = A4[0] / 2 - 5 * mm
    canvas.setFont(font, 11)
    canvas.drawString(x, y - 28 * mm, f"交付日　{_jdate(cert.issue_date)}")
    canvas.setFont(font, 8)
    canvas.drawString(x, y - 32 * mm, f"Date of issue: {cert.issue_date.isoformat()}")
    canvas.setFont(font, 14)
    canvas.drawString(x, y - 42 * mm, f"{cert.competent_town.name}長　{cert.competent_town.mayor}")
    _seal(canvas, font, x + 80 * mm, y - 47 * mm, seal)
    canvas.setFont(font, 8)
    canvas.drawString(x, y - 46.5 * mm, f"Mayor of {cert.competent_town.name} (town code {cert.competent_town.code})")
    place = cert.issuing.town_name + ("（代行）" if cert.on_behalf else "")
    canvas.setFont(font, 10)
    canvas.drawString(x, y - 54 * mm, f"交付場所　{place}")
    canvas.setFont(font, 8)
    detail = f"Place of issue: {cert.issuing.town_name}" + (" (on behalf of the competent town)" if cert.on_behalf else "")
    canvas.drawString(x, y - 58 * mm, detail)
    if cert.issuing.place:
        canvas.drawString(x, y - 62 * mm, cert.issuing.place)


def _seal(canvas: Canvas, font: str, x: float, y: float, seal: bytes | None) -> None:
    """The 公印 area: the town's seal image when configured, else 公印省略 (the certificate is
    signed electronically: the QR, not the seal, is what a verifier checks)."""
    size = 16 * mm
    if seal is not None:
        canvas.drawImage(ImageReader(io.BytesIO(seal)), x - 2 * mm, y - 2 * mm, size + 4 * mm, size + 4 * mm,
                         preserveAspectRatio=True, anchor="c", mask="auto")
        return
    canvas.rect(x, y, size, size)
    canvas.setFont(font, 9)
    canvas.drawCentredString(x + size / 2, y + size / 2 + 0.5 * mm, "公印省略")
    canvas.setFont(font, 5)
    canvas.drawCentredString(x + size / 2, y + size / 2 - 3.5 * mm, "seal omitted")


def _copy_banner(canvas: Canvas, font: str, copy: CopyMark) -> None:
    top = A4[1] - 12 * mm
    canvas.setFont(font, 12)
    reason_ja, reason_en = (copy.reason.value, copy.reason.label_en) if copy.reason else ("記録なし", "not recorded")
    canvas.drawString(LEFT, top, f"再交付（第{copy.copy_no}号）　{wareki(copy.made_on)}　理由: {reason_ja}")
    canvas.setFont(font, 8)
    canvas.drawString(LEFT, top - 4 * mm, f"Reissued copy no. {copy.copy_no}, {copy.made_on.isoformat()}, "
                                          f"reason: {reason_en}")


def _archive_banner(canvas: Canvas, font: str, mark: ArchiveMark) -> None:
    ja, en = mark.label
    why_ja = f"理由: {mark.detail}" if mark.state == "revoked" else f"差替え後の整理番号: {mark.detail}"
    why_en = f"reason: {mark.detail}" if mark.state == "revoked" else f"superseded by No. {mark.detail}"
    top = A4[1] - 7 * mm
    canvas.saveState()
    canvas.setFillColorRGB(0.75, 0, 0)
    canvas.setFont(font, 11)
    canvas.drawString(LEFT, top, f"保存用写し（{ja}）: 証明書として使用できません")
    canvas.setFont(font, 8)
    canvas.drawString(LEFT, top - 4 * mm, f"{why_ja}　印刷日 {wareki(mark.printed_on)}")
    canvas.setFont(font, 7)
    canvas.drawString(LEFT, top - 7.5 * mm, f"ARCHIVE COPY ({en}), not valid as a certificate: {why_en}; "
                                            f"printed {mark.printed_on.isoformat()}")
    canvas.restoreState()


def _archive_mark(canvas: Canvas, font: str, mark: ArchiveMark) -> None:
    ja, en = mark.label
    canvas.saveState()
    canvas.setFillColorRGB(0.8, 0, 0, alpha=0.35)  # translucent: the content stays readable under it
    canvas.translate(A4[0] / 2, A4[1] / 2)
    canvas.rotate(55)
    canvas.setFont(font, 150)
    canvas.drawCentredString(0, 0, ja)
    canvas.setFont(font, 40)
    canvas.drawCentredString(0, -45 * mm, en)
    canvas.restoreState()


# 和暦: the era in which a date falls (first day of each era).
_ERAS = ((date(2019, 5, 1), "令和"), (date(1989, 1, 8), "平成"), (date(1926, 12, 25), "昭和"))


def wareki(value: date) -> str:
    """A date in the Japanese era calendar, e.g. 令和6年1月10日 (元年 for the first year)."""
    for start, era in _ERAS:
        if value >= start:
            year = value.year - start.year + 1
            return f"{era}{'元' if year == 1 else year}年{value.month}月{value.day}日"
    return f"{value.year}年{value.month}月{value.day}日"  # before 昭和: 西暦 alone


def _classes(selected: DamageClass | None) -> str:
    marks = [("■" if klass is selected else "□") + klass.label_ja for klass in DamageClass]
    english = selected.label_en if selected else ""
    return "　".join(marks[:3]) + "\n" + "　".join(marks[3:]) + "\n" + english


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    # Japanese has no spaces to break at; break at any character that would overflow.
    lines, current = [], ""
    for char in text:
        if pdfmetrics.stringWidth(current + char, font, size) > width:
            lines.append(current)
            current = ""
        current += char
    return lines + [current] if current or not lines else lines


def _jdate(value: date) -> str:
    """和暦 with 西暦 beside it: 令和8年12月1日（2026年）."""
    if value < _ERAS[-1][0]:
        return f"{value.year}年{value.month}月{value.day}日"
    return f"{wareki(value)}（{value.year}年）"


MAX_SEAL_BYTES = 2 * 1024 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def check_seal_image(data: bytes) -> str | None:
    """Why ``data`` cannot be printed as a seal (not a PNG, too large, undecodable), or None."""
    if not data.startswith(PNG_SIGNATURE):
        return "is not a PNG file"
    if len(data) > MAX_SEAL_BYTES:
        return f"is larger than {MAX_SEAL_BYTES // 1024} KiB"
    try:
        width, height = ImageReader(io.BytesIO(data)).getSize()
    except Exception as exc:  # noqa: BLE001 - PIL raises many kinds for a broken file
        return f"cannot be decoded ({type(exc).__name__})"
    if not (16 <= width <= 4000 and 16 <= height <= 4000):
        return f"is {width}x{height} pixels (16 to 4000 each way)"
    return None
