"""The 公印 area: a town's seal image when one is configured, 公印省略 otherwise (issue 15)."""

from __future__ import annotations

import io
import subprocess

import pytest
from PIL import Image, ImageDraw

from certs.encoding import encode_certificate
from certs.node_keys import load_node_signer
from certs.pdf import check_seal_image, render_certificate_pdf
from service.config import ConfigError
from service.counter.printing import SealImages
from tests.unit.certs_fixtures import MASHIKI, NOW, build_pki, certificate
from tests.unit.test_certs_pdf import _pdf_text, _require_poppler


def seal_png(size: int = 240) -> bytes:
    """A red ring with a cross, as a stand-in for a town's 印影."""
    image = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    edge, width = max(1, size // 30), max(1, size // 17)
    draw.ellipse((edge, edge, size - edge, size - edge), outline=(200, 20, 20, 255), width=width)
    draw.line((size // 2, size // 8, size // 2, size - size // 8), fill=(200, 20, 20, 255), width=width)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _images(pdf: bytes) -> list[str]:
    listing = subprocess.run(["pdfimages", "-list", "-", ], input=pdf, capture_output=True, check=True)
    return [line for line in listing.stdout.decode().splitlines()[2:] if line.strip()]


def test_the_seal_image_replaces_seal_omitted(tmp_path):
    _require_poppler()
    build_pki(tmp_path / "fed")
    cert = certificate()
    qr = encode_certificate(cert, load_node_signer(tmp_path / "fed" / "nodes" / "wajima-1", MASHIKI.code, NOW), NOW)
    plain = render_certificate_pdf(cert, qr)
    sealed = render_certificate_pdf(cert, qr, seal=seal_png())
    assert "公印省略" in _pdf_text(plain) and "公印省略" not in _pdf_text(sealed)
    assert _images(plain) == [] and len(_images(sealed)) >= 1  # the seal (and its alpha mask)
    assert sealed == render_certificate_pdf(cert, qr, seal=seal_png())  # still byte-stable


@pytest.mark.parametrize("data, reason", [
    (b"GIF89a....", "is not a PNG"),
    (seal_png(8), "pixels"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "cannot be decoded"),
])
def test_unprintable_seal_images_are_refused(data, reason):
    assert reason in check_seal_image(data)


def test_seal_folder_is_checked_at_start_naming_the_file(tmp_path):
    assert SealImages.load(None).for_town(MASHIKI.code) is None
    (tmp_path / f"{MASHIKI.code}.png").write_bytes(seal_png())
    (tmp_path / "README.txt").write_text("not an image: ignored")
    seals = SealImages.load(tmp_path)
    assert seals.for_town(MASHIKI.code) == seal_png() and seals.for_town("172049") is None

    (tmp_path / "mashiki.png").write_bytes(seal_png())
    with pytest.raises(ConfigError, match="mashiki.png: name it by the town's code"):
        SealImages.load(tmp_path)
    (tmp_path / "mashiki.png").unlink()
    (tmp_path / "172049.png").write_bytes(b"not a png")
    with pytest.raises(ConfigError, match="172049.png is not a PNG"):
        SealImages.load(tmp_path)
    with pytest.raises(ConfigError, match="is not a folder"):
        SealImages.load(tmp_path / "missing")
