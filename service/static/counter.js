// The counter workflow: resident search → resident and dwellings → application (罹災証明
// or 被災証明) → survey records and judgement (surveys.js; 罹災証明 only) → issue →
// certificate. The applicant's details and withdrawal are applicant.js's.

import * as api from "./api.js";
import { canIssueHere, dataTowns, issuersOf, townName } from "./app.js";
import { dateLabel, formatJst } from "./dates.js";
import { label } from "./messages.js";
import { CLASSES, REPLICATION, STATUS } from "./damage.js";
import { applicantBody, applicantFields, applicantPanel } from "./applicant.js";
import { surveyPanels } from "./surveys.js";
import { bi, button, clear, clearErrors, confirmAction, field, formError, h, input, select, showError, values } from "./dom.js";
import { disasterPicker, duplicateNotice, rememberDisaster, underReviewNote } from "./duplicates.js";

const issueReplies = new Map(); // certificate number → replication state from the issue reply
const trackingCodes = new Map(); // application id → tracking code (shown once)
let lastResults = null;

const classLabel = (code) => (code && CLASSES[code] ? bi(...CLASSES[code]) : bi("—", "none"));
const statusLabel = (s) => bi(...(STATUS[s] || [s, s]));
const canWrite = () => api.hasRole("clerk", "supervisor");

function dl(rows) {
  return h("dl", { class: "facts" }, rows.filter(Boolean).map(([ja, en, value, id]) =>
    [h("dt", {}, bi(ja, en)), h("dd", id ? { id } : {}, value ?? "—")]));
}

function panel(ja, en, ...children) {
  return h("section", { class: "card" }, h("h3", {}, bi(ja, en)), ...children);
}

// ---- search -----------------------------------------------------------------------

export function searchView() {
  const results = h("div", { id: "results" });
  const form = h("form", { class: "card", id: "search-form", novalidate: true },
    h("h2", {}, bi("住民検索", "Resident search")),
    h("div", { class: "grid" },
      field("name", "氏名", "Name", input({ placeholder: "例: 山田 / e.g. 山田" })),
      field("kana", "ふりがな", "Kana", input({ placeholder: "やまだ / ヤマダ" })),
      field("birth_date", "生年月日", "Date of birth", input({ type: "date" })),
      field("address", "住所", "Address", input({ placeholder: "一部でも可 / any part" }))),
    formError(),
    h("button", { type: "submit", class: "primary" }, bi("検索", "Search")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    try {
      const data = await api.get(api.query("/api/v1/residents", values(form)));
      lastResults = data;
      clear(results).append(resultTable(data), otherTownNote(data, form));
    } catch (e) { showError(form, e); }
  });
  if (lastResults) results.append(resultTable(lastResults), otherTownNote(lastResults, form));
  return h("div", {}, form, results);
}

// Without a reason the node returns this town's matches and counts the others: say so,
// and offer to state a reason (audited) to see them.
function otherTownNote(data, form) {
  const n = data.other_town_matches || 0;
  if (!n) return null;
  const count = n >= 1000 ? "1000件以上" : `${n}件`;
  return h("p", { class: "card notice", id: "other-town-matches" },
    bi(`他の市町村の住民にも${count}該当します。表示するには閲覧理由が必要です（監査記録に残ります）。`,
      `${n >= 1000 ? "1000 or more" : n} residents of other towns also match; seeing them needs a reason (audited).`),
    " ", button("理由を入力して表示", "Give a reason and show them", { id: "show-other-towns", onclick: async () => {
      const reason = await api.askForReason();
      if (reason) { api.setReason(reason); form.requestSubmit(); }
    } }));
}

function resultTable({ residents }) {
  if (!residents.length) return h("p", { class: "card muted" }, bi("該当する住民はいません", "No residents found"));
  return h("table", { class: "card results" },
    h("thead", {}, h("tr", {}, h("th", {}, bi("氏名", "Name")), h("th", {}, bi("生年月日", "Born")),
      h("th", {}, bi("住所", "Address")), h("th", {}, bi("市町村", "Town")))),
    h("tbody", {}, residents.map((r) => h("tr", {},
      h("td", {}, h("a", { href: `#/resident/${encodeURIComponent(r.resident_id)}`, class: "resident-link" },
        `${r.family_name} ${r.given_name}`), h("div", { class: "kana" }, `${r.family_kana} ${r.given_kana}`)),
      h("td", {}, dateLabel(r.birth_date)), h("td", {}, r.address),
      h("td", {}, townName(r.town_code), " ", otherTown(r.town_code))))));
}

