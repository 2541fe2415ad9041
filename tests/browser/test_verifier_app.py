"""The offline verifier app in Debian's chromium: loaded once from a node, then offline.

A certificate is issued (certs.encoding), printed (certs.pdf) and photographed (pdftoppm
renders the page to a PNG); the app reads the PNG (ZXing, else jsQR) and verifies it with WebCrypto
against the bundle it fetched while online. Then the browser context goes offline: 有効,
無効 (tampered), 失効, 差替え, 確認中, 確認不能 (expired status list), a bundle of another
root refused, and the self-contained download verifying from file:// with no server.

VERIFIER_WRITE_SCREENSHOTS=1 also writes docs/verifier-*.png (phone 390x844 and desktop).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from tests.browser.support import CHROMIUM_ARGS
from tests.support.verifier_bundle import node_app, scenario

DOCS = Path(__file__).resolve().parents[2] / "docs"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
WRITE = os.environ.get("VERIFIER_WRITE_SCREENSHOTS") == "1"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return scenario(tmp_path_factory.mktemp("verifier"))


@contextlib.asynccontextmanager
async def launched(chromium: str, extra_args: tuple[str, ...] = ()):
    """A chromium, closed afterwards."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield browser
        finally:
            await browser.close()


@contextlib.asynccontextmanager
async def node_and_browser(chromium: str, data, extra_args: tuple[str, ...] = ()):
    """The scenario's node on a free port and a chromium; both stopped afterwards."""
    server = TestServer(node_app(data), host="127.0.0.1")
    await server.start_server()
    try:
        async with launched(chromium, extra_args) as browser:
            yield server, browser
    finally:
        await server.close()


async def open_with_trust_data(browser, server, **context_args):
    """A page of the served app that has fetched the node's bundle once."""
    from playwright.async_api import expect

    context = await browser.new_context(locale="ja-JP", **context_args)
    page = await context.new_page()
    page.set_default_timeout(15_000)
    await page.goto(str(server.make_url("/verifier/")))
    await page.wait_for_selector("body[data-ready]")
    await page.click("#refresh")
    await expect(page.locator("#trust-status")).to_contain_text("wajima-1")
    return page


async def verdict_of(page, image: Path) -> str:
    """Choose ``image`` in the app and return the verdict it shows (data-verdict)."""
    await page.evaluate("document.querySelector('#verdict').removeAttribute('data-verdict')")
    await page.evaluate("document.querySelector('#message').replaceChildren()")
    await page.set_input_files("#image-input", str(image))
    await page.wait_for_selector("#verdict[data-verdict], #message:not(:empty)")
    message = await page.text_content("#message")
    assert not message, f"{image.name}: {message}"
    return await page.get_attribute("#verdict", "data-verdict")


async def shoot(page, name: str) -> None:
    if not WRITE:
        return
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        await page.set_viewport_size(size)
        await page.screenshot(path=str(DOCS / f"verifier-{name}-{label}.png"), full_page=True)
    await page.set_viewport_size(PHONE)


