// Casework lists: 申請一覧 (applications), 交付台帳 (the issuance ledger) and the 代行 report
// (what partner nodes did in a town's name). Filters, keyset paging with the total, CSV
// export (UTF-8 with BOM, or CP932 for older Excel). Dates in JST and 和暦.

import * as api from "./api.js";
import { townName, towns } from "./app.js";
import { CLASSES, STATUS } from "./damage.js";
import { dateLabel, formatJst, jstParts, wareki } from "./dates.js";
import { bi, button, clear, clearErrors, field, formError, h, input, select, showError, values } from "./dom.js";

const CERT_STATES = { issued: ["有効", "Valid", "ok"], superseded: ["差替え", "Superseded", "warn"],
                      revoked: ["失効", "Revoked", "stale"] };
const CHANNELS = { counter: ["窓口", "Counter"], kiosk: ["キオスク", "Kiosk"], mail: ["郵送", "Post"] };
const ANY = ["", "（すべて / any）"];

const classCell = (code) => (code && CLASSES[code] ? bi(...CLASSES[code]) : h("span", { class: "muted" }, "—"));
const statePill = (s) => h("span", { class: `pill ${(CERT_STATES[s] || [])[2] || "unknown"}` }, bi(...(CERT_STATES[s] || [s, s])));
const townCell = (code) => h("span", {}, townName(code), h("span", { class: "muted" }, ` ${code || ""}`));

// 和暦 of the JST day of an instant ("令和8年12月1日").
function jstWareki(instant) {
  const p = jstParts(instant);
  const pad = (n) => String(n).padStart(2, "0");
  return p ? wareki(`${p.year}-${pad(p.month)}-${pad(p.day)}`) || "" : "";
}

function options(table) {
  return [ANY, ...Object.entries(table).map(([k, [ja, en]]) => [k, `${ja} / ${en}`])];
}
const townOptions = () => [ANY, ...Object.entries(towns).map(([code, t]) => [code, `${t.name}（${code}）`])];
const scopeSelect = () => select([["own", "自市町村のみ / own town"], ["all", "全市町村（理由が必要・監査） / all towns (reason, audited)"]]);

async function disasterOptions() {
  try {
    const data = await api.get("/api/v1/disasters");
    return [ANY, ...data.disasters.map((d) => [d.disaster_id, `${d.name}（${dateLabel(d.date)}）`])];
  } catch (e) { return [ANY]; }
}

// ---- one list: filter form, table, pager, export ------------------------------------

function listView({ id, title, path, exportPath, filters, columns }) {
  const form = h("form", { class: "card", id: `${id}-form`, novalidate: true },
    h("h2", {}, bi(...title)),
    h("div", { class: "grid" }, filters()),
    formError(),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary", id: `${id}-search` }, bi("検索", "Search")),
      button("CSV（UTF-8）", "CSV (UTF-8 with BOM)", { id: `${id}-export-utf8`, onclick: () => download("utf-8") }),
      button("CSV（Shift_JIS / CP932）", "CSV (CP932, older Excel)", { id: `${id}-export-cp932`, onclick: () => download("cp932") })),
    h("p", { class: "hint muted" }, bi(
      "CP932 にない文字（JIS第3・第4水準の一部の漢字や絵文字など）は 〓 に置き換わります。すべての文字を残すには UTF-8 を選んでください。",
      "Characters CP932 lacks (some JIS level 3/4 kanji, emoji) become 〓; choose UTF-8 to keep every character.")));
  const out = h("div", { id: `${id}-results` });
  let cursors = [null]; // the cursor of each page shown so far (page 1 has none)

  async function load(page) {
    clearErrors(form);
    try {
      const data = await api.get(api.query(path, { ...values(form), after: cursors[page] }));
      if (data.next) cursors[page + 1] = data.next;
      clear(out).append(table(data, page));
    } catch (e) { showError(form, e); }
  }

  function table(data, page) {
    const limit = Number(values(form).limit || 50);
    const first = page * limit + 1;
    const last = page * limit + data.rows.length;
    const pager = h("div", { class: "pager actions" },
      h("span", { class: "count", id: `${id}-count` }, data.total
        ? (data.total_capped ? bi(`${data.total.toLocaleString()} 件以上中 ${first}–${last} 件`, `${first}–${last} of ${data.total.toLocaleString()} or more`)
          : bi(`全 ${data.total} 件中 ${first}–${last} 件`, `${first}–${last} of ${data.total}`))
        : bi("該当なし", "Nothing matches")),
      button("前へ", "Previous", { id: `${id}-prev`, disabled: page === 0, onclick: () => load(page - 1) }),
      button("次へ", "Next", { id: `${id}-next`, disabled: !data.next, onclick: () => load(page + 1) }));
    if (!data.rows.length) return h("div", { class: "card" }, pager);
    return h("div", { class: "card" }, pager,
      h("div", { class: "scroll" }, h("table", { class: "results list", id: `${id}-table` },
        h("thead", {}, h("tr", {}, columns.map(([ja, en]) => h("th", {}, bi(ja, en))))),
        h("tbody", {}, data.rows.map((r) => h("tr", {}, columns.map(([, , cell]) => h("td", {}, cell(r)))))))));
  }

  async function download(encoding) {
    clearErrors(form);
    try {
      const params = { ...values(form), encoding };
      delete params.limit;
      const blob = await api.get(api.query(exportPath, params), { headers: { Accept: "text/csv" } });
      const a = h("a", { href: URL.createObjectURL(blob), download: `${id}-${encoding}.csv` });
      document.body.append(a);
      a.click();
      setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    } catch (e) { showError(form, e); }
  }

  form.addEventListener("submit", (ev) => { ev.preventDefault(); cursors = [null]; load(0); });
  load(0);
  return h("div", {}, form, out);
}

