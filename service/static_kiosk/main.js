// The evacuation-centre kiosk (issue 13): start (card or code) → menu → household and
// dwellings / apply (with a confirmation) / my applications / my certificates (print a
// 再交付 copy) → finish. Touch only. A shared device keeps nothing: the session ends on
// おわる, after printing and after IDLE seconds without a touch (a countdown with まだ使う
// shows first); then the page is rebuilt from nothing and the storage is cleared.

import * as api from "./api.js";
import * as bridge from "./bridge.js";
import * as device from "./device.js";
import { bi, big, h, isEasy, pair, setEasy } from "./dom.js";
import { CODE_KEYS, DIGITS, pad } from "./pad.js";
import { HISAI_NEXT, PROPERTIES, STATUS, W } from "./words.js";
import { dateLabel, formatJst, jstParts } from "./counter/dates.js";
import { CLASSES } from "./counter/damage.js";
import { errorMessage, label } from "./counter/messages.js";

const params = new URLSearchParams(location.search);
const IDLE = Math.max(10, Number(params.get("idle")) || 60) * 1000; // seconds (60 by default)
const WARN = Math.min(20_000, IDLE / 2); // the countdown shows for the last 20 s
const screen = document.getElementById("screen");
const idleBox = document.getElementById("idle");
const finishButton = document.getElementById("finish");
const easyButton = document.getElementById("easy");

let me = null; // the identified resident's data: memory only, dropped at the end
let lastTouch = Date.now();
let current = null; // the function that draws the current screen (redrawn on the easy toggle)
let ending = false; // a session is ending: only the goodbye is drawn until the start screen