function otherTown(code) {
  const me = api.session.staff && api.session.staff.town_code;
  return code !== me ? h("span", { class: "pill behind" }, bi("他市町村", "other town")) : null;
}

// ---- resident and dwellings -------------------------------------------------------

export async function residentView(id) {
  const data = await api.get(`/api/v1/residents/${encodeURIComponent(id)}`);
  const r = data.resident;
  dataTowns([r.town_code, ...data.dwellings.map((d) => d.town_code)]);
  return h("div", {},
    panel("住民", "Resident", dl([
      ["氏名", "Name", `${r.family_name} ${r.given_name}（${r.family_kana} ${r.given_kana}）`, "resident-name"],
      ["生年月日", "Date of birth", dateLabel(r.birth_date)], ["住所", "Address", r.address],
      ["市町村", "Town", `${townName(r.town_code)}（${r.town_code}）`],
      ["世帯", "Household", `${r.household_id}${r.is_householder ? "（世帯主 / householder）" : ""}`, "resident-household"],
    ])),
    panel("住家", "Dwellings", data.dwellings.length
      ? data.dwellings.map((d) => dwellingCard(r, d))
      : [h("p", { class: "muted" }, bi("この世帯の住家は登録されていません", "No dwelling registered for this household")),
        // Without a dwelling only a 被災証明 (damage to something else) can be applied for.
        canWrite() ? applicationForm(r, null) : null]));
}

function dwellingCard(resident, d) {
  return h("article", { class: "dwelling" },
    dl([["所在地", "Location", d.location], ["構造", "Structure", bi(...label("structure", d.structure)), "dwelling-structure"],
      ["管轄市町村", "Competent town", `${townName(d.town_code)}（${d.town_code}）`]]),
    noDelegation(d.town_code),
    canWrite() ? applicationForm(resident, d) : null);
}

// Said at the start of a case, not at issuing: this node holds no delegation of the
// competent town. The case stays usable: received, surveyed and judged here, it
// replicates, and a node that holds the delegation issues it.
function noDelegation(town) {
  if (canIssueHere(town)) return null;
  const nodes = issuersOf(town);
  return h("div", { class: "notice warn no-delegation" },
    h("strong", {}, bi("この町の証明書はこのノードでは交付できません",
      `This node cannot issue certificates of ${town}`)),
    h("div", {}, nodes.length
      ? bi(`申請・調査・判定はここで行えます。交付は委任を受けたノード（${nodes.join("、")}）で行ってください。`,
        `Application, survey and judgement work here; a node holding the delegation issues it: ${nodes.join(", ")}.`)
      : bi(`${townName(town)}はどのノードにも交付を委任していません。${townName(town)}の窓口で交付します。`,
        `${town} has delegated issuing to no node; its own office issues.`)));
}