const limitField = () => field("limit", "表示件数", "Rows per page", input({ type: "number", min: 1, max: 200, value: 50, inputmode: "numeric" }));

// ---- 申請一覧 -----------------------------------------------------------------------

export async function applicationsView() {
  const disasters = await disasterOptions();
  return listView({
    id: "applications", title: ["申請一覧", "Applications"], path: "/api/v1/applications",
    exportPath: "/api/v1/exports/applications",
    filters: () => [
      field("q", "番号・追跡コード", "Number or tracking code", input({ placeholder: "申請番号・整理番号・追跡コード" })),
      field("status", "状態", "Status", select(options(STATUS))),
      field("damage_class", "被害の程度", "Damage class", select(options(CLASSES))),
      field("channel", "受付方法", "Channel", select(options(CHANNELS))),
      field("competent_town", "管轄市町村", "Competent town", select(townOptions())),
      field("received_node", "受付ノード", "Received at node", input({ placeholder: "例: wajima-1" })),
      field("disaster_id", "災害", "Disaster", select(disasters)),
      field("received_from", "受付日（から）", "Received from", input({ type: "date" })),
      field("received_to", "受付日（まで）", "Received to", input({ type: "date" })),
      field("scope", "範囲", "Scope", scopeSelect()), limitField()],
    columns: [
      ["受付日時", "Received", (r) => [h("div", {}, formatJst(r.received_at)), h("div", { class: "muted" }, jstWareki(r.received_at))]],
      ["申請番号", "Application", (r) => h("a", { href: `#/application/${encodeURIComponent(r.application_id)}` }, r.application_id)],
      ["状態", "Status", (r) => bi(...(STATUS[r.status] || [r.status, r.status]))],
      ["申請者", "Applicant", (r) => r.applicant_name || "—"],
      ["所在地", "Location", (r) => r.location || "—"],
      ["管轄", "Town", (r) => townCell(r.competent_town)],
      ["受付", "Where", (r) => [r.received_node, " ", bi(...(CHANNELS[r.channel] || [r.channel, r.channel]))]],
      ["被害の程度", "Class", (r) => classCell(r.damage_class)],
      ["証明書", "Certificate", (r) => r.current_certificate
        ? h("a", { href: `#/certificate/${encodeURIComponent(r.current_certificate)}` }, r.current_certificate) : "—"],
    ],
  });
}

// ---- 交付台帳 -----------------------------------------------------------------------

const ledgerColumns = [
  ["整理番号", "Number", (r) => h("a", { href: `#/certificate/${encodeURIComponent(r.number)}` }, r.number)],
  ["交付日", "Issued", (r) => dateLabel(r.issue_date)],
  ["世帯主氏名", "Householder", (r) => r.householder_name || "—"],
  ["被災住家の所在地", "Dwelling", (r) => r.location || "—"],
  ["被害の程度", "Class", (r) => (r.cert_type === "hisai" ? bi("被災証明", "Report of damage") : classCell(r.damage_class))],
  ["交付場所", "Issued at", (r) => [r.issuing_node, " ", townName(r.issuing_town),
    r.on_behalf ? h("span", { class: "pill warn" }, bi("代行", "on behalf")) : null]],
  ["交付者", "Staff", (r) => r.staff_name || r.staff_id || "—"],
  ["状態", "State", (r) => [statePill(r.state), r.superseded_by ? h("div", { class: "muted" }, `→ ${r.superseded_by}`) : null]],
  ["再交付", "Copies", (r) => h("span", { class: "num" }, String(r.copies))],
];

export async function ledgerView() {
  const disasters = await disasterOptions();
  return listView({
    id: "ledger", title: ["交付台帳", "Issuance ledger"], path: "/api/v1/certificates",
    exportPath: "/api/v1/exports/certificates",
    filters: () => [
      field("q", "番号・追跡コード", "Number or tracking code", input({ placeholder: "整理番号・申請番号・追跡コード" })),
      field("state", "状態", "State", select(options(CERT_STATES))),
      field("damage_class", "被害の程度", "Damage class", select(options(CLASSES))),
      field("competent_town", "管轄市町村", "Competent town", select(townOptions())),
      field("issuing_node", "交付ノード", "Issuing node", input({ placeholder: "例: wajima-1" })),
      field("on_behalf", "代行", "On behalf", select([ANY, ["true", "代行のみ / on behalf only"], ["false", "自庁のみ / own only"]])),
      field("disaster_id", "災害", "Disaster", select(disasters)),
      field("issued_from", "交付日（から）", "Issued from", input({ type: "date" })),
      field("issued_to", "交付日（まで）", "Issued to", input({ type: "date" })),
      field("scope", "範囲", "Scope", scopeSelect()), limitField()],
    columns: ledgerColumns,
  });
}