async def test_verdicts_offline_after_one_load(chromium, data, tmp_path):
    from playwright.async_api import expect

    async with node_and_browser(chromium, data) as (server, browser):
        page = await open_with_trust_data(browser, server, viewport=PHONE, device_scale_factor=1)
        context = page.context
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.evaluate("navigator.serviceWorker.ready")
        await page.reload()  # now controlled by the Service Worker, which caches the app
        await page.wait_for_selector("body[data-ready]")
        assert await page.evaluate("!!navigator.serviceWorker.controller")
        download = await (await page.request.get(str(server.make_url("/verifier/download")))).body()

        await context.set_offline(True)
        await page.reload()
        await page.wait_for_selector("body[data-ready]")
        await expect(page.locator("#trust-status")).to_contain_text("wajima-1")

        assert await verdict_of(page, data.images["valid"]) == "VALID"
        verdict = page.locator("#verdict")
        await expect(verdict.locator(".word-ja")).to_have_text("有効")
        await expect(verdict).to_contain_text("益城町長 山田 太郎")
        await expect(verdict).to_contain_text("輪島市（代行）")
        await expect(verdict).to_contain_text("令和6年1月10日（2024-01-10）")
        await expect(verdict).to_contain_text("大規模半壊")
        await shoot(page, "valid")

        expected = {"tampered": ("INVALID", "無効", "署名"), "revoked": ("REVOKED", "失効", "失効"),
                    "superseded": ("SUPERSEDED", "差替え", "434434-wajima-1-000005"),
                    "under_review": ("UNDER_REVIEW", "確認中", "確認中")}
        for name, (key, word, reason) in expected.items():
            assert await verdict_of(page, data.images[name]) == key, name
            await expect(verdict.locator(".word-ja")).to_have_text(word)
            await expect(verdict.locator(".reason")).to_contain_text(reason)
            await expect(verdict.locator("table.content")).to_have_count(0)  # content only when valid
            await shoot(page, name)

        await page.set_input_files("#bundle-input", str(data.expired_bundle))
        await expect(page.locator("#trust-status")).to_contain_text("期限切れ")
        assert await verdict_of(page, data.images["valid"]) == "STATUS_UNKNOWN"
        await expect(verdict.locator(".word-ja")).to_have_text("確認不能")
        await expect(verdict.locator(".reason")).to_contain_text("有効期限が切れています")
        await shoot(page, "status-unknown")

        await page.set_input_files("#bundle-input", str(data.other_root_bundle))
        await expect(page.locator("#message")).to_contain_text("別の連合")
        await expect(page.locator("#trust-status")).to_contain_text("期限切れ")  # the old data stays
        assert await verdict_of(page, data.images["valid"]) == "STATUS_UNKNOWN"
        assert errors == []

    # The download, opened from a file with no server running and no network.
    standalone = tmp_path / "risai-verifier.html"
    standalone.write_bytes(download)
    async with launched(chromium) as browser:
        context = await browser.new_context(viewport=DESKTOP, locale="ja-JP", offline=True)
        page = await context.new_page()
        await page.goto(standalone.as_uri())
        await page.wait_for_selector("body[data-ready]")
        assert await verdict_of(page, data.images["valid"]) == "VALID"
        assert await verdict_of(page, data.images["tampered"]) == "INVALID"
        assert await verdict_of(page, data.images["revoked"]) == "REVOKED"


async def test_camera_scan_verifies(chromium, data, tmp_path):
    """getUserMedia with chromium's fake camera playing a clip of the certificate's QR."""
    from playwright.async_api import expect

    from tests.support.verifier_bundle import camera_video

    clip = camera_video(data.qr["valid"], tmp_path / "camera")
    args = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={clip}")
    async with node_and_browser(chromium, data, args) as (server, browser):
        page = await open_with_trust_data(browser, server, viewport=PHONE)
        await page.click("#camera")
        # Decoding frames of a fake camera is CPU-bound: on a loaded 2-core machine the first
        # read took longer than Playwright's 30 s default (a CI run failed here), so wait longer.
        await page.wait_for_selector("#verdict[data-verdict]", timeout=120_000)
        assert await page.get_attribute("#verdict", "data-verdict") == "VALID"
        await expect(page.locator("#video")).to_be_hidden(timeout=30_000)  # the camera stops after a read
        await page.wait_for_function("document.querySelector('#video').srcObject.getTracks()"
                                     ".every(t => t.readyState === 'ended')", timeout=30_000)


async def test_download_refreshes_its_bundle_from_a_node(chromium, data, tmp_path):
    """The downloaded file (origin null) fetches a fresh bundle from a node URL typed in."""
    from playwright.async_api import expect

    async with node_and_browser(chromium, data) as (server, browser):
        page = await browser.new_page(viewport=DESKTOP, locale="ja-JP")
        standalone = tmp_path / "risai-verifier.html"
        standalone.write_bytes(await (await page.request.get(str(server.make_url("/verifier/download")))).body())
        await page.goto(standalone.as_uri())
        await page.wait_for_selector("body[data-ready]")
        await page.set_input_files("#bundle-input", str(data.expired_bundle))
        await expect(page.locator("#trust-status")).to_contain_text("期限切れ")
        await page.fill("#node-url", str(server.make_url("/")).rstrip("/"))
        await page.click("#refresh")
        await expect(page.locator("#message")).to_contain_text("信頼データを更新しました")
        await expect(page.locator("#trust-status")).not_to_contain_text("期限切れ")
