"""Defects found by walking the counter UI as a clerk would (issue 15), each in a real
browser (Debian's chromium via Playwright) against a real node on real PostgreSQL.

Each test names the defect it guards. The node is 輪島市's (wajima-1); the seeded residents
are 益城町's, so their data is "another town's" and needs a stated reason.
"""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest

from replication import hlc
from service.web.appkeys import POOL
from tests.browser.support import browser_page, log_in, ui_node
from tests.support.auth import PASSWORD, add_staff
from tests.support.counter import TOWN_A, TOWN_B, TOWN_X, build_pki, seed_town
from tests.support.disasters import NOTO_ID, register_disaster

pytestmark = pytest.mark.integration
REASON = "避難所での申請受付（益城町からの避難者）"


@pytest.fixture(scope="module")
def pki():
    return build_pki()


async def _staffed_node(server, roles=("clerk", "surveyor", "supervisor")):
    town = await seed_town(server.app)
    await register_disaster(server.app, [TOWN_A])
    await add_staff(server.app, username="counter1", roles=roles, display_name="輪島 花子")
    return town


async def _with_reason(page) -> None:
    """The case's reason as if stated earlier in this tab (kept in sessionStorage)."""
    from playwright.async_api import expect

    await page.evaluate(f"sessionStorage.setItem('risai.reason', '{REASON}')")
    await page.reload()
    await expect(page.locator("#nav")).to_be_visible()


async def test_cancelled_reason_shows_a_readable_error_and_a_way_to_retry(chromium, database, pki):
    """Defect 1: no "[object HTMLDivElement]"; cancelling the reason dialog is no dead end."""
    from playwright.async_api import expect

    async with ui_node(database, pki) as server:
        town = await _staffed_node(server)
        resident = town.residents[0]
        async with browser_page(chromium) as (page, problems):
            await log_in(page, server, TOWN_B, "counter1", PASSWORD)
            await page.evaluate(f"location.hash = '#/resident/{resident.resident_id}'")
            await expect(page.locator("#reason-dialog")).to_be_visible()
            await page.locator("#reason-dialog button[value=cancel]").click()
            error = page.locator("#view .form-error")
            await expect(error).to_contain_text("audit.reason_required")
            await expect(error).to_contain_text("reason")
            assert "[object" not in await error.inner_text()
            await error.locator("button.retry-reason").click()
            await page.locator("#reason-input").fill(REASON)
            await page.locator("#reason-ok").click()
            await expect(page.locator("#resident-name")).to_contain_text(resident.family_name)
            assert problems == [], problems


async def test_householder_marker_shows(chromium, database, pki):
    """Defect 2: the API says is_householder; the resident view shows 世帯主."""
    from playwright.async_api import expect

    async with ui_node(database, pki) as server:
        town = await _staffed_node(server)
        head = next(r for r in town.residents if r.is_householder)
        member = next(r for r in town.residents if not r.is_householder)
        async with browser_page(chromium) as (page, problems):
            await log_in(page, server, TOWN_B, "counter1", PASSWORD)
            await _with_reason(page)
            await page.evaluate(f"location.hash = '#/resident/{head.resident_id}'")
            await expect(page.locator("#resident-household")).to_contain_text("世帯主")
            await page.evaluate(f"location.hash = '#/resident/{member.resident_id}'")
            await expect(page.locator("#resident-name")).to_contain_text(member.given_name)
            await expect(page.locator("#resident-household")).not_to_contain_text("世帯主")
            assert problems == [], problems


async def test_menu_is_hidden_on_the_login_page(chromium, database, pki):
    """Defect 4: `.top nav {display: flex}` must not override the hidden attribute."""
    from playwright.async_api import expect

    async with ui_node(database, pki) as server:
        await _staffed_node(server)
        async with browser_page(chromium) as (page, problems):
            await page.goto(str(server.make_url("/")))
            await expect(page.locator("#login-form")).to_be_visible()
            await expect(page.locator("#nav")).to_be_hidden()
            await log_in(page, server, TOWN_B, "counter1", PASSWORD)
            await page.locator("#logout").click()
            await expect(page.locator("#login-form")).to_be_visible()
            await expect(page.locator("#nav")).to_be_hidden()
            assert problems == [], problems


