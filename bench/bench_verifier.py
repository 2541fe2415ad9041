"""The offline verifier app in chromium: time from image to verdict, and the app's size.

    python -m bench.bench_verifier        (about 40 s; needs chromium, playwright, node build)

For a version-15 QR (the largest a certificate gets) it measures, in the same browser run:
- the app's whole path, image file chosen → verdict shown (the #timing figures the app
  itself records: reading the QR with jsQR, then verifying with WebCrypto), for a tight
  QR image (segno, 4 px a module) and for a whole A4 page rendered by pdftoppm at 150 dpi;
- pasting the QR text (verify only);
- bare-stack baselines in the same page: decoding the same PNG to pixels
  (createImageBitmap + getImageData), and one raw WebCrypto ES256 verify;
and prints medians, p90 and ratios. Then the gzipped size of what the browser loads.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import statistics
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp.test_utils import TestServer  # noqa: E402

from certs.encoding import make_qr  # noqa: E402
from service.web.verifier import dist_dir  # noqa: E402
from tests.browser.support import CHROMIUM_ARGS, chromium_or_skip  # noqa: E402
from tests.support.verifier_bundle import node_app, scenario  # noqa: E402

ROUNDS = 15
WARMUP = 2

BASELINE_JS = """async ([b64, rounds]) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const times = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    const bitmap = await createImageBitmap(new Blob([bytes], {type: 'image/png'}));
    const canvas = document.createElement('canvas');
    canvas.width = bitmap.width; canvas.height = bitmap.height;
    const ctx = canvas.getContext('2d', {willReadFrequently: true});
    ctx.drawImage(bitmap, 0, 0);
    ctx.getImageData(0, 0, bitmap.width, bitmap.height);
    times.push(performance.now() - t);
  }
  return times;
}"""

WEBCRYPTO_JS = """async (rounds) => {
  const key = await crypto.subtle.generateKey({name: 'ECDSA', namedCurve: 'P-256'}, false, ['sign', 'verify']);
  const data = new Uint8Array(600);
  const sig = await crypto.subtle.sign({name: 'ECDSA', hash: 'SHA-256'}, key.privateKey, data);
  const times = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    await crypto.subtle.verify({name: 'ECDSA', hash: 'SHA-256'}, key.publicKey, sig, data);
    times.push(performance.now() - t);
  }
  return times;
}"""


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"median {statistics.median(ordered):7.1f} ms   p90 {p90:7.1f} ms"


async def timings(page, selector_action) -> list[dict]:
    out = []
    for _ in range(ROUNDS + WARMUP):
        await page.evaluate("document.querySelector('#timing').removeAttribute('data-ms')")
        await selector_action()
        await page.wait_for_selector("#timing[data-ms]")
        data = await page.evaluate("({...document.querySelector('#timing').dataset})")
        assert await page.get_attribute("#verdict", "data-verdict") == "VALID"
        out.append({k: float(v) for k, v in data.items()})
    return out[WARMUP:]


async def run(chromium: str, work: Path) -> None:
    data = scenario(work)
    qr = data.qr["valid"]
    symbol = make_qr(qr)
    tight = work / "qr-v15.png"
    symbol.save(str(tight), scale=4, border=4)
    print(f"QR: version {symbol.version}, {len(qr)} characters; tight image {symbol.symbol_size(scale=4)} px, "
          f"A4 page {data.images['valid'].name} at 150 dpi")
    server = TestServer(node_app(data), host="127.0.0.1")
    await server.start_server()
    from playwright.async_api import async_playwright

    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.goto(str(server.make_url("/verifier/")))
            await page.wait_for_selector("body[data-ready]")
            await page.click("#refresh")
            await page.wait_for_selector("#trust-status table")
            rows = []
            for label, image in (("tight QR image", tight), ("A4 page, 150 dpi", data.images["valid"])):
                measured = await timings(page, lambda image=image: page.set_input_files("#image-input", str(image)))
                baseline = await page.evaluate(BASELINE_JS, [base64.b64encode(image.read_bytes()).decode(), ROUNDS])
                rows.append((label, measured, baseline))

            async def paste() -> None:
                await page.fill("#qr-text", qr)
                await page.click("#text-form button[type=submit]")

            pasted = await timings(page, paste)
            raw_verify = await page.evaluate(WEBCRYPTO_JS, ROUNDS)
            await browser.close()
    finally:
        await server.close()

    print(f"\nimage → verdict in chromium (Debian {chromium}), {ROUNDS} rounds after {WARMUP} warm-up:")
    for label, measured, baseline in rows:
        total = [m["ms"] for m in measured]
        print(f"  {label:18s} total   {summary(total)}")
        print(f"  {'':18s} read    {summary([m['readMs'] for m in measured])}   (reading the QR: ZXing, else jsQR)")
        print(f"  {'':18s} verify  {summary([m['verifyMs'] for m in measured])}")
        print(f"  {'':18s} bare PNG decode to pixels {summary(baseline)}   ratio total/bare "
              f"{statistics.median(total) / statistics.median(baseline):.1f}")
    verify_only = [m["verifyMs"] for m in pasted]
    print(f"  {'pasted QR text':18s} verify  {summary(verify_only)}")
    print(f"  {'':18s} bare WebCrypto ES256 verify {summary(raw_verify)}   ratio "
          f"{statistics.median(verify_only) / max(statistics.median(raw_verify), 0.001):.1f} "
          "(the app checks 3 signatures: QR, delegation, town CA)")
    sizes()


def sizes() -> None:
    dist = dist_dir()
    loaded = ["index.html", "verifier.js", "verifier.css"]
    raw = sum((dist / n).stat().st_size for n in loaded)
    gz = sum(len(gzip.compress((dist / n).read_bytes(), 9)) for n in loaded)
    sw = len(gzip.compress((dist / "sw.js").read_bytes(), 9))
    print(f"\napp size: {raw / 1024:.1f} KiB raw, {gz / 1024:.1f} KiB gzipped (index.html + verifier.js + verifier.css;"
          f" sw.js {sw / 1024:.1f} KiB gzipped more)")


def main() -> None:
    chromium = chromium_or_skip.__wrapped__() if hasattr(chromium_or_skip, "__wrapped__") else chromium_or_skip()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(chromium, Path(tmp)))


if __name__ == "__main__":
    main()
