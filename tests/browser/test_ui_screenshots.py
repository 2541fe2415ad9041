"""Screenshots of the counter screens changed for issue 15, taken while walking them.

With RISAI_UI_SCREENSHOT=1 they are written to docs/ (docs/counter-ui.md shows them);
otherwise to a temporary folder, so a test run leaves the working tree clean. Each shot
is taken after the screen shows what it is meant to show.
"""

from __future__ import annotations

import pytest

from service.web.appkeys import POOL
from tests.browser.support import Screenshots, browser_page, log_in, ui_node
from tests.browser.test_counter_defects import _quiet_origin, _with_reason
from tests.support.auth import PASSWORD, add_staff
from tests.support.counter import TOWN_A, TOWN_B, TOWN_X, build_pki, seed_town
from tests.support.disasters import NOTO_ID, register_disaster

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pki():
    return build_pki()


async def test_screens_of_issue_15(chromium, database, pki, tmp_path):
    from playwright.async_api import expect

    shot = Screenshots(tmp_path)

    async with ui_node(database, pki) as server:
        town = await seed_town(server.app)
        mifune = await seed_town(server.app, code=TOWN_X, residents=6, seed=3)
        await register_disaster(server.app, [TOWN_A, TOWN_X])
        await add_staff(server.app, username="counter1", roles=("clerk", "surveyor", "supervisor"),
                        display_name="輪島 花子")
        resident = town.residents[0]
        dwelling = next(d for d in town.dwellings if resident.household_id in d.household_ids)
        async with browser_page(chromium) as (page, problems):
            await page.goto(str(server.make_url("/")))
            login = page.locator("#login-form")
            await login.locator("[name=town_code]").fill(TOWN_B)
            await login.locator("[name=username]").fill("counter1")
            await login.locator("[name=password]").fill("wrong password!")
            await login.locator("button[type=submit]").click()
            await expect(login.locator(".error-message")).to_be_visible()
            await expect(page.locator("#nav")).to_be_hidden()
            await shot(page, "login-error", full_page=False)

            await log_in(page, server, TOWN_B, "counter1", PASSWORD)
            search = page.locator("#search-form")
            await search.locator("[name=kana]").fill(resident.family_kana)
            await search.locator("button[type=submit]").click()
            await expect(page.locator("#other-town-matches")).to_be_visible()
            await shot(page, "search-other-towns", full_page=False)

            await _with_reason(page)
            other = mifune.residents[0]
            await page.evaluate(f"location.hash = '#/resident/{other.resident_id}'")
            await expect(page.locator(".no-delegation").first).to_be_visible()
            await shot(page, "no-delegation")

            await page.evaluate(f"location.hash = '#/resident/{resident.resident_id}'")
            card = page.locator(".dwelling", has_text=dwelling.location)
            await card.locator("[name=disaster_id]").select_option(NOTO_ID)
            await card.locator("button[type=submit]").click()
            await page.locator("#survey-surveyor").select_option(index=1)  # the surveyor is chosen, never assumed
            await page.locator("#survey-form #survey-value").fill("42.5")
            await page.locator("#survey-form button[type=submit]").click()
            await page.locator("#judge-form button[type=submit]").click()
            await page.locator("#issue-form [name=place]").fill("輪島市役所 避難所窓口")
            await page.locator("#issue-form button[type=submit]").click()
            await expect(page.locator("#confirm-dialog")).to_be_visible()
            await shot(page, "confirm-issue", full_page=False)
            await page.locator("#confirm-ok").click()
            await expect(page.locator("#certificate-class")).to_contain_text("大規模半壊")
            await shot(page, "application-certificate")

            await page.locator("#revoke-form [name=reason]").fill("世帯主の誤り")
            await page.locator("#revoke-form button[type=submit]").click()
            await expect(page.locator("#confirm-dialog")).to_contain_text("世帯主の誤り")
            await shot(page, "confirm-revoke", full_page=False)
            await page.locator("#confirm-cancel").click()

            await _quiet_origin(server.app[POOL], "mashiki-1", 600)  # checked just now
            await page.locator("#nav a[data-route=freshness]").click()
            await expect(page.locator("#freshness tr[data-origin=mashiki-1]")).to_contain_text("最新")
            await shot(page, "freshness", full_page=False)
            assert problems == [], problems
    assert all(p.stat().st_size > 10_000 for p in shot.taken), shot.taken