// One form for both kinds: a 罹災証明 (this dwelling, surveyed and judged) or a 被災証明
// (damage to something that is not a dwelling: no survey, no class). Without a dwelling
// (null) the form is for a 被災証明 only.
function applicationForm(resident, dwelling) {
  const picker = h("div", { class: "grid disaster-choice" });
  const kind = select([["risai", "罹災証明書（住家の被害） / damage certificate (dwelling)"],
    ["hisai", "被災証明書（住家以外の被害） / report of damage (not a dwelling)"]], { id: "application-kind" });
  if (!dwelling) { kind.value = "hisai"; kind.querySelector("option[value=risai]").disabled = true; }
  const property = h("div", { class: "grid hisai-only", hidden: !!dwelling },
    field("property.description", "被害を受けたもの", "What was damaged", input({ placeholder: "車庫・物置・自動車・店舗など / garage, shed, car, shop" })),
    field("property.location", "所在地", "Location", input({ value: dwelling ? dwelling.location : resident.address })));
  const title = h("h4", {}, dwelling ? bi("罹災証明の申請受付", "Receive an application")
    : bi("被災証明の申請受付", "Receive a report-of-damage application"));
  const form = h("form", { class: "inline-form application-form", novalidate: true }, title,
    field("kind", "証明の種類", "Kind", kind),
    picker,
    property, applicantFields(resident),
    formError(),
    h("button", { type: "submit", class: "primary" }, bi("申請を受け付ける", "Receive application")));
  disasterPicker((dwelling || resident).town_code).then((el) => picker.append(el), (e) => showError(form, e));
  kind.addEventListener("change", () => {
    property.hidden = kind.value !== "hisai";
    title.replaceChildren(kind.value === "hisai" ? bi("被災証明の申請受付", "Receive a report-of-damage application")
      : bi("罹災証明の申請受付", "Receive an application"));
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = values(form);
    form.querySelector("#duplicate-notice")?.remove();
    const body = { kind: v.kind, applicant_resident_id: resident.resident_id, disaster_id: v.disaster_id, ...applicantBody(form, v) };
    if (v.kind === "hisai") body.property = { description: v["property.description"] || null, location: v["property.location"] || null };
    else body.dwelling_id = dwelling.dwelling_id;
    try {
      const data = await api.post("/api/v1/applications", body);
      rememberDisaster(v.disaster_id);
      trackingCodes.set(data.application.application_id, data.tracking_code);
      location.hash = `#/application/${encodeURIComponent(data.application.application_id)}`;
    } catch (e) {
      showError(form, e);
      const notice = duplicateNotice(e); // 409 application.duplicate: go to the existing case
      if (notice) form.querySelector(".form-error").after(notice);
    }
  });
  return form;
}

// ---- application lifecycle --------------------------------------------------------

const MAIN_STEPS = ["received", "surveyed", "judged", "issued"];
const RESURVEY_STEPS = ["resurvey_requested", "resurveyed", "rejudged", "reissued"];
const HISAI_STEPS = ["received", "issued"]; // 被災証明: no survey, no judgement

export async function applicationView(id) {
  const { application: a } = await api.get(`/api/v1/applications/${encodeURIComponent(id)}`);
  dataTowns([a.competent_town, a.applicant_town]);
  const parts = [summary(a), noDelegation(a.competent_town), applicantPanel(a)];
  const code = trackingCodes.get(a.application_id);
  if (code) parts.push(h("div", { class: "card notice", id: "tracking" }, bi("追跡コード（申請者に渡してください。一度だけ表示）",
    "Tracking code (give it to the applicant; shown once)"), h("strong", { class: "code" }, code)));
  const s = a.status;
  if (a.kind === "risai") parts.push(...await surveyPanels(a));
  if (["judged", "rejudged"].includes(s) || (a.kind === "hisai" && s === "received")) {
    parts.push(derivedClass(a));
    if (canIssueHere(a.competent_town)) {
      parts.push(canWrite() ? issueForm(a) : roleNote("交付", "Issue", "窓口職員・監督者", "clerk or supervisor"));
    }
  }
  if (a.current_certificate) parts.push(await certificateCard(a.current_certificate, a));
  parts.push(history(a));
  return h("div", { id: "application", dataset: { status: s, kind: a.kind } }, parts);
}

function roleNote(ja, en, roleJa, roleEn) {
  return panel(ja, en, h("p", { class: "muted" }, bi(`${roleJa}が行います`, `Done by a ${roleEn}`)));
}

function steps(a) {
  if (a.kind === "hisai") return HISAI_STEPS;
  return a.history.some((x) => RESURVEY_STEPS.includes(x.status)) ? [...MAIN_STEPS, ...RESURVEY_STEPS] : MAIN_STEPS;
}