async def _quiet_origin(pool, origin: str, quiet_s: int) -> None:
    """An origin whose last event is ``quiet_s`` old, fully applied, lag checked just now."""
    now_ms = int(time.time() * 1000)
    await pool.execute(
        "INSERT INTO consumer_offsets (topic, partition, next_offset, origin_node, last_hlc, high_watermark,"
        " high_watermark_checked_at) VALUES ($1, 0, 40, $2, $3, 40, now())",
        f"risai.events.{origin}", origin, hlc.Timestamp(now_ms - quiet_s * 1000, 0, origin).encode())


async def test_quiet_is_not_late(chromium, database, pki):
    """Defect 5: nothing arrived for 10 minutes but nothing is waiting: 最新, not 大きく遅延."""
    from playwright.async_api import expect

    async with ui_node(database, pki) as server:
        await _staffed_node(server)
        await _quiet_origin(server.app[POOL], "mashiki-1", 600)
        async with browser_page(chromium) as (page, problems):
            await log_in(page, server, TOWN_B, "counter1", PASSWORD)
            await page.locator("#nav a[data-route=freshness]").click()
            row = page.locator("#freshness tr[data-origin=mashiki-1]")
            await expect(row).to_contain_text("最新")
            await expect(row).not_to_contain_text("大きく遅延")
            await expect(row).to_contain_text(re.compile(r"1\d\.\d 分"))  # about 10 minutes quiet
            assert problems == [], problems


async def _to_application(page, server, resident, dwelling):
    await _with_reason(page)
    await page.evaluate(f"location.hash = '#/resident/{resident.resident_id}'")
    card = page.locator(".dwelling", has_text=dwelling.location)
    await card.locator("[name=disaster_id]").select_option(NOTO_ID)
    await card.locator("button[type=submit]").click()
    await page.locator("#tracking").wait_for()
    return card


async def test_times_are_jst_and_labelled_and_the_survey_date_is_the_day_in_japan(chromium, database, pki):
    """Defect 6: 受付 and 履歴 in JST with a label; before 09:00 JST the survey date is
    still today in Japan (the UTC day is the day before)."""
    from playwright.async_api import expect

    async with ui_node(database, pki) as server:
        town = await _staffed_node(server)
        resident = town.residents[0]
        dwelling = next(d for d in town.dwellings if resident.household_id in d.household_ids)
        async with browser_page(chromium) as (page, problems):
            # 2026-12-01 20:30 UTC is 2026-12-02 05:30 in Japan.
            await page.clock.install(time=dt.datetime(2026, 12, 1, 20, 30, tzinfo=dt.timezone.utc))
            await log_in(page, server, TOWN_B, "counter1", PASSWORD)
            await _to_application(page, server, resident, dwelling)
            assert await page.locator("#survey-form [name=surveyed_on]").input_value() == "2026-12-02"
            [row] = await server.app[POOL].fetch("SELECT state->>'received_at' AS at FROM entities"
                                                 " WHERE entity_type = 'application'")
            received = dt.datetime.fromisoformat(row["at"]).astimezone(dt.timezone(dt.timedelta(hours=9)))
            shown = received.strftime("%Y-%m-%d %H:%M JST")
            await expect(page.locator("#application-received")).to_contain_text(shown)
            await expect(page.locator("table.history tbody tr").first).to_contain_text(shown[:-4])
            await expect(page.locator("table.history thead")).to_contain_text("JST")
            await expect(page.locator("#application")).to_contain_text("令和6年1月1日")
            assert problems == [], problems


async def test_a_town_without_delegation_is_said_at_the_start(chromium, database, pki):
    """Defect 7: 御船町 delegated to nobody: the dwelling says so before the application,
    and the judged case has no issue button here (it stays usable elsewhere)."""
    from playwright.async_api import expect

    async with ui_node(database, pki) as server:
        await _staffed_node(server)
        town = await seed_town(server.app, code=TOWN_X, residents=6, seed=3)
        resident = town.residents[0]
        dwelling = next(d for d in town.dwellings if resident.household_id in d.household_ids)
        async with browser_page(chromium) as (page, problems):
            await log_in(page, server, TOWN_B, "counter1", PASSWORD)
            await _with_reason(page)
            await page.evaluate(f"location.hash = '#/resident/{resident.resident_id}'")
            card = page.locator(".dwelling", has_text=dwelling.location)
            await expect(card.locator(".no-delegation")).to_contain_text("この町の証明書はこのノードでは交付できません")
            await _to_application(page, server, resident, dwelling)
            await expect(page.locator("#application .no-delegation")).to_be_visible()
            await page.locator("#survey-surveyor").select_option(index=1)  # the surveyor is chosen, never assumed
            await page.locator("#survey-form #survey-value").fill("42.5")
            await page.locator("#survey-form button[type=submit]").click()
            await page.locator("#judge-form button[type=submit]").click()
            await expect(page.locator("#derived-class")).to_contain_text("大規模半壊")
            await expect(page.locator("#issue-form")).to_have_count(0)
            await expect(page.locator("#application-status")).to_contain_text("判定済")
            assert problems == [], problems
        # The other towns' dwellings are not flagged (this node holds their delegation).
        async with browser_page(chromium) as (page, problems):
            await log_in(page, server, TOWN_B, "counter1", PASSWORD)
            other = (await seed_town_resident(server))
            await _with_reason(page)
            await page.evaluate(f"location.hash = '#/resident/{other}'")
            await expect(page.locator("#resident-name")).to_be_visible()
            await expect(page.locator(".no-delegation")).to_have_count(0)
            assert problems == [], problems


