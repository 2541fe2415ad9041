"""The staff-account admin screen (issue 15) in Debian's chromium: an admin adds an account,
changes its roles, disables it (the member's open session ends) and resets a password,
each step confirmed first; a clerk never sees the screen."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.support import browser_page, log_in, ui_node
from tests.support.auth import PASSWORD, add_staff, login
from tests.support.counter import TOWN_B, build_pki

pytestmark = pytest.mark.integration
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def pki():
    return build_pki()


async def test_admin_walks_the_staff_screen(chromium, database, pki, tmp_path):
    from aiohttp.test_utils import TestClient
    from playwright.async_api import expect

    out = DOCS if os.environ.get("RISAI_UI_SCREENSHOT") == "1" else tmp_path
    async with ui_node(database, pki) as server:
        await add_staff(server.app, username="admin1", roles=("admin",), display_name="輪島 管理")
        await add_staff(server.app, username="clerk1", roles=("clerk",), display_name="窓口 一郎")
        clerk = TestClient(server)
        await clerk.start_server()
        await login(clerk, username="clerk1")
        try:
            async with browser_page(chromium) as (page, problems):
                await log_in(page, server, TOWN_B, "admin1", PASSWORD)
                await page.locator("#nav a[data-route=staff]").click()
                rows = page.locator("table.staff-list tbody tr")
                await expect(rows).to_have_count(2)
                await expect(rows.filter(has_text="clerk1")).to_contain_text("窓口職員")
                # Own row: the admin role and the disable button are locked (no self-lockout).
                own = rows.filter(has_text="admin1")
                await expect(own.locator("input[value=admin]")).to_be_disabled()
                await expect(own.locator(".disable-form button")).to_be_disabled()

                create = page.locator("#staff-create")
                await create.locator("[name=username]").fill("sato")
                await create.locator("[name=display_name]").fill("佐藤 花子")
                await create.locator("[name=password]").fill("short")
                await create.locator("button[type=submit]").click()
                await expect(create.locator("[data-field=password] .field-error")).not_to_be_empty()
                await create.locator("[name=password]").fill(PASSWORD)
                await create.locator("input[value=surveyor]").check()
                await create.locator("button[type=submit]").click()
                sato = rows.filter(has_text="sato")
                await expect(sato).to_contain_text("窓口職員・調査員")

                clerk_row = rows.filter(has_text="clerk1")
                await clerk_row.locator(".disable-form button").click()
                dialog = page.locator("#confirm-dialog")
                await expect(dialog).to_contain_text("全ノードで直ちに終了")
                await dialog.locator("#confirm-ok").click()
                await expect(clerk_row).to_contain_text("停止中")
                assert (await clerk.get("/api/v1/auth/me")).status == 401  # the open session ended
                await page.screenshot(path=str(out / "counter-ui-staff-admin.png"), full_page=True)

                await sato.locator(".password-form [name=password]").fill("a brand new passphrase")
                await sato.locator(".password-form button[type=submit]").click()
                await expect(dialog).to_contain_text("新しいパスワードでのみログインできます")
                async with page.expect_response(lambda r: r.url.endswith("/password")) as reset:
                    await dialog.locator("#confirm-ok").click()
                assert (await reset.value).status == 200
                await login(clerk, username="sato", password="a brand new passphrase")
                assert problems == [], problems

            async with browser_page(chromium) as (page, problems):
                await add_staff(server.app, username="clerk2", roles=("clerk",))
                await log_in(page, server, TOWN_B, "clerk2", PASSWORD)
                await expect(page.locator("#nav a[data-route=staff]")).to_be_hidden()
        finally:
            await clerk.close()
