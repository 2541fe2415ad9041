"""The quarantine screen (issue 15) in Debian's chromium: a supervisor sees why each event
was refused, replays one after the fix (confirmed first), and it moves to 再適用済み."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.support import browser_page, log_in, ui_node
from tests.integration.test_quarantine_replay import _quarantine, _sealed
from tests.support.auth import PASSWORD, add_staff
from tests.support.counter import TOWN_B, build_pki

pytestmark = pytest.mark.integration
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def pki():
    return build_pki()


async def test_supervisor_replays_a_quarantined_event(chromium, database, pki, tmp_path):
    from playwright.async_api import expect

    out = DOCS if os.environ.get("RISAI_UI_SCREENSHOT") == "1" else tmp_path
    async with ui_node(database, pki) as server:
        await add_staff(server.app, username="boss1", roles=("supervisor",), display_name="輪島 監督")
        await _quarantine(server.app, 7, _sealed(pki, "n-1"), "bad_signature: unknown kid")
        await _quarantine(server.app, 8, _sealed(pki, "n-2", forge=True), "bad_signature: signature mismatch")
        async with browser_page(chromium) as (page, problems):
            await log_in(page, server, TOWN_B, "boss1", PASSWORD)
            await page.locator("#nav a[data-route=quarantine]").click()
            rows = page.locator("table.quarantine-list tbody tr")
            await expect(rows).to_have_count(2)
            await expect(rows.first).to_contain_text("署名を確認できません")

            await rows.last.locator("button.replay").click()
            await page.locator("#confirm-dialog #confirm-ok").click()
            await expect(rows.last).to_contain_text("まだ拒否")
            await page.screenshot(path=str(out / "counter-ui-quarantine.png"), full_page=True)

            await rows.first.locator("button.replay").click()
            await expect(page.locator("#confirm-dialog")).to_contain_text("現在の信頼リストで署名を確認")
            await page.locator("#confirm-dialog #confirm-ok").click()
            await expect(rows).to_have_count(1)
            await page.locator("#quarantine p.tabs a", has_text="再適用済み").click()
            await expect(rows).to_have_count(1)
            await expect(rows.first).to_contain_text("適用済み")
            await expect(rows.first.locator("button.replay")).to_have_count(0)
            assert problems == [], problems