async def seed_town_resident(server) -> str:
    """A resident id of 益城町 (seeded by _staffed_node), whose delegation this node holds."""
    return await server.app[POOL].fetchval(
        "SELECT entity_id FROM entities WHERE entity_type = 'resident' AND state->>'town_code' = $1 LIMIT 1", TOWN_A)


async def test_japanese_first_errors_codes_and_roles(chromium, database, pki):
    """Issue 15 "Japanese first": an error's Japanese message by its code (English beside
    it), a field's reason in Japanese, structures and roles in Japanese."""
    from playwright.async_api import expect

    async with ui_node(database, pki) as server:
        town = await _staffed_node(server)
        resident = town.residents[0]
        dwelling = next(d for d in town.dwellings if resident.household_id in d.household_ids)
        async with browser_page(chromium) as (page, problems):
            await page.goto(str(server.make_url("/")))
            login = page.locator("#login-form")
            await login.locator("[name=town_code]").fill(TOWN_B)
            await login.locator("[name=username]").fill("counter1")
            await login.locator("[name=password]").fill("wrong password!")
            await login.locator("button[type=submit]").click()
            message = login.locator(".form-error .error-message")
            await expect(message.locator(".ja")).to_have_text("市町村コード・ユーザー名・パスワードのいずれかが違います")
            await expect(message.locator(".en")).to_have_text("Wrong town code, username or password")
            await log_in(page, server, TOWN_B, "counter1", PASSWORD)
            for role in ("窓口職員", "調査員", "監督者"):
                await expect(page.locator("#staff-who")).to_contain_text(role)
            await expect(page.locator("#staff-who")).not_to_contain_text("clerk")
            await _to_application(page, server, resident, dwelling)
            survey = page.locator("#survey-form")
            await page.locator("#survey-surveyor").select_option(index=1)  # the surveyor is chosen, never assumed
            await survey.locator("#survey-value").fill("150")
            await survey.locator("button[type=submit]").click()
            await expect(survey.locator("[data-field=damage_ratio] .field-error .ja")).to_have_text("範囲外の値です")
            await page.go_back()
            structure = page.locator(".dwelling", has_text=dwelling.location).locator("#dwelling-structure .ja")
            labels = {"木造", "プレハブ", "鉄骨造", "鉄筋コンクリート造", "鉄骨鉄筋コンクリート造", "非木造", "その他"}
            assert await structure.inner_text() in labels
            assert problems == [], problems


async def _count(pool, entity_type: str) -> int:
    return await pool.fetchval("SELECT count(*) FROM entities WHERE entity_type = $1", entity_type)


