"""Casework screens (issue 14 part B) in Debian's chromium: survey records with a chosen
surveyor and a 再調査 with its reason, the 被災証明 flow (no survey, judgement or 再調査),
an agent's application and its withdrawal, and a batch print with its progress bar.

With RISAI_UI_SCREENSHOT=1 the screenshots go to docs/ (docs/counter-ui.md shows them),
otherwise to a temporary folder. Each is taken once the screen shows what it is for.
"""

from __future__ import annotations

import datetime as dt

import pytest

from service.counter.disasters import disaster_id
from service.web.appkeys import POOL
from tests.browser.support import Screenshots, browser_page, log_in, ui_node
from tests.support.auth import PASSWORD, add_staff
from tests.support.counter import TOWN_B, build_pki, seed_town
from tests.support.disasters import register_disaster

RAIN = ("令和6年能登半島豪雨", dt.date(2024, 9, 21))
RAIN_ID = disaster_id(*RAIN)
from tests.support.issuing import household_pairs

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pki():
    return build_pki()


async def _receive(page, resident, dwelling, *, kind: str = "risai", **fields: str) -> None:
    """Open the resident and receive an application on the dwelling's form."""
    from playwright.async_api import expect

    await page.evaluate(f"location.hash = '#/resident/{resident.resident_id}'")
    form = page.locator(".dwelling", has_text=dwelling.location).locator(".application-form")
    await form.locator("#application-kind").select_option(kind)
    await form.locator("[name=disaster_id]").select_option(RAIN_ID)
    for name, value in fields.items():
        control = form.locator(f"[name='{name}']")
        if await control.evaluate("el => el.tagName") == "SELECT":
            await control.select_option(value)
        else:
            await control.fill(value)
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#tracking")).to_be_visible()


async def _survey(page, surveyor: str, basis: str, value: str | None = None) -> None:
    form = page.locator("#survey-form")
    await form.locator("#survey-surveyor").select_option(label=surveyor)
    await form.locator("#survey-basis").select_option(basis)
    if value is not None:
        await form.locator("#survey-value").fill(value)
    await form.locator("button[type=submit]").click()


async def _issue(page) -> None:
    """Issue, and wait for the certificate (the view re-renders when the reply comes)."""
    from playwright.async_api import expect

    await page.locator("#issue-form button[type=submit]").click()
    await page.locator("#confirm-ok").click()
    await expect(page.locator("#issue-form")).to_have_count(0)
    await expect(page.locator("#certificate")).to_be_visible()


