"""Defects found by walking the counter UI as a clerk would (issue 15), each in a real
browser (Debian's chromium via Playwright) against a real node on real PostgreSQL.

Each test names the defect it guards. The node is 輪島市's (wajima-1); the seeded residents
are 益城町's, so their data is "another town's" and needs a stated reason.
"""

from __future__ import annotations

import pytest

from tests.browser.support import browser_page, log_in, ui_node
from tests.support.auth import PASSWORD, add_staff
from tests.support.counter import TOWN_B, build_pki, seed_town

pytestmark = pytest.mark.integration
REASON = "避難所での申請受付（益城町からの避難者）"


@pytest.fixture(scope="module")
def pki():
    return build_pki()


async def _staffed_node(server, roles=("clerk", "surveyor", "supervisor")):
    town = await seed_town(server.app)
    await add_staff(server.app, username="counter1", roles=roles, display_name="輪島 花子")
    return town


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
            await page.evaluate(f"sessionStorage.setItem('risai.reason', '{REASON}')")
            await page.reload()
            await expect(page.locator("#nav")).to_be_visible()
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