function summary(a) {
  const done = new Set(a.history.map((x) => x.status));
  const shown = a.status === "withdrawn" ? [...steps(a).filter((st) => done.has(st)), "withdrawn"] : steps(a);
  const hisai = a.kind === "hisai";
  return panel(hisai ? "被災証明の申請" : "罹災証明の申請", hisai ? "Report-of-damage application" : "Damage certificate application",
    h("ol", { class: "steps" }, shown.map((st) => h("li", {
      class: [done.has(st) ? "done" : "", a.status === st ? "current" : ""].join(" ").trim() }, statusLabel(st)))),
    dl([["申請番号", "Application", h("code", {}, a.application_id)],
      ["状態", "Status", statusLabel(a.status), "application-status"],
      ["種別", "Kind", bi(...label("cert_type", a.kind)), "application-kind"],
      hisai && a.property ? ["被害を受けたもの", "What was damaged", `${a.property.description}（${a.property.location}）`, "application-property"] : null,
      ["受付経路", "Channel", bi(...label("channel", a.channel))],
      ["管轄市町村", "Competent town", `${townName(a.competent_town)}（${a.competent_town}）`],
      ["災害", "Disaster", `${a.disaster.name}　${dateLabel(a.disaster.date)}`],
      ["受付日時", "Received", h("span", {}, formatJst(a.received_at), " ", h("small", { class: "muted" }, a.received_node)),
        "application-received"]]));
}

function derivedClass(a) {
  if (a.kind === "hisai") return null;
  return h("section", { class: "card derived" }, h("h3", {}, bi("判定結果", "Derived damage class")),
    h("p", { class: "class-big", id: "derived-class", dataset: { code: a.damage_class || "" } }, classLabel(a.damage_class)));
}

function issueForm(a) {
  const me = api.session.staff.town_code;
  const form = h("form", { class: "card", id: "issue-form", novalidate: true },
    h("h3", {}, a.kind === "hisai" ? bi("被災証明書の交付", "Issue the report of damage") : bi("罹災証明書の交付", "Issue the certificate")),
    a.competent_town !== me ? h("p", { class: "notice" }, bi(
      `${townName(a.competent_town)}長の名で代行発行します（交付場所: ${townName(me)}）`,
      `Issued on behalf of the mayor of ${a.competent_town} (place: ${me})`)) : null,
    field("place", "交付場所", "Issuing place", input({ placeholder: `${townName(me)}役所 窓口`, maxlength: 100 })),
    formError(),
    h("button", { type: "submit", class: "primary" }, bi("交付する", "Issue")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = values(form);
    if (!await confirmIssue(a, v.place || form.elements.place.placeholder)) return;
    try {
      const data = await api.post(`/api/v1/applications/${encodeURIComponent(a.application_id)}/certificate`,
        v.place ? { place: v.place } : {});
      issueReplies.set(data.certificate.number, data.replication);
      rerender();
    } catch (e) { showError(form, e); }
  });
  return form;
}

function confirmIssue(a, place) {
  const me = api.session.staff.town_code;
  const mayor = mayorOf(a.competent_town);
  return confirmAction({
    title: a.kind === "hisai" ? ["被災証明書を交付しますか", "Issue the report of damage?"] : ["罹災証明書を交付しますか", "Issue the certificate?"],
    facts: [
      ["発行者", "Issued by", `${mayor}${a.competent_town !== me ? `（${townName(me)}が代行）` : ""}`],
      a.kind === "hisai" ? null : ["住家の被害の程度", "Damage class", classLabel(a.damage_class)],
      ["罹災原因", "Cause", `${a.disaster.name}　${dateLabel(a.disaster.date)}`],
      ["交付場所", "Issuing place", place],
    ],
    effect: ["署名した証明書（QRコード付き）が作られ、全ノードに複製されます。交付後は取り消せません。誤りは失効、判定の変更は再調査で行います。",
      "A signed certificate with its QR code is made and replicated to every node. It cannot be undone: errors are revoked, a new judgement comes from a re-survey."],
    ok: ["交付する", "Issue"],
  });
}

const mayorOf = (code) => `${townName(code)}長`;

const ACTIONS = { survey: ["調査記録", "survey"], judge: ["判定", "judgement"], request_resurvey: ["再調査依頼", "re-survey request"],
  withdraw: ["取下げ", "withdrawal"], update_applicant: ["申請者情報の訂正", "applicant corrected"] };