async def test_casework_screens(chromium, database, pki, tmp_path):
    from playwright.async_api import expect

    shot = Screenshots(tmp_path)

    async with ui_node(database, pki) as server:
        town = await seed_town(server.app, code=TOWN_B, residents=30)
        await register_disaster(server.app, [TOWN_B], *RAIN)
        await add_staff(server.app, username="counter1", roles=("clerk", "surveyor", "supervisor"),
                        display_name="輪島 花子")
        await add_staff(server.app, username="surveyor1", roles=("surveyor",), display_name="調査 一郎")
        pairs = household_pairs(town)
        async with browser_page(chromium) as (page, problems):
            await log_in(page, server, TOWN_B, "counter1", PASSWORD)

            # 罹災証明: 一次調査 by the chosen surveyor, judged, issued; a 再調査 with its
            # reason, the 二次調査 answering it, the judgement naming it.
            await _receive(page, *pairs[0], **{"applicant.phone": "0768-22-1111", "applicant.delivery": "mail",
                                              "applicant.contact_address": "輪島市河井町1-1 避難所"})
            await expect(page.locator("#no-surveys")).to_be_visible()
            await expect(page.locator("#applicant-delivery")).to_contain_text("郵送交付")
            await page.locator("#survey-form #survey-value").fill("25")
            await page.locator("#survey-form button[type=submit]").click()  # no surveyor chosen
            await expect(page.locator("#survey-form [data-field=surveyor_id] .field-error")).to_contain_text("調査員を選んでください")
            await _survey(page, "調査 一郎", "damage_ratio", "25")
            first = page.locator("#survey-records tbody tr")
            await expect(first).to_have_count(1)
            await expect(first.locator(".surveyor")).to_have_text("調査 一郎")
            await page.locator("#judge-form button[type=submit]").click()
            await expect(page.locator("#derived-class")).to_contain_text("半壊")
            await _issue(page)
            await expect(page.locator("#certificate-class")).to_contain_text("半壊")
            await page.locator("#resurvey").click()  # no reason given
            await expect(page.locator("#resurvey-form .field-error")).to_contain_text("再調査の理由")
            await page.locator("#resurvey-reason").fill("屋内の床と壁の損傷を見てほしい")
            await page.locator("#resurvey").click()
            await expect(page.locator("#confirm-dialog")).to_contain_text("屋内の床と壁の損傷")
            await page.locator("#confirm-ok").click()
            await expect(page.locator("#application-status")).to_contain_text("再調査依頼")
            await expect(page.locator("#survey-kind")).to_have_value("second")
            await page.locator("#survey-surveyor").select_option(label="調査 一郎")
            await page.locator("#survey-form #survey-value").fill("42")
            await expect(page.locator("#class-preview")).to_contain_text("大規模半壊")
            await page.locator("#survey-form").scroll_into_view_if_needed()
            await shot(page, "survey-form", full_page=False)
            await _survey(page, "調査 一郎", "damage_ratio", "42")
            rows = page.locator("#survey-records tbody tr")
            await expect(rows).to_have_count(2)
            await expect(rows.nth(1)).to_contain_text("屋内の床と壁の損傷")
            await expect(page.locator("#judge-survey")).to_have_value(await rows.nth(1).get_attribute("data-survey"))
            await page.locator("#judge-form button[type=submit]").click()
            await expect(page.locator("#derived-class")).to_contain_text("大規模半壊")
            await expect(rows.nth(1).locator(".pill.ok")).to_contain_text("判定に使用")
            await expect(rows.nth(0)).to_contain_text("25 %")  # the first survey is kept as it was
            await shot(page, "survey-records")
            await _issue(page)
            await expect(page.locator("#certificate-class")).to_contain_text("大規模半壊")

            # 床下浸水 alone: 準半壊に至らない, with no value to type.
            await _receive(page, *pairs[1], **{"applicant.delivery": "mail", "applicant.contact_address": "金沢市広坂1-1"})
            await _survey(page, "調査 一郎", "below_floor")
            await expect(page.locator("#survey-records tbody tr")).to_contain_text("床下浸水")
            await page.locator("#judge-form button[type=submit]").click()
            await expect(page.locator("#derived-class")).to_contain_text("準半壊に至らない")
            await _issue(page)

            # 被災証明: its own wording; no survey, judgement or 再調査.
            await _receive(page, *pairs[2], kind="hisai", **{"property.description": "車庫（木造平屋）の倒壊"})
            app = page.locator("#application")
            await expect(app).to_have_attribute("data-kind", "hisai")
            await expect(app.locator("h3").first).to_contain_text("被災証明の申請")
            await expect(page.locator("#application-property")).to_contain_text("車庫（木造平屋）の倒壊")
            for absent in ("#survey-records", "#survey-form", "#judge-form", "#derived-class"):
                await expect(page.locator(absent)).to_have_count(0)
            await expect(page.locator("#issue-form h3")).to_contain_text("被災証明書の交付")
            await _issue(page)
            await expect(page.locator("#certificate h3")).to_contain_text("被災証明書")
            await expect(page.locator("#resurvey-form")).to_have_count(0)
            await expect(page.locator("#certificate-class")).to_have_count(0)
            await shot(page, "hisai")

            # A household with no dwelling on record can still apply for a 被災証明 (only).
            lone, gone = pairs[4]
            await server.app[POOL].execute("DELETE FROM entities WHERE entity_type = 'dwelling' AND entity_id = $1",
                                           gone.dwelling_id)
            await page.evaluate(f"location.hash = '#/resident/{lone.resident_id}'")
            form = page.locator(".application-form")
            await expect(form.locator("h4")).to_contain_text("被災証明の申請受付")
            await expect(form.locator("#application-kind")).to_have_value("hisai")
            await form.locator("[name=disaster_id]").select_option(RAIN_ID)
            await form.locator("[name='property.description']").fill("自家用車の水没")
            await form.locator("button[type=submit]").click()
            await expect(page.locator("#application")).to_have_attribute("data-kind", "hisai")

            # An agent without a 委任状 is refused at the field; with it, received; then withdrawn.
            await page.evaluate(f"location.hash = '#/resident/{pairs[3][0].resident_id}'")
            form = page.locator(".dwelling", has_text=pairs[3][1].location).locator(".application-form")
            await form.locator("[name=disaster_id]").select_option(RAIN_ID)
            await form.locator(".has-agent").check()
            await form.locator("[name='agent.name']").fill("代理 太郎")
            await form.locator("[name='agent.relation']").select_option("other")
            await form.locator("button[type=submit]").click()
            await expect(form.locator("[data-field='agent.power_of_attorney'] .field-error")).to_contain_text("委任状")
            await form.locator("[name='agent.power_of_attorney']").check()
            await form.locator("button[type=submit]").click()
            await expect(page.locator("#applicant-agent")).to_contain_text("委任状あり")
            await page.locator("#correct-applicant").click()  # 訂正: the phone the agent left later
            correct = page.locator("#applicant-form")
            await expect(correct.locator("[name='agent.name']")).to_have_value("代理 太郎")
            await correct.locator("[name='applicant.phone']").fill("０７６８－２２－３３３３")
            await correct.locator("button[type=submit]").click()
            await expect(page.locator("#applicant")).to_contain_text("0768223333")
            await expect(page.locator("#applicant-agent")).to_contain_text("委任状あり")
            await expect(page.locator("table.history")).to_contain_text("申請者情報の訂正")
            await page.locator("#withdraw").click()  # no reason given
            await expect(page.locator("#withdraw-form .field-error")).to_contain_text("取下げの理由")
            await page.locator("#withdraw-reason").fill("保険会社への提出が不要になった")
            await page.locator("#withdraw").click()
            await page.locator("#confirm-ok").click()
            await expect(page.locator("#application-status")).to_contain_text("取下げ")
            await expect(page.locator("#withdrawn")).to_contain_text("保険会社への提出が不要になった")
            for absent in ("#survey-form", "#judge-form", "#issue-form", "#withdraw-form"):
                await expect(page.locator(absent)).to_have_count(0)
            await shot(page, "withdrawn")

            # 一括印刷 of today's 郵送交付: the superseded first certificate is left out, listed.
            await page.locator("#nav a[data-route=batch-print]").click()
            await page.locator("#batch-start").click()
            await expect(page.locator("#batch-job")).to_be_visible()
            await expect(page.locator("#batch-progress")).to_be_visible()
            await expect(page.locator("#batch-state")).to_contain_text("完了", timeout=60_000)
            await expect(page.locator("#batch-count")).to_contain_text("3件中 3件を確認、2ページ")
            await expect(page.locator("#batch-skipped")).to_contain_text("1件")
            assert await page.locator("#batch-progress").get_attribute("value") == "3"
            await shot(page, "batch-print", full_page=False)
            async with page.expect_download() as download:
                await page.locator("#batch-open").click()
            pdf = tmp_path / "batch.pdf"
            await (await download.value).save_as(str(pdf))
            assert pdf.read_bytes().startswith(b"%PDF")
            assert problems == [], problems
    assert all(p.stat().st_size > 10_000 for p in shot.taken), shot.taken
