// The counter UI shell: login, hash routing, the "another town's data" banner with
// replication freshness, and the access-reason dialog.

import * as api from "./api.js";
import { bi, button, clear, field, formError, h, input, setReasonRetry, showError, values } from "./dom.js";
import { freshnessTable, stopAll, watch } from "./freshness.js";
import { label } from "./messages.js";
import { applicationView, certificateView, residentView, searchView } from "./counter.js";
import { freshnessView, importView, verifyView } from "./tools.js";
import { conflictsView } from "./admin.js";
import { staffView } from "./staff.js";
import { quarantineView } from "./quarantine.js";
import { batchPrintView } from "./batch.js";
import { applicationsView, daikouView, ledgerView } from "./lists.js";
import { statsView } from "./stats.js";
import { kiosksView } from "./kiosks.js";

export const towns = {}; // code → {name, mayor}, from the trust list

export function townName(code) {
  return towns[code] ? `${towns[code].name}` : code;
}

// Whether this node holds a current delegation of `code` (unknown towns: do not block;
// the node still refuses at issuing), and which nodes do.
export const canIssueHere = (code) => !towns[code] || towns[code].here !== false;
export const issuersOf = (code) => (towns[code] && towns[code].issuers) || [];

const view = document.getElementById("view");
const banner = document.getElementById("banner");
let unwatchBanner = null;
let renderSeq = 0;

// ---- the access reason ------------------------------------------------------------

function askReason(message) {
  const dialog = document.getElementById("reason-dialog");
  const reasonInput = document.getElementById("reason-input");
  reasonInput.value = api.currentReason();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok" && reasonInput.value.trim() ? reasonInput.value.trim() : null);
    }, { once: true });
    dialog.showModal();
    reasonInput.focus();
  });
}
api.setReasonPrompt(askReason);
setReasonRetry(async (container) => {
  const reason = await askReason();
  if (!reason) return;
  api.setReason(reason);
  if (container instanceof HTMLFormElement) container.requestSubmit();
  else render();
});

// ---- the banner: another town's data ----------------------------------------------

// Called by views with the competent / resident towns of what is on screen.
export function dataTowns(codes) {
  const me = api.session.staff && api.session.staff.town_code;
  const others = [...new Set(codes.filter((c) => c && c !== me))];
  if (!others.length) { hideBanner(); return; }
  const names = others.map((c) => `${townName(c)}（${c}）`).join("・");
  const table = h("div", { class: "banner-freshness" }, freshnessTable(null));
  clear(banner).append(
    h("div", { class: "banner-head" },
      h("strong", {}, bi(`他の市町村のデータです: ${names}`, `This is another town's data: ${others.join(", ")}`)),
      h("span", { class: "reason" }, bi("理由", "Reason"), "：", api.currentReason() || "（未入力 / none yet）",
        " ", button("理由を変更", "Change reason", { class: "link", onclick: changeReason }))),
    h("p", { class: "banner-note" }, bi(
      "このノードが保持する複製の鮮度（送信元ノード別）。遅延中は最新の変更が反映されていない可能性があります。",
      "Replication freshness on this node, per origin node. While behind, the latest changes may be missing.")),
    table);
  banner.hidden = false;
  if (unwatchBanner) unwatchBanner();
  unwatchBanner = watch((data, err) => {
    clear(table).append(err ? h("p", { class: "muted" }, `複製状況を取得できません / Cannot read freshness: ${err.message}`)
      : freshnessTable(data));
  });
}

async function changeReason() {
  const reason = await askReason();
  if (reason) { api.setReason(reason); render(); }
}

function hideBanner() {
  banner.hidden = true;
  clear(banner);
  if (unwatchBanner) { unwatchBanner(); unwatchBanner = null; }
}

// ---- login ------------------------------------------------------------------------