function historyDetail(x) {
  const what = ACTIONS[x.action] ? bi(...ACTIONS[x.action]) : null;
  const detail = x.reason || (x.survey_id ? `${x.survey_id}${x.damage_class ? ` → ${CLASSES[x.damage_class][0]}` : ""}` : "");
  return what ? h("span", {}, what, detail ? `：${detail}` : "") : detail;
}

function history(a) {
  return panel("履歴", "History", h("table", { class: "history" },
    h("thead", {}, h("tr", {}, h("th", {}, bi("日時（日本時間）", "Time (JST)")), h("th", {}, bi("状態", "Status")),
      h("th", {}, bi("内容", "Detail")), h("th", {}, bi("ノード", "Node")))),
    h("tbody", {}, a.history.map((x) =>
      h("tr", {}, h("td", {}, formatJst(x.at, { seconds: true })), h("td", {}, statusLabel(x.status)),
        h("td", {}, historyDetail(x)), h("td", {}, h("code", {}, x.node)))))));
}

function rerender() { window.dispatchEvent(new HashChangeEvent("hashchange")); }

// ---- certificate ------------------------------------------------------------------

export async function certificateView(number) {
  const card = await certificateCard(number, null);
  return h("div", {}, card);
}

async function certificateCard(number, application) {
  const data = await api.get(`/ui/certificates/${encodeURIComponent(number)}/content`);
  const c = data.certificate, content = data.content;
  if (!application) dataTowns([c.competent_town]);
  const replication = issueReplies.get(number) || data.replication;
  const [rja, ren, rlevel] = REPLICATION[replication] || (replication === "received"
    ? ["複製で受信", `received from ${c.issuing_node}`, "ok"] : ["不明", "unknown", "warn"]);
  const st = data.status;
  const stateLabel = st.state === "revoked" ? bi(`失効（${st.reason}）`, "revoked")
    : st.state === "superseded" ? h("span", {}, bi("差替え済", "superseded by"), " ", h("a", { href: `#/certificate/${st.by}` }, st.by))
      : st.under_review ? bi("審査中", "under review") : bi("有効", "valid");
  const mayor = `${content.competent_town.name}長 ${content.competent_town.mayor}`;
  // The place may live in the printed boxes rather than the QR (claims v2): the record wins.
  const place = [content.issuing.town_name, c.place || content.issuing.place].filter(Boolean).join(" ");
  const actions = h("div", { class: "actions" });
  const el = h("section", { class: `card certificate state-${st.state}`, id: "certificate" },
    h("h3", {}, c.cert_type === "hisai" ? bi("被災証明書", "Report of damage") : bi("罹災証明書", "Disaster-damage certificate")),
    dl([["整理番号", "Number", h("code", {}, c.number), "certificate-number"],
      c.cert_type === "hisai" ? null : ["住家の被害の程度", "Damage class", classLabel(c.damage_class), "certificate-class"],
      ["罹災原因", "Cause", `${content.disaster.name}　${dateLabel(content.disaster.date)}`],
      ["世帯主", "Householder", `${content.householder_name}　${content.householder_address}`],
      c.cert_type === "hisai" ? ["被害の所在地", "Location of the damage", content.dwelling_address]
        : ["被災住家の所在地", "Dwelling", content.dwelling_address],
      ["発行者", "Issued by (competent town)", mayor, "certificate-mayor"],
      ["交付場所", "Issuing place", h("span", {}, place, content.on_behalf ? h("span", { class: "pill behind" }, " 代行 / on behalf") : null), "certificate-place"],
      ["交付日", "Issue date", dateLabel(content.issue_date), "certificate-issue-date"],
      c.supersedes ? ["差替え前", "Supersedes", h("a", { href: `#/certificate/${c.supersedes}` }, c.supersedes)] : null,
      ["状態", "Status", stateLabel, "certificate-status"],
      ["複製", "Replication", h("span", { class: `pill ${rlevel}`, id: "certificate-replication" }, bi(rja, ren))],
      data.copies ? ["再交付（写し）", "Copies", `${data.copies} 通`, "certificate-copies"] : null]),
    underReviewNote(st), actions);
  // A withdrawn certificate never prints as a normal one: only an archive copy (marked
  // 失効 / 差替え across the page) for supervisors and auditors.
  if (st.state === "issued") actions.append(button("PDFを開く", "Open PDF", { id: "open-pdf", onclick: () => openPdf(c.number) }));
  else if (api.hasRole("supervisor") || api.hasRole("auditor")) {
    actions.append(button("保存用写し（PDF）", "Archive copy (PDF)", { id: "open-archive-pdf", onclick: () => openPdf(c.number, true) }));
  }
  actions.append(h("a", { class: "button", href: `#/verify/${encodeURIComponent(c.qr)}` }, bi("検証", "Verify")));
  if (st.state === "issued" && canWrite()) actions.append(copyButton(c.number, data.copies));
  // 再調査 is asked for on the survey records (surveys.js), with its reason; a 被災証明 has none.
  el.append(formError());
  if (st.state !== "revoked" && api.hasRole("supervisor")) el.append(revokeForm(c.number));
  return el;
}

