"""The counter UI in a real browser (Debian's chromium via Playwright) against a real node
on real PostgreSQL: a member of 輪島市's staff serves a resident of 益城町 (another town:
access reason, banner with replication freshness), receives the application, enters the
survey (first a ratio of 150 %, refused next to the field), judges (the class is derived)
and issues in 益城町's name (代行); the page shows the number and the derived class.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from deploy.synthetic import generate_town
from replication import hlc
from service.web.appkeys import POOL
from tests.browser.support import browser_page, log_in, ui_node
from tests.support.auth import PASSWORD, add_staff
from tests.support.counter import TOWN_A, TOWN_B, build_pki, csv_bytes, seed_town
from tests.support.disasters import NOTO_ID, register_disaster

pytestmark = pytest.mark.integration
# docs/counter-ui.png is refreshed only on request (RISAI_UI_SCREENSHOT=1), so a test run
# leaves the working tree clean.
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "counter-ui.png"
REASON = "避難所での申請受付（益城町からの避難者）"


@pytest.fixture(scope="module")
def pki():
    return build_pki()


def _hiragana(katakana: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in katakana)


async def _seed_freshness(pool) -> None:
    """Two origin nodes as the consumer would record them: one behind, one up to date."""
    now_ms = int(time.time() * 1000)
    rows = [("risai.events.mashiki-1", "mashiki-1", 88, 100, now_ms - 42_000),
            ("risai.events.rikuzentakata-1", "rikuzentakata-1", 40, 40, now_ms - 1_500)]
    for topic, origin, next_offset, high, wall in rows:
        await pool.execute(
            "INSERT INTO consumer_offsets (topic, partition, next_offset, origin_node, last_hlc, high_watermark)"
            " VALUES ($1, 0, $2, $3, $4, $5)", topic, next_offset, origin,
            hlc.Timestamp(wall, 0, origin).encode(), high)


async def test_counter_story_in_the_browser(chromium, database, pki, tmp_path):
    from playwright.async_api import expect

    async with ui_node(database, pki) as server:
        app = server.app
        town = await seed_town(app)
        await register_disaster(app, [TOWN_A])
        await add_staff(app, username="counter1", roles=("clerk", "surveyor", "supervisor"),
                        display_name="輪島 花子")
        await _seed_freshness(app[POOL])
        resident = town.residents[0]
        dwelling = next(d for d in town.dwellings if resident.household_id in d.household_ids)

        async with browser_page(chromium) as (page, problems):
            await page.goto(str(server.make_url("/")))
            login = page.locator("#login-form")
            await login.locator("[name=town_code]").fill(TOWN_B)
            await login.locator("[name=username]").fill("counter1")
            await login.locator("[name=password]").fill("wrong password!")
            await login.locator("button[type=submit]").click()
            await expect(login.locator(".form-error")).to_contain_text("auth.invalid")
            await login.locator("[name=password]").fill(PASSWORD)
            await login.locator("button[type=submit]").click()

            # Search by reading in hiragana: the matches are another town's, so they are only
            # counted until a reason is given.
            search = page.locator("#search-form")
            await search.locator("[name=kana]").fill(_hiragana(resident.family_kana))
            await search.locator("[name=birth_date]").fill(resident.birth_date.isoformat())
            await search.locator("button[type=submit]").click()
            await expect(page.locator("#other-town-matches")).to_contain_text("1件該当します")
            await page.locator("#show-other-towns").click()
            await expect(page.locator("#reason-dialog")).to_be_visible()
            await page.locator("#reason-input").fill(REASON)
            await page.locator("#reason-ok").click()
            await page.locator(f"a.resident-link[href$='{resident.resident_id}']").click()

            # Another town's data: the banner names it and shows freshness per origin node.
            banner = page.locator("#banner")
            await expect(banner).to_contain_text("他の市町村のデータです")
            await expect(banner).to_contain_text(REASON)
            await expect(banner.locator("tr[data-origin=mashiki-1]")).to_contain_text("12")
            await expect(banner.locator("tr[data-origin=mashiki-1] svg.lag-chart")).to_have_count(1)

            card = page.locator(".dwelling", has_text=dwelling.location)
            await card.locator("[name=disaster_id]").select_option(NOTO_ID)
            await card.locator("button[type=submit]").click()
            await expect(page.locator("#tracking")).to_be_visible()

            # A ratio of 150 % is refused; the reason is shown next to the field.
            survey = page.locator("#survey-form")
            await page.locator("#survey-surveyor").select_option(index=1)  # the surveyor is chosen, never assumed
            await survey.locator("#survey-value").fill("150")
            await survey.locator("button[type=submit]").click()
            await expect(survey.locator("[data-field=damage_ratio] .field-error")).not_to_be_empty()
            await expect(survey.locator(".field.invalid #survey-value")).to_have_count(1)
            await survey.locator("#survey-value").fill("42.5")
            await expect(page.locator("#class-preview")).to_contain_text("大規模半壊")
            await survey.locator("button[type=submit]").click()

            await page.locator("#judge-form button[type=submit]").click()
            await expect(page.locator("#derived-class")).to_contain_text("大規模半壊")
            await page.locator("#issue-form [name=place]").fill("輪島市役所 避難所窓口")
            await page.locator("#issue-form button[type=submit]").click()
            await expect(page.locator("#confirm-dialog")).to_contain_text("輪島市役所 避難所窓口")
            await page.locator("#confirm-ok").click()

            cert = page.locator("#certificate")
            await expect(cert.locator("#certificate-number")).to_contain_text(f"{TOWN_A}-wajima-1-")
            await expect(cert.locator("#certificate-class")).to_contain_text("大規模半壊")
            await expect(cert.locator("#certificate-mayor")).to_contain_text("益城町長")
            await expect(cert.locator("#certificate-place")).to_contain_text("代行")
            await expect(cert.locator("#certificate-replication")).to_contain_text("ローカルのみ")
            await expect(page.locator("#application-status")).to_contain_text("交付済")
            refresh = os.environ.get("RISAI_UI_SCREENSHOT") == "1"
            shot = DOCS_SCREENSHOT if refresh else tmp_path / "counter-ui.png"
            await page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000

            # Verify the QR of what was just issued: every check with its labels.
            await cert.locator("a.button[href^='#/verify/']").click()
            await expect(page.locator("#verdict-result")).to_contain_text("有効な証明書です")
            await expect(page.locator("tr.check[data-check=signature]")).to_contain_text("合格")

            # Back at the application: the resident asks for a re-survey (second survey
            # next), and a supervisor revokes the certificate.
            await page.go_back()
            await page.locator("#resurvey-reason").fill("内部の損傷も見てほしい")
            await page.locator("#resurvey").click()
            await page.locator("#confirm-ok").click()
            await expect(page.locator("#application-status")).to_contain_text("再調査依頼")
            await expect(page.locator("#survey-form [name=kind]")).to_have_value("second")
            await page.locator("#revoke-form [name=reason]").fill("誤発行")
            await page.locator("#revoke-form button[type=submit]").click()
            await expect(page.locator("#confirm-dialog")).to_contain_text("誤発行")
            await page.locator("#confirm-ok").click()
            await expect(page.locator("#certificate-status")).to_contain_text("失効（誤発行）")
            assert problems == [], problems

        numbers = await app[POOL].fetch("SELECT entity_id FROM entities WHERE entity_type = 'certificate'")
        assert len(numbers) == 1


async def test_csv_import_progress_and_verify_a_pasted_string(chromium, database, pki):
    from playwright.async_api import expect

    async with ui_node(database, pki) as server:
        await add_staff(server.app, username="boss1", roles=("supervisor",))
        own = generate_town(TOWN_B, "輪島市", 200, 3)
        stranger = generate_town("434418", "御船町", 10, 99)  # its households do not exist here
        async with browser_page(chromium) as (page, problems):
            await log_in(page, server, TOWN_B, "boss1", PASSWORD)
            await page.locator("#nav a[data-route=import]").click()
            form = page.locator("#import-form")

            # Nothing chosen: the error sits next to the file field.
            await form.locator("button[type=submit]").click()
            await expect(form.locator("[data-field=file] .field-error")).not_to_be_empty()

            await form.locator("input[type=file]").set_input_files(
                {"name": "residents.csv", "mimeType": "text/csv", "buffer": csv_bytes("residents", own.residents)})
            await form.locator("button[type=submit]").click()
            await expect(page.locator("#import-status")).to_contain_text("取込完了")
            progress = page.locator("#import-progress")
            assert await progress.evaluate("p => p.value === p.max && p.max > 0")
            assert await server.app[POOL].fetchval(
                "SELECT count(*) FROM entities WHERE entity_type = 'resident'") == len(own.residents)

            # A file naming unknown households fails as a whole; each row's error is listed.
            await form.locator("[name=kind]").select_option("dwellings")
            await form.locator("input[type=file]").set_input_files(
                {"name": "dwellings.csv", "mimeType": "text/csv", "buffer": csv_bytes("dwellings", stranger.dwellings)})
            await form.locator("button[type=submit]").click()
            await expect(page.locator("#import-status")).to_contain_text("取込失敗")
            await expect(page.locator("#import-status table.row-errors tr").first).to_be_visible()
            assert await server.app[POOL].fetchval(
                "SELECT count(*) FROM entities WHERE entity_type = 'dwelling'") == 0

            # A pasted string that is no certificate: every check is listed, failures marked.
            await page.locator("#nav a[data-route=verify]").click()
            await page.locator("#verify-form textarea").fill("JPRC1:NOT-A-CERTIFICATE")
            await page.locator("#verify-form button[type=submit]").click()
            await expect(page.locator("#verdict-result")).to_contain_text("検証に失敗しました")
            await expect(page.locator("tr.check[data-check=format]")).to_contain_text("不合格")
            await expect(page.locator("tr.check[data-check=format]")).to_contain_text("QRコードの形式")
            await expect(page.locator("tr.check[data-check=signature]")).to_contain_text("未確認")
            assert problems == [], problems
