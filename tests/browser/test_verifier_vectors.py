"""Every case of tests/vectors/verifier-cases.json through the app itself in chromium (the
file the node offers for download, opened from file://, its clock set to each case's time):
load the case's bundle file, paste the QR text, read the verdict word. The same vectors
also go through node and certs.verify in tests/integration/test_verifier_cross.py.

RISAI_CERTS_ROOT points at another checkout's vectors (e.g. before a merge), as there.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from service.web.verifier import render_standalone
from tests.browser.support import CHROMIUM_ARGS

REPO = Path(__file__).resolve().parents[2]
CASES = Path(os.environ.get("RISAI_CERTS_ROOT", REPO)) / "tests" / "vectors" / "verifier-cases.json"
WORDS = {"VALID": "有効", "INVALID": "無効", "REVOKED": "失効", "SUPERSEDED": "差替え", "UNDER_REVIEW": "確認中",
         "STATUS_UNKNOWN": "確認不能"}


async def test_vector_cases_in_chromium(chromium, tmp_path):
    from playwright.async_api import async_playwright, expect

    if not CASES.exists():
        pytest.skip(f"{CASES} is not on this branch yet (issue 11 writes it)")
    vectors = json.loads(CASES.read_text())
    page_file = tmp_path / "risai-verifier.html"
    page_file.write_text(render_standalone(base64.b64decode(vectors["root_der_b64"]), None), encoding="utf-8")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(locale="ja-JP", offline=True)
            page = await context.new_page()
            page.set_default_timeout(15_000)
            await page.clock.set_fixed_time(datetime.fromisoformat(vectors["cases"][0]["now"]))
            await page.goto(page_file.as_uri())
            await page.wait_for_selector("body[data-ready]")
            for n, case in enumerate(vectors["cases"]):
                await page.clock.set_fixed_time(datetime.fromisoformat(case["now"]))
                await page.evaluate("document.querySelector('#message').replaceChildren()")
                bundle = tmp_path / f"bundle-{n}.cbor"
                bundle.write_bytes(base64.b64decode(case["bundle"]))
                await page.set_input_files("#bundle-input", str(bundle))
                await page.wait_for_selector("#message:not(:empty)")
                if case.get("bundle_error"):
                    await expect(page.locator("#message")).to_contain_text("別の連合")
                    continue
                await expect(page.locator("#message")).to_contain_text("信頼データを更新しました")
                await page.evaluate("document.querySelector('#verdict').removeAttribute('data-verdict')")
                await page.fill("#qr-text", case["qr"])
                await page.click("#text-form button[type=submit]")
                await page.wait_for_selector("#verdict[data-verdict]")
                word = WORDS[await page.get_attribute("#verdict", "data-verdict")]
                assert word == case["verdict"], case["name"]
                await expect(page.locator("#verdict .word-ja")).to_have_text(word)
                if case["superseded_by"]:
                    await expect(page.locator("#verdict .reason")).to_contain_text(case["superseded_by"])
        finally:
            await browser.close()