function loginView() {
  const form = h("form", { class: "card narrow", id: "login-form", novalidate: true },
    h("h2", {}, bi("職員ログイン", "Staff login")),
    field("town_code", "市町村コード", "Town code", input({ inputmode: "numeric", maxlength: 6, autocomplete: "organization", required: true }), "6桁 / 6 digits"),
    field("username", "ユーザー名", "Username", input({ autocomplete: "username", required: true })),
    field("password", "パスワード", "Password", input({ type: "password", autocomplete: "current-password", required: true })),
    formError(),
    h("button", { type: "submit", class: "primary" }, bi("ログイン", "Log in")));
  const last = localStorage.getItem("risai.town");
  if (last) form.elements.town_code.value = last;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = values(form);
    try {
      await api.login(v.town_code, v.username, form.elements.password.value);
      localStorage.setItem("risai.town", v.town_code);
      await loadTowns();
      showShell();
      location.hash = location.hash && location.hash !== "#/login" ? location.hash : "#/search";
      render();
    } catch (e) {
      form.elements.password.value = "";
      showError(form, e);
    }
  });
  return form;
}

async function loadTowns() {
  try {
    const data = await fetch("/ui/towns").then((r) => (r.ok ? r.json() : { towns: {} }));
    Object.assign(towns, data.towns);
  } catch (e) { /* names are a convenience: codes still show */ }
}

function showShell() {
  const staff = api.session.staff;
  document.getElementById("nav").hidden = !staff;
  document.querySelector("#nav a[data-route=conflicts]").hidden = !api.hasRole("supervisor", "auditor", "admin");
  document.querySelector("#nav a[data-route=staff]").hidden = !api.hasRole("admin");
  document.querySelector("#nav a[data-route=quarantine]").hidden = !api.hasRole("supervisor", "auditor", "admin");
  document.querySelector("#nav a[data-route=kiosks]").hidden = !api.hasRole("supervisor", "admin");
  const who = clear(document.getElementById("who"));
  if (!staff) return;
  who.append(
    h("span", { class: "staff", id: "staff-who" }, `${staff.display_name}（${townName(staff.town_code)}・`,
      staff.roles.map((r) => label("role", r)[0]).join("・"), "）"),
    button("新しい受付", "New case", { class: "link", id: "new-case", onclick: () => { api.setReason(""); location.hash = "#/search"; render(); } }),
    button("ログアウト", "Log out", { class: "link", id: "logout", onclick: async () => {
      await api.logout(); stopAll(); hideBanner(); showShell(); location.hash = "#/login"; render();
    } }));
}

// ---- routing ----------------------------------------------------------------------

const routes = {
  search: () => searchView(),
  resident: (id) => residentView(id),
  application: (id) => applicationView(id),
  certificate: (n) => certificateView(n),
  verify: (qr) => verifyView(qr),
  import: () => importView(),
  freshness: () => freshnessView(),
  conflicts: () => conflictsView(),
  staff: () => staffView(),
  quarantine: () => quarantineView(),
  "batch-print": () => batchPrintView(),
  applications: () => applicationsView(),
  ledger: () => ledgerView(),
  daikou: (town) => daikouView(town),
  stats: (arg) => statsView(arg),
  kiosks: () => kiosksView(),
};

export async function render() {
  const seq = ++renderSeq;
  const [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const arg = rest.length ? decodeURIComponent(rest.join("/")) : undefined;
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.dataset.route === name));
  if (!api.session.staff && name !== "verify") {
    hideBanner();
    clear(view).append(loginView());
    return;
  }
  const route = routes[name] || routes.search;
  if (!["resident", "application", "certificate"].includes(name)) hideBanner();
  try {
    const el = await route(arg);
    if (seq === renderSeq) clear(view).append(el);
  } catch (e) {
    if (seq !== renderSeq) return;
    const box = h("div", { class: "card" }, formError());
    showError(box, e);
    clear(view).append(box);
  }
}

window.addEventListener("hashchange", render);
window.addEventListener("risai:logged-out", () => { showShell(); hideBanner(); });

(async () => {
  await api.restore();
  if (api.session.staff) await loadTowns();
  showShell();
  render();
})();
