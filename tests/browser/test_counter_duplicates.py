"""One current 罹災証明書 per (household, dwelling, disaster) in the counter UI (issue 11):
the disaster is picked from the registry; a second application for the same household,
dwelling and disaster is refused with links to the existing case (申請 / 再交付 / 再調査);
a certificate of a duplicate accepted elsewhere during a partition shows 審査中.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from service.counter.disasters import disaster_id
from service.web.appkeys import POOL
from tests.browser.support import browser_page, log_in, ui_node
from tests.browser.test_counter_defects import _staffed_node, _to_application
from tests.support.auth import PASSWORD
from tests.support.counter import TOWN_B, build_pki
from tests.support.disasters import NOTO_ID

pytestmark = pytest.mark.integration
DOCS = Path(__file__).resolve().parents[2] / "docs"  # written only with RISAI_UI_SCREENSHOT=1


@pytest.fixture(scope="module")
def pki():
    return build_pki()


async def test_a_second_application_points_at_the_existing_case_and_a_duplicate_is_under_review(
        chromium, database, pki, tmp_path):
    from playwright.async_api import expect

    out = DOCS if os.environ.get("RISAI_UI_SCREENSHOT") == "1" else tmp_path

    async with ui_node(database, pki) as server:
        town = await _staffed_node(server)  # registers 令和6年能登半島地震 for 益城町
        resident = town.residents[0]
        dwelling = next(d for d in town.dwellings if resident.household_id in d.household_ids)
        async with browser_page(chromium) as (page, problems):
            await log_in(page, server, TOWN_B, "counter1", PASSWORD)
            card = await _to_application(page, server, resident, dwelling)
            await expect(page.locator("#application")).to_contain_text("令和6年能登半島地震")
            await page.locator("#survey-surveyor").select_option(index=1)  # the surveyor is chosen, never assumed
            await page.locator("#survey-form #survey-value").fill("42.5")
            await page.locator("#survey-form button[type=submit]").click()
            await page.locator("#judge-form button[type=submit]").click()
            await page.locator("#issue-form [name=place]").fill("輪島市役所 避難所窓口")
            await page.locator("#issue-form button[type=submit]").click()
            await page.locator("#confirm-ok").click()
            number = (await page.locator("#certificate-number").inner_text()).strip()
            await expect(page.locator("#certificate-status")).to_contain_text("有効")

            # The same household, dwelling and disaster again: refused, with the way onwards.
            await page.evaluate(f"location.hash = '#/resident/{resident.resident_id}'")
            await card.locator("#disaster-picker").wait_for()
            # A supervisor registers another disaster right here; the picker then offers it.
            await card.locator("details.register-disaster summary").click()
            await card.locator("[name=new_disaster_name]").fill("令和6年1月豪雪")
            await card.locator("[name=new_disaster_date]").fill("2099-01-10")
            await card.locator("#register-disaster").click()
            await expect(card.locator(".register-error")).to_contain_text("record.future_date")
            await card.locator("[name=new_disaster_date]").fill("2024-01-10")
            await card.locator("#register-disaster").click()
            snow = disaster_id("令和6年1月豪雪", dt.date(2024, 1, 10))
            await expect(card.locator("#disaster-picker")).to_have_value(snow)
            registered = await server.app[POOL].fetchval(
                "SELECT state->'towns' FROM entities WHERE entity_type = 'disaster' AND entity_id = $1", snow)
            assert json.loads(registered) == [dwelling.town_code]
            await card.locator("#disaster-picker").select_option(NOTO_ID)
            await card.locator("button[type=submit]").click()
            notice = card.locator("#duplicate-notice")
            await expect(notice).to_contain_text("受付済み")
            await expect(card.locator(".form-error")).to_contain_text("application.duplicate")
            await expect(notice.locator("#duplicate-certificate")).to_contain_text(number)
            await page.screenshot(path=str(out / "counter-ui-duplicate.png"), full_page=True)
            await notice.locator("#duplicate-certificate").click()
            await expect(page.locator("#certificate-number")).to_contain_text(number)

            # Another node accepted the same triple while cut off (as replication brings it).
            [raw] = await server.app[POOL].fetch("SELECT state FROM entities WHERE entity_type = 'application'")
            other = {**json.loads(raw["state"]), "application_id": "A-mashiki-1-partition0001", "status": "received",
                     "received_node": "mashiki-1", "current_certificate": None, "certificates": []}
            await server.app[POOL].execute(
                "INSERT INTO entities (entity_type, entity_id, state, hlc, origin_node, version)"
                " VALUES ('application', $1, $2::jsonb, 'x', 'mashiki-1', 'x')", other["application_id"], json.dumps(other))
            await page.reload()
            await expect(page.locator("#certificate-status")).to_contain_text("審査中")
            await expect(page.locator("#under-review")).to_contain_text("under review")
            await page.screenshot(path=str(out / "counter-ui-under-review.png"), full_page=True)
            assert all((out / f"counter-ui-{n}.png").stat().st_size > 10_000 for n in ("duplicate", "under-review"))
            assert problems == [], problems