async def test_confirmations_before_issuing_reissuing_and_revoking(chromium, database, pki):
    """Issue 15 "Confirmations": each says what will happen; cancelling changes nothing; the
    revoke confirmation comes only once a reason is given, and shows it."""
    from playwright.async_api import expect

    async with ui_node(database, pki) as server:
        town = await _staffed_node(server)
        pool = server.app[POOL]
        resident = town.residents[0]
        dwelling = next(d for d in town.dwellings if resident.household_id in d.household_ids)
        async with browser_page(chromium) as (page, problems):
            await log_in(page, server, TOWN_B, "counter1", PASSWORD)
            await _to_application(page, server, resident, dwelling)
            await page.locator("#survey-surveyor").select_option(index=1)  # the surveyor is chosen, never assumed
            await page.locator("#survey-form #survey-value").fill("25")
            await page.locator("#survey-form button[type=submit]").click()
            await page.locator("#judge-form button[type=submit]").click()
            await page.locator("#issue-form [name=place]").fill("輪島市役所 窓口")

            await page.locator("#issue-form button[type=submit]").click()
            dialog = page.locator("#confirm-dialog")
            await expect(dialog).to_contain_text("罹災証明書を交付しますか")
            await expect(dialog).to_contain_text("益城町長（輪島市が代行）")
            await expect(dialog).to_contain_text("半壊")
            await expect(dialog).to_contain_text("交付後は取り消せません")
            await page.locator("#confirm-cancel").click()
            await expect(dialog).to_have_count(0)
            assert await _count(pool, "certificate") == 0
            await page.locator("#issue-form button[type=submit]").click()
            await page.locator("#confirm-ok").click()
            await expect(page.locator("#certificate-class")).to_contain_text("半壊")

            await page.locator("#reissue").click()
            await expect(dialog).to_contain_text("1通目")
            await page.locator("#confirm-cancel").click()
            assert await _count(pool, "certificate_copy") == 0
            await page.locator("#reissue").click()
            await page.locator("#confirm-ok").click()
            await expect(page.locator("#certificate-copies")).to_contain_text("1 通")
            assert await _count(pool, "certificate_copy") == 1

            revoke = page.locator("#revoke-form")
            await revoke.locator("button[type=submit]").click()
            await expect(revoke.locator("[data-field=reason] .field-error")).not_to_be_empty()
            await expect(dialog).to_have_count(0)
            await revoke.locator("[name=reason]").fill("世帯主の誤り")
            await revoke.locator("button[type=submit]").click()
            await expect(dialog).to_contain_text("世帯主の誤り")
            await expect(dialog).to_contain_text("失効は取り消せません")
            await page.locator("#confirm-cancel").click()
            await expect(page.locator("#certificate-status")).to_contain_text("有効")
            await revoke.locator("button[type=submit]").click()
            await page.locator("#confirm-ok").click()
            await expect(page.locator("#certificate-status")).to_contain_text("失効（世帯主の誤り）")
            assert problems == [], problems


async def test_conflict_review_shows_both_versions_side_by_side(chromium, database, pki):
    """Issue 15 admin screens: the conflict queue, both versions side by side, the winner by
    the rule marked, closed by a supervisor with a confirmation."""
    from playwright.async_api import expect

    from replication import store
    from replication.events import Event, new_event_id

    def event(node, wall, state, base=None):
        return Event(event_id=new_event_id(), origin_node=node, origin_town=TOWN_A, entity_type="household",
                     entity_id="434434-H9", state=state, base_version=base, hlc=hlc.Timestamp(wall, 0, node).encode())

    async with ui_node(database, pki) as server:
        await add_staff(server.app, username="boss1", roles=("supervisor",), display_name="監督 一郎")
        await add_staff(server.app, username="clerk1", roles=("clerk",))
        base = event("mashiki-1", 1, {"address": "宮園1", "householder": "R1"})
        async with server.app[POOL].acquire() as conn, conn.transaction():
            for e in (base, event("mashiki-1", 5, {"address": "宮園2", "householder": "R1"}, base.hlc),
                      event("rikuzentakata-1", 4, {"address": "宮園3", "householder": "R1"}, base.hlc)):
                await store.apply_event(conn, e)
        async with browser_page(chromium) as (page, problems):
            await log_in(page, server, TOWN_B, "clerk1", PASSWORD)
            await expect(page.locator("#nav a[data-route=conflicts]")).to_be_hidden()
            await page.locator("#logout").click()
            await log_in(page, server, TOWN_B, "boss1", PASSWORD)
            await page.locator("#nav a[data-route=conflicts]").click()
            card = page.locator("section.conflict")
            await expect(card).to_contain_text("同時更新")
            differs = card.locator("tr.differs[data-key=address]")
            await expect(differs).to_contain_text("宮園2")
            await expect(differs).to_contain_text("宮園3")
            await expect(card.locator("tr.same[data-key=householder]")).to_have_count(1)
            await expect(card.locator("th.winner")).to_contain_text("採用")
            await card.locator("[name=resolution]").fill("世帯の住所は宮園2で正しいことを確認")
            await card.locator("button[type=submit]").click()
            await expect(page.locator("#confirm-dialog")).to_contain_text("宮園2で正しい")
            await page.locator("#confirm-ok").click()
            await expect(page.locator("#no-conflicts")).to_be_visible()
            assert problems == [], problems
        row = await server.app[POOL].fetchrow("SELECT resolved_by, resolution FROM conflicts")
        assert row["resolution"] == "世帯の住所は宮園2で正しいことを確認" and row["resolved_by"]