function show(draw) {
  // While a session ends nothing but the goodbye may be drawn (a reply still on its way
  // must not put a resident's screen back).
  if (ending && draw.screenName !== "bye") return;
  current = draw;
  screen.replaceChildren(...[draw()].flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  screen.dataset.screen = draw.screenName || "";
  finishButton.hidden = !api.hasSession();
  window.scrollTo(0, 0);
}
const named = (name, fn) => Object.assign(fn, { screenName: name });

function title(key, extra) {
  return h("h1", {}, bi(key, extra));
}

function failure(err) {
  const known = W[err.code] ? bi(err.code) : pair(errorMessage(err.code, err.message));
  return h("div", { class: "notice bad", role: "alert", dataset: { code: err.code || "" } },
    h("p", {}, bi("error")), h("p", {}, known), h("p", {}, bi("ask_staff")));
}

// ---- start ------------------------------------------------------------------------------

const start = named("start", () => [
  title("start_title"), h("p", { class: "lead" }, bi("start_lead")),
  big("with_card", { onclick: () => show(card), dataset: { go: "card" } }),
  big("with_code", { onclick: () => show(code), dataset: { go: "code" } }),
]);

const code = named("code", () => [
  title("with_code"),
  pad({ keys: CODE_KEYS, length: 12, label: bi("enter_code"), done: (value) => begin(
    () => api.call("POST", "/api/v1/kiosk/redeem", { code: value }), code) }),
  big("back", { onclick: () => show(start), class: "big quiet" }),
]);

const card = named("card", () => {
  const box = h("div", { class: "card-wait" }, h("p", { class: "lead" }, bi("place_card")));
  waitForCard(box);
  return [title("with_card"), box, big("back", { onclick: () => show(start), class: "big quiet" })];
});

async function waitForCard(box) {
  for (;;) {
    if (current !== card) return;
    try {
      const s = await bridge.status();
      if (s.card_present) { show(pin); return; }
      box.dataset.state = "no-card";
    } catch {
      box.replaceChildren(h("div", { class: "notice bad" }, bi("no_bridge")),
        big("with_code", { onclick: () => show(code) }));
      return;
    }
    await new Promise((r) => setTimeout(r, 700));
  }
}

const pin = named("pin", () => [
  title("with_card"),
  pad({ keys: DIGITS, length: 4, secret: true, label: bi("enter_pin"), done: (value) => begin(async () => {
    const { challenge } = await api.call("GET", "/api/v1/kiosk/challenge");
    const signed = await bridge.sign(challenge, value);
    return api.call("POST", "/api/v1/kiosk/identify", { challenge, card_certificate: signed.certificate_pem,
      signature: signed.signature });
  }, pin) }),
  big("back", { onclick: () => show(start), class: "big quiet" }),
]);

async function begin(identify, retry) {
  try {
    const session = await identify();
    api.setSession(session.session_token);
    const view = await api.call("GET", "/api/v1/kiosk/household");
    me = { session, ...view };
    touch();
    show(menu);
  } catch (err) {
    const again = retry();
    const back = err.code === "card.pin" ? h("div", { class: "notice bad", role: "alert", dataset: { code: err.code } },
      bi("wrong_pin"), err.triesLeft !== undefined ? bi({ ja: `あと ${err.triesLeft} 回まで`, en: `${err.triesLeft} tries left`,
        easy: `あと ${err.triesLeft} かい` }) : null) : failure(err);
    show(named(retry.screenName, () => [back, ...again]));
  }
}

// ---- menu and household -------------------------------------------------------------------

const personName = () => `${me.resident.family_name} ${me.resident.given_name} `;

const menu = named("menu", () => [
  h("h1", { class: "hello" }, bi("hello", personName())),
  h("nav", { class: "menu" },
    big("menu_household", { onclick: () => show(household), dataset: { go: "household" } }),
    big("menu_apply", { onclick: () => applyStart(), dataset: { go: "apply" } }),
    big("menu_applications", { onclick: () => load(applications, "/api/v1/kiosk/applications"), dataset: { go: "applications" } }),
    big("menu_certificates", { onclick: () => load(certificates, "/api/v1/kiosk/certificates"), dataset: { go: "certificates" } }),
    big("finish", { onclick: () => finish("finish"), class: "big finish", dataset: { go: "finish" } })),
]);

function freshness(f) {
  if (!f) return null;
  const age = f.hlc_age_seconds;
  const behind = f.offset_lag;
  const level = behind === null || behind === undefined ? "unknown" : behind === 0 && !f.stale ? "current"
    : (age ?? 0) > 3600 ? "late" : "behind";
  const ago = age === null || age === undefined ? "" : age < 90 ? `${Math.round(age)} 秒前` : age < 5400
    ? `${Math.round(age / 60)} 分前` : `${Math.round(age / 3600)} 時間前`;
  const agoEn = ago.replace(" 秒前", " s ago").replace(" 分前", " min ago").replace(" 時間前", " h ago");
  const words = { current: [`届いた変更はすべて反映済み（最後の変更 ${ago}）`, `every change received is applied (last change ${agoEn})`], behind: [`未反映 ${behind} 件`, `${behind} changes pending`],
    late: [`未反映 ${behind} 件（${Math.round(age / 60)} 分前まで）`, `${behind} pending (${Math.round(age / 60)} min)`],
    unknown: ["不明（町のノードと連絡が取れていません）", "unknown: not heard from the town's node"] }[level];
  const town = me.town_name || me.resident.town_code;
  return h("div", { class: `notice fresh level-${level}`, dataset: { freshness: level } },
    bi({ ja: `${town}の${W.fresh_other.ja}: ${words[0]}`, en: `${town} ${W.fresh_other.en}: ${words[1]}`,
      easy: `${town} ${W.fresh_other.easy}: ${words[0]}` }));
}

const structure = (code) => label("structure", code);

const household = named("household", () => [
  title("menu_household"),
  me.other_town ? freshness(me.freshness) : null,
  h("section", { class: "panel" }, h("h2", {}, bi("household")),
    h("p", {}, bi("address"), " ", h("strong", {}, me.household?.address || me.resident.address)),
    h("p", {}, bi("householder"), " ", h("strong", {}, me.resident.is_householder ? personName() : "—"))),
  h("section", { class: "panel" }, h("h2", {}, bi("dwellings")),
    me.dwellings.length ? h("ul", { class: "list" }, me.dwellings.map((d) => h("li", { dataset: { dwelling: d.dwelling_id } },
      h("strong", {}, d.location), " ", pair(structure(d.structure)), ` ${d.storeys ?? ""}階 / storeys`)))
      : h("p", {}, bi("none_yet"))),
  big("back", { onclick: () => show(menu), class: "big quiet" }),
]);

// ---- apply ----------------------------------------------------------------------------------

let draft = null;

async function applyStart() {
  try {
    const { disasters } = await api.call("GET", "/api/v1/kiosk/disasters");
    draft = { disasters, disaster: disasters.length === 1 ? disasters[0] : null };
    show(applyKind);
  } catch (err) { show(named("apply", () => [failure(err), big("back", { onclick: () => show(menu) })])); }
}

const disasterName = (d) => `${d.name}（${dateLabel(d.date)}）`;

const applyKind = named("apply", () => {
  if (!draft.disasters.length) return [title("menu_apply"), h("div", { class: "notice" }, bi("no_disaster")),
    big("back", { onclick: () => show(menu), class: "big quiet" })];
  return [title("menu_apply"),
    draft.disasters.length > 1 ? [h("h2", {}, bi("pick_disaster")), ...draft.disasters.map((d) => h("button", {
      type: "button", class: `choice ${draft.disaster === d ? "on" : ""}`, dataset: { disaster: d.disaster_id },
      onclick: () => { draft.disaster = d; show(applyKind); } }, disasterName(d)))] : null,
    h("h2", {}, bi("apply_what")),
    big("risai", { disabled: !draft.disaster || !me.dwellings.length, dataset: { kind: "risai" },
      onclick: () => { draft.kind = "risai"; show(pickDwelling); } }),
    big("hisai", { disabled: !draft.disaster, dataset: { kind: "hisai" },
      onclick: () => { draft.kind = "hisai"; show(pickProperty); } }),
    big("back", { onclick: () => show(menu), class: "big quiet" })];
});

const pickDwelling = named("apply-dwelling", () => [
  title("risai"), h("h2", {}, bi("pick_dwelling")),
  ...me.dwellings.map((d) => h("button", { type: "button", class: "choice", dataset: { dwelling: d.dwelling_id },
    onclick: () => { draft.dwelling = d; show(confirm); } }, h("strong", {}, d.location), " ", pair(structure(d.structure)))),
  big("back", { onclick: () => show(applyKind), class: "big quiet" }),
]);

const pickProperty = named("apply-property", () => [
  title("hisai"), h("h2", {}, bi("pick_property")),
  h("div", { class: "choices" }, PROPERTIES.map((p) => h("button", { type: "button", class: "choice",
    dataset: { property: p[0] }, onclick: () => { draft.property = p; show(confirm); } }, pair(p)))),
  big("back", { onclick: () => show(applyKind), class: "big quiet" }),
]);

function applicationBody() {
  const body = { kind: draft.kind, disaster_id: draft.disaster.disaster_id };
  if (draft.kind === "risai") body.dwelling_id = draft.dwelling.dwelling_id;
  else body.property = { description: `${draft.property[0]}（被害）`, location: me.household?.address || me.resident.address };
  return body;
}

const confirm = named("apply-confirm", () => [
  title("confirm"),
  h("dl", { class: "panel summary" },
    h("dt", {}, bi("apply_what")), h("dd", {}, bi(draft.kind)),
    h("dt", {}, bi("pick_disaster")), h("dd", {}, disasterName(draft.disaster)),
    draft.kind === "risai" ? [h("dt", {}, bi("pick_dwelling")), h("dd", {}, draft.dwelling.location)]
      : [h("dt", {}, bi("pick_property")), h("dd", {}, pair(draft.property))],
    h("dt", {}, bi("householder")), h("dd", {}, personName())),
  big("do_apply", { class: "big ok", dataset: { go: "submit" }, onclick: submit }),
  big("back", { onclick: () => show(draft.kind === "risai" ? pickDwelling : pickProperty), class: "big quiet" }),
]);

async function submit(event) {
  event.currentTarget.disabled = true; // one application per press
  try {
    const made = await api.call("POST", "/api/v1/kiosk/applications", applicationBody());
    draft = null;
    show(named("applied", () => [title("applied"),
      h("div", { class: "panel" }, h("p", {}, bi("tracking")), h("p", { class: "code", dataset: { tracking: "" } }, made.tracking_code)),
      statusBlock(made.application),
      big("menu_applications", { onclick: () => load(applications, "/api/v1/kiosk/applications") }),
      big("finish", { onclick: () => finish("finish"), class: "big finish" })]));
  } catch (err) { show(named("apply-confirm", () => [failure(err), big("back", { onclick: () => show(menu) })])); }
}

// ---- my applications --------------------------------------------------------------------------

async function load(draw, path) {
  try {
    const data = await api.call("GET", path);
    show(named(draw.screenName, () => draw(data)));
  } catch (err) { show(named(draw.screenName, () => [failure(err), big("back", { onclick: () => show(menu) })])); }
}

function when(iso) {
  const p = jstParts(iso);
  if (!p) return "—";
  const day = `${p.year}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}`;
  return `${dateLabel(day)} ${formatJst(iso).slice(11)}`;
}

function statusBlock(a) {
  const [now, next] = STATUS[a.status] || [[a.status, a.status, a.status], ["", "", ""]];
  const upcoming = a.kind === "hisai" && a.status === "received" ? HISAI_NEXT : next;
  return h("div", { class: `status status-${a.status}`, dataset: { status: a.status } },
    h("p", { class: "status-now" }, pair(now)),
    h("p", { class: "status-next" }, bi("next"), " ", pair(upcoming)));
}

const applications = Object.assign((data) => [
  title("menu_applications"),
  data.applications.length ? data.applications.map((a) => h("article", { class: "panel", dataset: { application: a.application_id } },
    h("h2", {}, bi(a.kind)), a.disaster ? h("p", { class: "disaster" }, disasterName(a.disaster)) : null,
    statusBlock(a),
    h("p", {}, bi("received_on"), " ", h("time", { datetime: a.received_at }, when(a.received_at))),
    h("ol", { class: "history" }, a.history.map((s) => h("li", {}, pair((STATUS[s.status] || [[s.status, s.status]])[0]), " ",
      h("time", { datetime: s.at }, when(s.at)))))))
    : h("p", { class: "lead" }, bi("none_yet")),
  big("back", { onclick: () => show(menu), class: "big quiet" }),
], { screenName: "applications" });

// ---- my certificates ----------------------------------------------------------------------------

function certState(c) {
  const s = c.status.state;
  if (s === "issued") return h("p", { class: "ok-state" }, bi("valid"));
  if (s === "revoked") return h("p", { class: "notice bad" }, bi("revoked"), c.status.reason ? ` （${c.status.reason}）` : "");
  if (s === "superseded") return h("p", { class: "notice bad" }, bi("superseded"), ` → ${c.status.by}`);
  return h("p", { class: "notice bad" }, bi("under_review"));
}

const certificates = Object.assign((data) => [
  title("menu_certificates"),
  data.certificates.length ? data.certificates.map((c) => h("article", {
    class: `panel cert state-${c.status.state}`, dataset: { number: c.number, state: c.status.state } },
    h("h2", {}, bi(c.cert_type === "hisai" ? "hisai" : "risai")),
    h("p", { class: "number" }, c.number),
    c.damage_class ? h("p", {}, pair(CLASSES[c.damage_class] || [c.damage_class, c.damage_class])) : null,
    h("p", {}, dateLabel(c.issue_date)),
    certState(c),
    c.printable ? big("print_copy", { class: "big ok", dataset: { print: c.number }, onclick: () => show(whyCopy(c)) }) : null))
    : h("p", { class: "lead" }, bi("none_yet")),
  big("back", { onclick: () => show(menu), class: "big quiet" }),
], { screenName: "certificates" });

const whyCopy = (c) => named("print-reason", () => [
  title("print_copy"), h("p", { class: "number" }, c.number), h("h2", {}, bi("why_copy")),
  ...[["lost", "紛失"], ["damaged", "汚損"], ["additional", "追加"]].map(([key, reason]) =>
    big(key, { dataset: { reason }, onclick: () => printCopy(c, reason) })),
  big("back", { onclick: () => load(certificates, "/api/v1/kiosk/certificates"), class: "big quiet" }),
]);

async function printCopy(c, reason) {
  show(named("printing", () => [title("printing"), h("div", { class: "spinner" })]));
  try {
    const made = await api.call("POST", `/api/v1/kiosk/certificates/${encodeURIComponent(c.number)}/copies`, { copy_reason: reason });
    const pdf = await api.call("GET", `/api/v1/kiosk/certificates/${encodeURIComponent(c.number)}/pdf?copy=${made.copy_no}`);
    await bridge.print(pdf);
    show(named("printed", () => [title("printed"), h("p", { class: "number" }, `${c.number} 再交付 ${made.copy_no}`)]));
    setTimeout(() => finish("print"), 4000);
  } catch (err) { show(named("printing", () => [failure(err), big("back", { onclick: () => show(menu) })])); }
}

// ---- the end of a session: nothing personal stays ------------------------------------------------

async function finish(why) {
  if (ending) return;
  ending = true;
  me = null;
  draft = null;
  idleBox.hidden = true;
  idleBox.replaceChildren();
  show(named("bye", () => [title("bye"), h("p", { class: "lead" }, bi("bye_lead"))]));
  screen.dataset.ended = why;
  try {
    if (api.hasSession()) await api.call("POST", "/api/v1/kiosk/logout");
  } catch { /* the node forgets it anyway when it expires */ }
  api.setSession(null);
  finishButton.hidden = true;
  await wipe();
  setTimeout(() => { ending = false; show(start); }, 5000);
}

// Storage this page never writes for a resident, emptied anyway: another script or a
// future change must not leave someone's data behind on a shared device.
async function wipe() {
  try { localStorage.clear(); sessionStorage.clear(); } catch { /* storage disabled */ }
  if (window.caches) for (const name of await caches.keys()) await caches.delete(name);
}

// ---- idle ------------------------------------------------------------------------------------------

function touch() { lastTouch = Date.now(); if (!idleBox.hidden) { idleBox.hidden = true; idleBox.replaceChildren(); } }

for (const type of ["pointerdown", "touchstart", "keydown"]) {
  document.addEventListener(type, (e) => { if (!idleBox.contains(e.target)) touch(); }, { passive: true, capture: true });
}

setInterval(() => {
  if (ending || current === start || current === enrol) return;
  const left = IDLE - (Date.now() - lastTouch);
  if (left <= 0) { finish("idle"); return; }
  if (left <= WARN) {
    const secs = Math.ceil(left / 1000);
    if (idleBox.hidden) {
      idleBox.replaceChildren(h("div", { class: "idle-box" }, h("h2", {}, bi("idle_title")),
        h("p", { class: "countdown" }, h("span", { id: "countdown" }, String(secs)), " ", bi("idle_left")),
        big("still_using", { class: "big ok", id: "still", onclick: touch })));
      idleBox.hidden = false;
    } else {
      document.getElementById("countdown").textContent = String(secs);
    }
  }
}, 250);

// ---- enrolment (step 0: a supervisor registers this device's public key) -----------------------------

let dev = null;

const enrol = named("enrol", () => [
  title("not_enrolled"), h("p", { class: "lead" }, bi("enrol_lead")),
  h("p", { class: "code", dataset: { pairing: "" } }, dev.enrolment?.pairing_code || "…"),
  h("p", {}, bi("key_print"), " ", h("code", {}, dev.fingerprint)),
]);

async function enrolled() {
  dev = await device.ensure();
  if (dev.kiosk_id) return true;
  if (!dev.enrolment || Date.parse(dev.enrolment.expires_at) < Date.now()) {
    dev.enrolment = await api.plain("POST", "/api/v1/kiosk-enrolments", { public_key_pem: dev.public_key_pem });
    await device.save(dev);
  }
  show(enrol);
  for (;;) {
    await new Promise((r) => setTimeout(r, 2000));
    const s = await api.plain("GET", `/api/v1/kiosk-enrolments/${encodeURIComponent(dev.enrolment.enrolment_id)}`)
      .catch(() => ({ status: "pending" }));
    if (s.status === "approved") {
      dev.kiosk_id = s.kiosk_id;
      dev.enrolment = null;
      await device.save(dev);
      return true;
    }
    if (s.status === "expired") { dev.enrolment = null; await device.save(dev); return enrolled(); }
  }
}

// ---- wiring -----------------------------------------------------------------------------------------

easyButton.addEventListener("click", () => {
  setEasy(!isEasy());
  easyButton.setAttribute("aria-pressed", String(isEasy()));
  easyButton.replaceChildren(bi("easy_on"));
  if (current) show(current);
});
easyButton.replaceChildren(bi("easy_on"));
finishButton.replaceChildren(bi("finish"));
finishButton.addEventListener("click", () => finish("finish"));
window.addEventListener("kiosk:session-ended", () => finish("expired"));

(async () => {
  await enrolled();
  api.setDevice(dev);
  show(start);
})();