function alertError(container, e) {
  let box = container.querySelector(":scope > .form-error");
  if (!box) container.append(box = formError());
  showError(container, e);
}

function copyButton(number, copies) {
  const reason = h("select", { name: "copy_reason", id: "copy-reason", "aria-label": "再交付の理由 / reason" },
    h("option", { value: "紛失" }, "紛失 / lost"), h("option", { value: "汚損" }, "汚損 / damaged"),
    h("option", { value: "追加" }, "追加 / additional"));
  const go = button("再交付", "Reissue copy", { id: "reissue", onclick: async (ev) => {
    const card = ev.currentTarget.closest(".card");
    const ok = await confirmAction({
      title: ["再交付（写しの交付）をしますか", "Reissue a copy?"],
      facts: [["整理番号", "Number", number], ["交付済みの写し", "Copies so far", `${copies || 0} 通`],
        ["理由", "Reason", reason.value]],
      effect: [`同じ整理番号・同じQRコードの写し（${(copies || 0) + 1}通目）を交付し、記録します。新しい証明書ではなく、内容は変わりません。`,
        `A numbered copy (${(copies || 0) + 1}) with the same number and QR is recorded; the certificate does not change.`],
      ok: ["再交付する", "Reissue"],
    });
    if (!ok) return;
    try { await api.post(`/api/v1/certificates/${encodeURIComponent(number)}/copies`, { copy_reason: reason.value }); rerender(); }
    catch (e) { alertError(card, e); }
  } });
  return h("span", { class: "copy-action" }, reason, go);
}

async function openPdf(number, archive = false) {
  // Fetched (not a plain link) so the access reason header goes with it.
  const blob = await api.get(`/api/v1/certificates/${encodeURIComponent(number)}/pdf${archive ? "?archive=true" : ""}`);
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, target: "_blank", rel: "noopener", download: `${number}.pdf` });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function revokeForm(number) {
  const form = h("form", { class: "inline-form danger", id: "revoke-form", novalidate: true },
    h("h4", {}, bi("失効（監督者）", "Revoke (supervisor)")),
    field("reason", "失効理由", "Reason", input({ maxlength: 500, required: true })),
    formError(),
    h("button", { type: "submit", class: "danger" }, bi("失効させる", "Revoke")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const { reason } = values(form);
    // The confirmation comes only once a reason is given: it shows that reason.
    if (!reason) {
      showError(form, { status: 422, code: "state.reason", message: "reason is required",
                        fields: [{ field: "reason", code: "state.reason", reason: "required" }] });
      return;
    }
    clearErrors(form);
    const ok = await confirmAction({
      title: ["この証明書を失効させますか", "Revoke this certificate?"],
      facts: [["整理番号", "Number", number], ["失効理由", "Reason", reason]],
      effect: ["失効は取り消せません。失効の記録が全ノードに複製され、この証明書を検証すると「失効」と表示されます。必要なら新しい申請で交付し直します。",
        "Revocation cannot be undone: it replicates to every node and verifying this certificate then says revoked."],
      ok: ["失効させる", "Revoke"], danger: true,
    });
    if (!ok) return;
    try { await api.post(`/api/v1/certificates/${encodeURIComponent(number)}/revoke`, { reason }); rerender(); }
    catch (e) { showError(form, e); }
  });
  return form;
}

