"""The casework screens in Debian's chromium: 申請一覧 (filters, paging, a bad filter, CP932
export), 交付台帳, the 代行 report with the auditor's records, and 集計 with its charts.

The cases are those of tests/support/casework.py: node B (輪島市) served four of town A's
(益城町) applications and issued two certificates in A's name. The screens are walked as
A's returning staff (clerk, supervisor and auditor) at node B. With RISAI_UI_SCREENSHOT=1
the screenshots go to docs/ (docs/counter-ui.md shows them).
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import pytest

from tests.browser.support import browser_page, log_in, ui_node
from tests.support.auth import PASSWORD, add_staff
from tests.support.casework import make_cases
from tests.support.counter import TOWN_A, Node, build_pki

pytestmark = pytest.mark.integration
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def pki():
    return build_pki()


async def test_lists_report_and_statistics_screens(chromium, database, pki, tmp_path):
    out = DOCS if os.environ.get("RISAI_UI_SCREENSHOT") == "1" else tmp_path

    async def shot(page, name: str) -> None:
        await page.screenshot(path=str(out / f"counter-ui-{name}.png"), full_page=True)

    async with ui_node(database, pki) as server:
        node = Node(server.app, [], server)
        try:
            await _walk(chromium, server, node, shot)
        finally:
            for client in node.clients:
                await client.close()


async def _walk(chromium, server, node, shot) -> None:
    from playwright.async_api import expect

    supervisor = await node.login("boss1", ("supervisor", "surveyor"))
    clerk_b = await node.login("clerk1", ("clerk",))
    cases = await make_cases(node, supervisor, clerk_b)
    await add_staff(server.app, username="kanri-a", roles=("clerk", "supervisor", "auditor"),
                    town_code=TOWN_A, display_name="益城 一郎")
    async with browser_page(chromium) as (page, problems):
        await log_in(page, server, TOWN_A, "kanri-a", PASSWORD)

        # 申請一覧: all four, then paged by three, then filtered, then a bad range.
        await page.locator("#nav a[data-route=applications]").click()
        rows = page.locator("#applications-table tbody tr")
        await expect(rows).to_have_count(4)
        await expect(page.locator("#applications-count")).to_contain_text("全 4 件中 1–4 件")
        await expect(rows.first).to_contain_text(cases.applications[-1])
        await expect(rows.first).to_contain_text("JST")
        await shot(page, "applications")
        form = page.locator("#applications-form")
        await form.locator("[name=limit]").fill("3")
        await form.locator("#applications-search").click()
        await expect(rows).to_have_count(3)
        await page.locator("#applications-next").click()
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text(cases.applications[0])
        await expect(page.locator("#applications-next")).to_be_disabled()
        await page.locator("#applications-prev").click()
        await expect(rows).to_have_count(3)
        await form.locator("[name=limit]").fill("50")
        await form.locator("[name=status]").select_option("issued")
        await form.locator("#applications-search").click()
        await expect(rows).to_have_count(2)
        await expect(page.locator("#applications-table")).to_contain_text("交付済")

        async with page.expect_download() as downloading:
            await page.locator("#applications-export-cp932").click()
        path = await (await downloading.value).path()
        table = list(csv.reader(io.StringIO(Path(path).read_bytes().decode("cp932"), newline="")))
        assert sorted(r[0] for r in table[1:]) == sorted(cases.applications[:2])

        await form.locator("[name=received_from]").fill("2024-02-02")
        await form.locator("[name=received_to]").fill("2024-02-01")
        await form.locator("#applications-search").click()
        error = form.locator("[data-field=received_to] .field-error")
        await expect(error).to_be_visible()
        await expect(error).to_contain_text("期間の終わりが始まりより前です")

        # 交付台帳: both certificates, then only the revoked one.
        await page.locator("#nav a[data-route=ledger]").click()
        ledger = page.locator("#ledger-table tbody tr")
        await expect(ledger).to_have_count(2)
        await expect(page.locator("#ledger-table")).to_contain_text("代行")
        await expect(page.locator("#ledger-table")).to_contain_text("令和")
        await shot(page, "ledger")
        await page.locator("#ledger-form [name=state]").select_option("revoked")
        await page.locator("#ledger-search").click()
        await expect(ledger).to_have_count(1)
        await expect(ledger.first).to_contain_text(cases.certificates[1])
        await expect(ledger.first).to_contain_text("失効")

        # 代行 report: node B's work in A's name, and (as A's auditor) B's audit records.
        await page.locator("#nav a[data-route=daikou]").click()
        by_node = page.locator("#daikou-by-node tbody tr")
        await expect(by_node).to_have_count(1)
        await expect(by_node.first.locator("td")).to_have_text(["wajima-1", "4", "3", "2", "1", "1"])
        await expect(page.locator("#daikou-certificates tbody tr")).to_have_count(2)
        await expect(page.locator("#daikou-audits tbody tr").first).to_be_visible()
        await expect(page.locator("#daikou-audits")).to_contain_text("certificate.issue")
        await shot(page, "daikou")

        # 集計 of A's cases, then of everything node B served.
        await page.locator("#nav a[data-route=stats]").click()
        zenkai = page.locator("#stats-by-class tbody tr", has_text="全壊").first
        await expect(zenkai.locator("td")).to_have_text([re.compile("^全壊"), "1", "1"])
        await expect(page.locator("#stats-by-class tfoot td")).to_have_text(["4", "1"])
        await expect(page.locator("svg.bar-chart rect.bar.zenkai").first).to_be_visible()
        await expect(page.locator("svg.day-chart rect.bar").first).to_be_visible()
        assert await page.locator("#stats-by-district tbody tr").count() >= 1
        await shot(page, "stats")
        await page.locator("#stats-scope").select_option("node")
        await expect(page.locator("#stats-heading")).to_contain_text("wajima-1")
        await expect(page.locator("#stats-by-node tbody tr").first.locator("td")).to_have_text(["wajima-1", "4", "1"])

        assert problems == []
