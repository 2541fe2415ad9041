"""The kiosk web app (/kiosk/) end to end in Debian's chromium at a portrait touch screen
(1080×1920, touch): enrolment of the device key, a one-time code, the card through the card
bridge with a software card, apply, my applications, a printed 再交付 copy, the idle
timeout, and nothing personal left in the page, its storage or its caches afterwards.

Against a real node (輪島市, wajima-1) with its PostgreSQL; the residents are 益城町's.
With RISAI_KIOSK_SCREENSHOTS=1 each screen is saved into docs/kiosk/ (docs/kiosk.md).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from card_bridge.cards import Pkcs12Card, write_software_card
from card_bridge.printer import FolderPrinter
from card_bridge.server import create_bridge
from service.kiosk import cards
from service.web.appkeys import POOL
from tests.browser.support import CHROMIUM_ARGS, ui_node
from tests.support.counter import TOWN_A, Node, build_pki, seed_town
from tests.support.kiosk import REASON, pem

pytestmark = pytest.mark.integration
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "kiosk"
NOW = dt.datetime.now(dt.timezone.utc)


@pytest.fixture(scope="module")
def pki():
    return build_pki()


async def shot(page, name: str) -> None:
    """Save the screen for docs/kiosk.md when asked to (RISAI_KIOSK_SCREENSHOTS=1)."""
    if os.environ.get("RISAI_KIOSK_SCREENSHOTS") == "1":
        SHOTS.mkdir(exist_ok=True)
        await page.wait_for_timeout(150)  # let the last paint land
        path = SHOTS / f"{name}.png"
        await page.screenshot(path=str(path))
        from PIL import Image  # 128 flat colours: a UI screenshot stays sharp at a third of the bytes

        Image.open(path).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT,
                                                 dither=Image.Dither.NONE).save(path, optimize=True)


class Kiosk:
    """One node with staff, a card bridge with a software card and a folder printer, and a
    kiosk browser page."""

    def __init__(self, server: TestServer, node: Node, town, page, bridge: TestServer, tmp: Path, ca) -> None:
        self.server, self.node, self.town, self.page, self.bridge, self.tmp, self.ca = \
            server, node, town, page, bridge, tmp, ca

    def url(self, idle: int | None = None) -> str:
        extra = f"&idle={idle}" if idle else ""
        return str(self.server.make_url(f"/kiosk/?bridge=http://127.0.0.1:{self.bridge.port}{extra}"))

    async def code_for(self, resident) -> str:
        status, body = await self.clerk.post("/api/v1/application-codes", {
            "town_code": TOWN_A, "resident_id": resident.resident_id}, headers=REASON)
        assert status == 201, body
        return body["code"]

    async def tap(self, selector: str) -> None:
        await self.page.locator(selector).first.tap()

    async def type_on_pad(self, text: str, ok: bool = True) -> None:
        for ch in text.replace("-", ""):
            await self.tap(f".pad .key[data-key='{ch}']")
        if ok:
            await self.tap("button[data-key=ok]")

    async def screen(self, name: str) -> None:
        from playwright.async_api import expect

        await expect(self.page.locator("#screen")).to_have_attribute("data-screen", name, timeout=15_000)


@contextlib.asynccontextmanager
async def kiosk(chromium, database, pki, tmp_path, idle: int | None = None):
    from playwright.async_api import async_playwright, expect

    async with ui_node(database, pki) as server:
        client = TestClient(server)
        await client.start_server()
        node = Node(server.app, [client], server)
        town = await seed_town(server.app)
        ca = cards.create_card_ca("Test card CA", now=NOW)
        admin = await node.login("admin1", ("admin",))
        assert (await admin.post("/api/v1/card-cas", {"certificate_pem": pem(ca[1])}))[0] == 201
        bridge_card = tmp_path / "card.p12"
        bridge = TestServer(create_bridge(Pkcs12Card(bridge_card), FolderPrinter(tmp_path / "printed"),
                                          [f"http://127.0.0.1:{server.port}"]), host="127.0.0.1")
        await bridge.start_server()
        try:
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                context = await browser.new_context(viewport={"width": 1080, "height": 1920}, has_touch=True,
                                                    is_mobile=True, locale="ja-JP", timezone_id="Europe/London")
                page = await context.new_page()
                page.set_default_timeout(15_000)
                problems: list[str] = []
                page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
                page.on("console", lambda m: problems.append(m.text)
                        if m.type == "error" and "status of 4" not in m.text else None)
                k = Kiosk(server, node, town, page, bridge, tmp_path, ca)
                k.clerk = await node.login("clerk1", ("clerk",))
                k.boss = await node.login("boss1", ("supervisor", "surveyor"))
                k.card_file = bridge_card
                await page.goto(k.url(idle))
                await k.screen("enrol")
                pairing = (await page.locator("[data-pairing]").text_content()).strip()
                await expect(page.locator("[data-pairing]")).not_to_have_text("…")
                pairing = (await page.locator("[data-pairing]").text_content()).strip()
                await shot(page, "0-enrol")
                status, body = await k.boss.post("/api/v1/kiosk-enrolments/approve", {
                    "pairing_code": pairing, "kiosk_id": "kiosk-wajima-1", "name": "輪島中学校 1",
                    "centre": "輪島中学校体育館"})
                assert status == 201, body
                await k.screen("start")
                yield k
                assert not problems, problems
                await browser.close()
        finally:
            await bridge.close()
            await client.close()
            for extra in node.clients[1:]:
                await extra.close()


async def _disaster_and_certificate(k: Kiosk, resident, dwelling) -> tuple[str, str]:
    status, body = await k.boss.post("/api/v1/disasters", {"name": "令和6年能登半島地震", "date": "2024-01-01",
                                                           "towns": [TOWN_A]})
    assert status == 201, body
    disaster = body["disaster"]["disaster_id"]
    status, created = await k.clerk.post("/api/v1/applications", {
        "applicant_resident_id": resident.resident_id, "dwelling_id": dwelling.dwelling_id,
        "disaster_id": disaster}, headers=REASON)
    assert status == 201, created
    app_id = created["application"]["application_id"]
    assert (await k.boss.post(f"/api/v1/applications/{app_id}/surveys",
                              {"surveyed_on": "2024-01-10", "damage_ratio": "45",
                               "surveyor_id": k.boss.session.staff["staff_id"]}, headers=REASON))[0] == 201
    assert (await k.boss.post(f"/api/v1/applications/{app_id}/judgement", {}, headers=REASON))[0] == 200
    status, issued = await k.clerk.post(f"/api/v1/applications/{app_id}/certificate", {}, headers=REASON)
    assert status == 201, issued
    return disaster, issued["certificate"]["number"]


def _household(town, index=0):
    resident = town.residents[index]
    return resident, [d for d in town.dwellings if resident.household_id in d.household_ids]


async def nothing_left_behind(k: Kiosk, secrets: list[str]) -> None:
    """No personal data in the DOM, localStorage, sessionStorage, IndexedDB or the Cache API."""
    page = k.page
    await k.screen("start")
    found = await page.evaluate("""async () => {
      const dbs = await indexedDB.databases();
      const dump = [];
      for (const { name } of dbs) {
        const db = await new Promise((ok, bad) => { const r = indexedDB.open(name); r.onsuccess = () => ok(r.result);
          r.onerror = () => bad(r.error); });
        for (const store of db.objectStoreNames) {
          const all = await new Promise((ok) => { const r = db.transaction(store).objectStore(store).getAll();
            r.onsuccess = () => ok(r.result); });
          dump.push(JSON.stringify(all, (key, v) => v instanceof CryptoKey ? `CryptoKey(${v.extractable})` : v));
        }
        db.close();
      }
      return { dom: document.documentElement.outerHTML, local: localStorage.length, session: sessionStorage.length,
               caches: await caches.keys(), dbs: dbs.map((d) => d.name), idb: dump.join("\\n") };
    }""")
    assert found["local"] == 0 and found["session"] == 0 and found["caches"] == []
    assert found["dbs"] == ["risai-kiosk-device"]
    assert "CryptoKey(false)" in found["idb"]  # the device key: non-extractable
    for secret in secrets:
        assert secret not in found["dom"], secret
        assert secret not in found["idb"], secret


async def test_code_apply_follow_and_print_a_copy(chromium, database, pki, tmp_path):
    from playwright.async_api import expect

    async with kiosk(chromium, database, pki, tmp_path) as k:
        resident, dwellings = _household(k.town)
        disaster, number = await _disaster_and_certificate(k, resident, dwellings[0])
        page = k.page
        await shot(page, "1-start")
        code = await k.code_for(resident)
        await k.tap("[data-go=code]")
        await k.screen("code")
        await k.type_on_pad(code[:9], ok=False)
        await shot(page, "2-code-pad")
        await k.type_on_pad(code[9:])
        await k.screen("menu")
        await expect(page.locator("h1.hello")).to_contain_text(resident.family_name)
        await shot(page, "3-menu")

        await k.tap("[data-go=household]")
        await k.screen("household")
        for d in dwellings:
            await expect(page.locator(f"[data-dwelling='{d.dwelling_id}']")).to_contain_text(d.location)
        await shot(page, "4-household")
        await k.tap("#easy")
        await expect(page.locator("#screen ruby, #screen .ja").first).to_be_visible()
        await expect(page.locator("h1")).to_contain_text("かぞく と いえ")
        await shot(page, "4b-household-easy")
        await k.tap("#easy")
        await k.tap("button.quiet")

        # Apply for a 被災証明 (the dwelling already has its 罹災証明書), with the confirmation.
        await k.tap("[data-go=apply]")
        await k.screen("apply")
        await shot(page, "5-apply")
        await k.tap("[data-kind=hisai]")
        await k.screen("apply-property")
        await k.tap("[data-property='物置']")
        await k.screen("apply-confirm")
        await expect(page.locator(".summary")).to_contain_text("令和6年能登半島地震")
        await shot(page, "6-apply-confirm")
        await k.tap("[data-go=submit]")
        await k.screen("applied")
        tracking = (await page.locator("[data-tracking]").text_content()).strip()
        assert len(tracking.replace("-", "")) == 12
        await shot(page, "7-applied")
        await k.tap("button.big >> nth=0")
        await k.screen("applications")
        await expect(page.locator("[data-status=received]")).to_contain_text("受付済み")
        await expect(page.locator("[data-status=issued]")).to_contain_text("交付済み")
        await expect(page.locator("time").first).to_contain_text("令和")
        await expect(page.locator("time").first).to_contain_text("JST")
        await shot(page, "8-applications")

        # My certificates: the valid one prints as a 再交付 copy through the bridge's printer.
        await k.tap("button.quiet")
        await k.tap("[data-go=certificates]")
        await k.screen("certificates")
        await expect(page.locator(f"[data-number='{number}']")).to_contain_text("有効")
        await shot(page, "9-certificates")
        await k.tap(f"[data-print='{number}']")
        await k.screen("print-reason")
        await shot(page, "10-print-reason")
        await k.tap("[data-reason='追加']")
        await k.screen("printed")
        await shot(page, "11-printed")
        await k.screen("bye")
        await expect(page.locator("#screen")).to_have_attribute("data-ended", "print")
        await shot(page, "12-bye")
        printed = list((k.tmp / "printed").iterdir())
        assert len(printed) == 1
        text = subprocess.run(["pdftotext", str(printed[0]), "-"], capture_output=True, check=True).stdout.decode()
        assert "再交付" in text and number in text.replace(" ", "")
        copies = await k.server.app[POOL].fetch(
            "SELECT state->>'place' AS place FROM entities WHERE entity_type = 'certificate_copy'")
        assert [r["place"] for r in copies] == ["kiosk:kiosk-wajima-1@輪島中学校体育館"]
        ended = await k.server.app[POOL].fetchval("SELECT count(*) FROM kiosk_sessions WHERE ended_at IS NULL")
        assert ended == 0
        await nothing_left_behind(k, [resident.family_name + " " + resident.given_name, resident.resident_id,
                                      tracking, number, dwellings[0].location, code])


async def test_card_through_the_bridge_and_revoked_certificate(chromium, database, pki, tmp_path):
    from playwright.async_api import expect

    async with kiosk(chromium, database, pki, tmp_path) as k:
        resident, dwellings = _household(k.town, 3)
        _, number = await _disaster_and_certificate(k, resident, dwellings[0])
        assert (await k.boss.post(f"/api/v1/certificates/{number}/revoke", {"reason": "誤記載"},
                                  headers=REASON))[0] == 201
        key, cert = cards.issue_card(*k.ca, town_code=TOWN_A, resident_id=resident.resident_id, now=NOW)
        page = k.page
        await k.tap("[data-go=card]")
        await k.screen("card")
        await shot(page, "13-card-wait")
        write_software_card(k.card_file, key, cert, "2468")  # the card goes on the reader
        await k.screen("pin")
        await k.type_on_pad("1111")
        await expect(page.locator("[data-code='card.pin']")).to_be_visible()
        await shot(page, "14-pin-wrong")
        await k.type_on_pad("2468")
        await k.screen("menu")
        await expect(page.locator("h1.hello")).to_contain_text(resident.family_name)
        await k.tap("[data-go=certificates]")
        await k.screen("certificates")
        revoked = page.locator(f"[data-number='{number}']")
        await expect(revoked).to_have_attribute("data-state", "revoked")
        await expect(revoked).to_contain_text("失効")
        await expect(revoked.locator("[data-print]")).to_have_count(0)
        await shot(page, "15-certificate-revoked")
        await k.tap("#finish")
        await k.screen("bye")
        await nothing_left_behind(k, [resident.family_name + " " + resident.given_name, resident.resident_id, number])
        method = await k.server.app[POOL].fetchval("SELECT method FROM kiosk_sessions")
        assert method == "card"


async def test_idle_timeout_with_countdown(chromium, database, pki, tmp_path):
    from playwright.async_api import expect

    async with kiosk(chromium, database, pki, tmp_path, idle=12) as k:
        resident, _ = _household(k.town)
        code = await k.code_for(resident)
        page = k.page
        await k.tap("[data-go=code]")
        await k.type_on_pad(code)
        await k.screen("menu")
        await k.tap("[data-go=household]")
        await expect(page.locator("#idle")).to_be_visible(timeout=12_000)
        first = int(await page.locator("#countdown").text_content())
        await page.wait_for_timeout(1500)
        assert int(await page.locator("#countdown").text_content()) < first
        await shot(page, "16-idle-countdown")
        await k.tap("#still")
        await expect(page.locator("#idle")).to_be_hidden()
        await k.screen("household")
        await expect(page.locator("#idle")).to_be_visible(timeout=12_000)
        await k.screen("bye")  # no touch: the session ends by itself
        await expect(page.locator("#screen")).to_have_attribute("data-ended", "idle")
        await nothing_left_behind(k, [resident.family_name + " " + resident.given_name, resident.resident_id, code])
        assert await k.server.app[POOL].fetchval("SELECT count(*) FROM kiosk_sessions WHERE ended_at IS NULL") == 0


async def test_supervisor_enrols_a_kiosk_from_the_counter_ui(chromium, database, pki):
    """The key is made in the kiosk's browser (non-extractable); the counter registers only
    its public key, after the supervisor compares the fingerprints."""
    from playwright.async_api import async_playwright, expect

    from tests.browser.support import log_in
    from tests.support.auth import PASSWORD, add_staff

    async with ui_node(database, pki) as server:
        await add_staff(server.app, username="boss1", roles=("supervisor",))
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                kiosk_page = await (await browser.new_context(viewport={"width": 1080, "height": 1920},
                                                              has_touch=True)).new_page()
                await kiosk_page.goto(str(server.make_url("/kiosk/")))
                pairing = kiosk_page.locator("[data-pairing]")
                await expect(pairing).not_to_have_text("…")
                shown_print = (await kiosk_page.locator("#screen code").text_content()).strip()
                exportable = await kiosk_page.evaluate("""async () => {
                  const db = await new Promise((ok) => { const r = indexedDB.open("risai-kiosk-device"); r.onsuccess = () => ok(r.result); });
                  const rec = await new Promise((ok) => { const r = db.transaction("device").objectStore("device").get("self");
                    r.onsuccess = () => ok(r.result); });
                  try { await crypto.subtle.exportKey("pkcs8", rec.key.privateKey); return true; } catch { return false; }
                }""")
                assert exportable is False

                counter = await (await browser.new_context(viewport={"width": 1180, "height": 900})).new_page()
                await log_in(counter, server, "172049", "boss1", PASSWORD)
                await counter.locator("#nav a[data-route=kiosks]").click()
                form = counter.locator("#kiosk-enrol-form")
                typed = (await pairing.text_content()).strip()
                await form.locator("[name=pairing_code]").fill(typed.lower())
                await form.locator("[name=kiosk_id]").fill("kiosk-9")
                await form.locator("[name=name]").fill("輪島高校 1")
                await form.locator("[name=centre]").fill("輪島高校 体育館")
                await form.locator("button[type=submit]").click()
                await expect(counter.locator("#confirm-dialog")).to_contain_text(shown_print)
                await shot(counter, "17-counter-enrol")
                await counter.locator("#confirm-ok").click()
                await expect(counter.locator("[data-kiosk='kiosk-9']")).to_be_visible()

                await expect(kiosk_page.locator("#screen")).to_have_attribute("data-screen", "start", timeout=15_000)
                row = await server.app[POOL].fetchrow("SELECT public_key_pem, centre, registered_by FROM kiosk_devices"
                                                      " WHERE kiosk_id = 'kiosk-9'")
                assert row["centre"] == "輪島高校 体育館"
                from service.kiosk.enrolment import fingerprint

                assert fingerprint(row["public_key_pem"]) == shown_print
                # The same code again enrols nothing: the kiosk is no longer waiting.
                await form.locator("[name=pairing_code]").fill(typed)
                await form.locator("[name=kiosk_id]").fill("kiosk-10")
                await form.locator("[name=name]").fill("x")
                await form.locator("[name=centre]").fill("x")
                await form.locator("button[type=submit]").click()
                await expect(form).to_contain_text("その登録コードで待っている端末はありません")
            finally:
                await browser.close()


async def test_a_session_the_node_ended_ends_the_page_too(chromium, database, pki, tmp_path):
    from playwright.async_api import expect

    async with kiosk(chromium, database, pki, tmp_path) as k:
        resident, _ = _household(k.town)
        code = await k.code_for(resident)
        await k.tap("[data-go=code]")
        await k.type_on_pad(code)
        await k.screen("menu")
        await k.server.app[POOL].execute("UPDATE kiosk_sessions SET expires_at = now()")  # the TTL ran out
        await k.tap("[data-go=applications]")
        await k.screen("bye")
        await expect(k.page.locator("#screen")).to_have_attribute("data-ended", "expired")
        await nothing_left_behind(k, [resident.family_name + " " + resident.given_name, resident.resident_id, code])