// ---- 代行 report --------------------------------------------------------------------

const ACTIVITIES = [["applications", "申請受付", "Applications"], ["surveys", "調査", "Surveys"],
  ["certificates", "交付", "Certificates"], ["copies", "再交付", "Copies"], ["revocations", "失効", "Revocations"]];

function activityTable(id, rows, first) {
  if (!rows.length) return h("p", { class: "muted", id }, bi("代行の記録はありません", "Nothing was done on this town's behalf"));
  return h("table", { class: "results", id },
    h("thead", {}, h("tr", {}, first.map(([, ja, en]) => h("th", {}, bi(ja, en))),
      ACTIVITIES.map(([, ja, en]) => h("th", { class: "num" }, bi(ja, en))))),
    h("tbody", {}, rows.map((r) => h("tr", {}, first.map(([key, , , show]) => h("td", {}, show ? show(r[key]) : r[key])),
      ACTIVITIES.map(([key]) => h("td", { class: "num" }, String(r[key])))))));
}

function auditTable(audits) {
  if (!audits.length) return h("p", { class: "muted" }, bi("他市町村による閲覧・操作の記録はありません", "No access by other towns"));
  return h("table", { class: "results", id: "daikou-audits" },
    h("thead", {}, h("tr", {}, [["日時", "At"], ["操作", "Action"], ["対象", "Subject"], ["職員", "Staff"],
      ["ノード", "Node"], ["理由", "Reason"]].map(([ja, en]) => h("th", {}, bi(ja, en))))),
    h("tbody", {}, audits.map((a) => h("tr", {}, h("td", {}, formatJst(a.at)), h("td", {}, h("code", {}, a.action)),
      h("td", {}, a.subject_id), h("td", {}, `${a.username || a.kiosk_id || "—"}（${townName(a.staff_town)}）`),
      h("td", {}, a.node_id), h("td", {}, a.reason || "—")))));
}

export async function daikouView(town) {
  const me = api.session.staff.town_code;
  const code = town || me;
  const picker = h("form", { class: "card", id: "daikou-form" },
    h("h2", {}, bi("代行報告", "Report of work done on our behalf")),
    h("p", { class: "muted" }, bi("協定先のノードがこの市町村の名義で行った申請受付・調査・交付・再交付・失効（ノード別・日別）。庁舎復旧後の確認と引継ぎに。",
      "What partner nodes did in this town's name (applications, surveys, certificates, copies, revocations), by node and day: for review and take-over when the town hall is back.")),
    field("town", "市町村", "Town", select(Object.entries(towns).map(([c, t]) => [c, `${t.name}（${c}）`]), { id: "daikou-town" })),
    formError());
  picker.elements.town.value = code;
  picker.elements.town.addEventListener("change", () => { location.hash = `#/daikou/${picker.elements.town.value}`; });
  picker.addEventListener("submit", (ev) => ev.preventDefault());
  const body = h("div", { id: "daikou-body" });
  try {
    const r = await api.get(api.query("/api/v1/reports/daikou", { town: code }));
    body.append(
      h("section", { class: "card" }, h("h3", {}, bi("ノード別", "By node")),
        activityTable("daikou-by-node", r.by_node, [["node", "ノード", "Node"]])),
      h("section", { class: "card" }, h("h3", {}, bi("日別（日本時間）", "By day (JST)")),
        activityTable("daikou-by-day", r.by_day, [["day", "日付", "Day", dateLabel], ["node", "ノード", "Node"]])),
      h("section", { class: "card" }, h("h3", {}, bi(`代行交付された証明書（${r.certificates_total} 件）`, `Certificates issued on our behalf (${r.certificates_total})`)),
        r.certificates.length ? h("div", { class: "scroll" }, h("table", { class: "results", id: "daikou-certificates" },
          h("thead", {}, h("tr", {}, ledgerColumns.map(([ja, en]) => h("th", {}, bi(ja, en))))),
          h("tbody", {}, r.certificates.map((c) => h("tr", {}, ledgerColumns.map(([, , cell]) => h("td", {}, cell(c))))))))
          : h("p", { class: "muted" }, bi("なし", "None"))),
      r.audits ? h("section", { class: "card", id: "daikou-audit-card" },
        h("h3", {}, bi("他市町村による閲覧・操作（監査記録）", "Access by other towns (audit records)")), auditTable(r.audits))
        : h("p", { class: "muted card" }, bi("監査記録は監査担当者だけが見られます。", "Audit records are shown to auditors only.")));
  } catch (e) {
    showError(picker, e);
  }
  return h("div", {}, picker, body);
}
