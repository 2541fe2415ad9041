"""A 益城町 resident at 輪島市's kiosk, in chromium, while 益城町's node is offline (issue 13):
the code given at 益城町's counter replicated over real Kafka; the kiosk shows the household
with the freshness of 益城町's data, takes the application, and keeps nothing afterwards."""

from __future__ import annotations

import pytest

from service.web.appkeys import POOL
from tests.browser.support import CHROMIUM_ARGS
from tests.browser.test_kiosk_app import nothing_left_behind, shot
from tests.support.counter import TOWN_A, build_pki
from tests.support.kiosk import partner_towns

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pki():
    return build_pki()


class Screen:
    def __init__(self, page) -> None:
        self.page = page

    async def tap(self, selector: str) -> None:
        await self.page.locator(selector).first.tap()

    async def screen(self, name: str) -> None:
        from playwright.async_api import expect

        await expect(self.page.locator("#screen")).to_have_attribute("data-screen", name, timeout=15_000)


async def test_partner_town_resident_at_the_kiosk(chromium, postgres, kafka_broker, pki):
    from playwright.async_api import async_playwright, expect

    async with partner_towns(postgres, kafka_broker, pki, "kb") as towns:
        wajima, resident, dwelling, issued = towns.wajima, towns.resident, towns.dwelling, {"code": towns.code}
        # 益城町's node is offline from here.
        w_boss = await wajima.login("boss1", ("supervisor",))
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                context = await browser.new_context(viewport={"width": 1080, "height": 1920}, has_touch=True,
                                                    is_mobile=True, locale="ja-JP")
                page = await context.new_page()
                page.set_default_timeout(15_000)
                problems: list[str] = []
                page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
                s = Screen(page)
                await page.goto(str(wajima.server.make_url("/kiosk/")))
                pairing = page.locator("[data-pairing]")
                await expect(pairing).not_to_have_text("…")
                status, body = await w_boss.post("/api/v1/kiosk-enrolments/approve", {
                    "pairing_code": (await pairing.text_content()).strip(), "kiosk_id": "kiosk-wajima-2",
                    "name": "輪島中学校 2", "centre": "輪島中学校体育館"})
                assert status == 201, body
                await s.screen("start")
                await s.tap("[data-go=code]")
                for ch in issued["code"].replace("-", ""):
                    await s.tap(f".pad .key[data-key='{ch}']")
                await s.tap("button[data-key=ok]")
                await s.screen("menu")
                await s.tap("[data-go=household]")
                await s.screen("household")
                fresh = page.locator("[data-freshness]")
                await expect(fresh).to_contain_text("益城町")
                await expect(page.locator(f"[data-dwelling='{dwelling.dwelling_id}']")).to_be_visible()
                await shot(page, "18-partner-household")
                await s.tap("button.quiet")
                await s.tap("[data-go=apply]")
                await s.tap("[data-kind=risai]")
                await s.tap(f"[data-dwelling='{dwelling.dwelling_id}']")
                await s.screen("apply-confirm")
                await s.tap("[data-go=submit]")
                await s.screen("applied")
                tracking = (await page.locator("[data-tracking]").text_content()).strip()
                await s.tap("#finish")
                await s.screen("bye")
                await nothing_left_behind(s, [resident.resident_id, tracking, dwelling.location,
                                              f"{resident.family_name} {resident.given_name}"])
                assert not problems, problems
            finally:
                await browser.close()
        app = await wajima.app[POOL].fetchval(
            "SELECT state->>'competent_town' FROM entities WHERE entity_type = 'application'"
            " AND state->>'channel' = 'kiosk'")
        assert app == TOWN_A
