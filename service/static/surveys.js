// Survey records of a 罹災証明 application (被害認定調査): the list of every survey (一次 /
// 二次, each with its own surveyor, date and basis, never overwritten), adding a survey
// with the surveyor chosen from the staff accounts, the 再調査 request with its reason,
// and the judgement, which names the survey it uses.

import * as api from "./api.js";
import { townName } from "./app.js";
import { dateLabel, formatJst, todayJst } from "./dates.js";
import { CLASSES, fromFloodDepth, fromRatio } from "./damage.js";
import { bi, confirmAction, field, formError, h, input, select, showError, values } from "./dom.js";

const SURVEYABLE = ["received", "surveyed", "resurvey_requested", "resurveyed"];
const JUDGEABLE = ["surveyed", "resurveyed"];
const classLabel = (code) => (code && CLASSES[code] ? bi(...CLASSES[code]) : bi("—", "none"));
const path = (a, tail) => `/api/v1/applications/${encodeURIComponent(a.application_id)}/${tail}`;

function rerender() { window.dispatchEvent(new HashChangeEvent("hashchange")); }

// Everything about the surveys of `a`: the records, then what may be done next.
export async function surveyPanels(a) {
  const data = await api.get(path(a, "surveys"));
  const parts = [recordsCard(a, data)];
  if (SURVEYABLE.includes(a.status)) {
    parts.push(api.hasRole("surveyor", "supervisor") ? await surveyForm(a, data) : roleNote("調査の入力", "Survey entry", "調査員・監督者", "surveyor or supervisor"));
  }
  if (JUDGEABLE.includes(a.status)) {
    parts.push(api.hasRole("supervisor") ? judgeForm(a, data.surveys) : roleNote("判定", "Judgement", "監督者", "supervisor"));
  }
  if (["issued", "reissued"].includes(a.status) && api.hasRole("clerk", "supervisor")) parts.push(resurveyForm(a));
  return parts;
}

function roleNote(ja, en, roleJa, roleEn) {
  return h("section", { class: "card" }, h("h3", {}, bi(ja, en)), h("p", { class: "muted" }, bi(`${roleJa}が行います`, `Done by a ${roleEn}`)));
}

function basisText(s) {
  if (s.damage_ratio !== null && s.damage_ratio !== undefined) return `損害割合 ${s.damage_ratio} %`;
  if (s.flood_depth_m !== null && s.flood_depth_m !== undefined) return `床上浸水 ${s.flood_depth_m} m`;
  return s.flooding_ja || "—";
}

function recordsCard(a, data) {
  const used = data.judgement && data.judgement.survey_id;
  const requests = new Map((data.resurvey_requests || []).map((r) => [r.request_id, r]));
  const rows = data.surveys.map((s) => h("tr", { dataset: { survey: s.survey_id, kind: s.kind }, class: s.survey_id === used ? "used" : "" },
    h("td", {}, bi(s.kind_ja, s.kind === "first" ? "first (exterior)" : "second (interior)")),
    h("td", {}, dateLabel(s.surveyed_on)),
    h("td", { class: "surveyor" }, s.surveyor),
    h("td", {}, basisText(s), s.flooding_ja && s.damage_ratio ? h("div", { class: "muted" }, s.flooding_ja) : null),
    h("td", {}, classLabel(s.damage_class.code)),
    h("td", {}, s.resurvey_request && requests.has(s.resurvey_request)
      ? h("span", { class: "muted" }, `再調査依頼: ${requests.get(s.resurvey_request).reason}`) : "—"),
    h("td", {}, s.survey_id === used ? h("span", { class: "pill ok" }, bi("判定に使用", "used")) : "")));
  return h("section", { class: "card", id: "survey-records" },
    h("h3", {}, bi("調査記録", "Survey records")),
    data.surveys.length ? h("table", { class: "surveys" },
      h("thead", {}, h("tr", {}, ["調査/Survey", "調査日/Date", "調査員/Surveyor", "結果/Basis", "被害の程度（見込み）/Class", "再調査/Re-survey", ""]
        .map((t) => h("th", {}, ...(t.includes("/") ? [bi(...t.split("/"))] : [t]))))),
      h("tbody", {}, rows)) : h("p", { class: "muted", id: "no-surveys" }, bi("まだ調査記録はありません", "No survey recorded yet")),
    requestList(data.resurvey_requests || []));
}

function requestList(requests) {
  if (!requests.length) return null;
  return h("div", { class: "resurvey-requests" }, h("h4", {}, bi("再調査依頼", "Re-survey requests")),
    h("ul", {}, requests.map((r) => h("li", {}, formatJst(r.at), "　", h("span", { class: "reason" }, r.reason)))));
}

async function surveyForm(a, data) {
  const { surveyors } = await api.get("/api/v1/surveyors");
  const hasFirst = data.surveys.some((s) => s.kind === "first");
  const kind = select([["first", "一次調査（外観） / first (exterior)"], ["second", "二次調査（内部立入） / second (interior)"]], { id: "survey-kind" });
  kind.value = hasFirst && a.status.startsWith("resurvey") ? "second" : "first";
  if (!hasFirst) kind.querySelector("option[value=second]").disabled = true;
  // Partners' 応援職員 say which town sent them.
  const me = api.session.staff.town_code;
  const picker = select([["", "— 調査員を選択 / choose —"], ...surveyors.map((s) =>
    [s.staff_id, s.town_code === me ? s.display_name : `${s.display_name}（${townName(s.town_code)}・応援）`])],
  { id: "survey-surveyor", required: true });
  const basis = select([["damage_ratio", "損害割合（%） / Damage ratio (%)"], ["flood_depth_m", "床上浸水（浸水深 m） / Above-floor flooding (m)"],
    ["below_floor", "床下浸水 / Below-floor flooding"]], { id: "survey-basis" });
  const amount = input({ inputmode: "decimal", id: "survey-value", required: true });
  const preview = h("output", { class: "preview", id: "class-preview" });
  const valueField = field("damage_ratio", "損害割合（%）", "Damage ratio (%)", amount);
  const update = () => {
    const b = basis.value;
    valueField.hidden = b === "below_floor";
    amount.name = b;
    valueField.dataset.field = b;
    valueField.querySelector("label").replaceChildren(b === "damage_ratio" ? bi("損害割合（%）", "Damage ratio (%)") : bi("床上浸水深（m）", "Depth above the floor (m)"));
    const code = b === "below_floor" ? "ichibu-sonkai" : amount.value === "" ? null : (b === "damage_ratio" ? fromRatio(amount.value) : fromFloodDepth(amount.value));
    preview.replaceChildren(bi("見込み", "Preview"), "：", code ? classLabel(code) : "—");
  };
  basis.addEventListener("change", update);
  amount.addEventListener("input", update);
  const form = h("form", { class: "card", id: "survey-form", novalidate: true },
    h("h3", {}, bi("調査記録の追加", "Add a survey record")),
    h("div", { class: "grid" },
      field("kind", "調査", "Survey", kind),
      field("surveyor_id", "調査員", "Surveyor", picker, "入力者ではなく、調査した職員 / who surveyed, not who types"),
      field("surveyed_on", "調査日", "Surveyed on", input({ type: "date", value: todayJst() })),
      field("basis", "判定の基準", "Basis", basis), valueField,
      field("notes", "備考", "Notes", input({}))),
    h("p", { class: "muted" }, bi("被害の程度は入力しません。調査結果から自動的に決まります。床下浸水のみは「準半壊に至らない」です。",
      "The damage class is never typed: it is derived. Below-floor flooding alone is less than near half collapse."), " ", preview),
    formError(),
    h("button", { type: "submit", class: "primary" }, bi("調査記録を登録", "Record survey")));
  update();
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = values(form);
    const body = { kind: v.kind, surveyed_on: v.surveyed_on, surveyor_id: v.surveyor_id || null };
    if (basis.value === "below_floor") body.inundation = "below_floor";
    else body[basis.value] = v[basis.value];
    if (basis.value === "flood_depth_m") body.inundation = "above_floor";
    if (v.notes) body.notes = v.notes;
    try { await api.post(path(a, "surveys"), body); rerender(); } catch (e) { showError(form, e); }
  });
  return form;
}

function judgeForm(a, surveys) {
  const latest = surveys[surveys.length - 1];
  const choice = select(surveys.slice().reverse().map((s) => [s.survey_id,
    `${s.kind_ja} ${s.surveyed_on} ${s.surveyor}（${basisText(s)} → ${CLASSES[s.damage_class.code][0]}）`]), { id: "judge-survey" });
  const form = h("form", { class: "card", id: "judge-form" },
    h("h3", {}, bi("判定", "Judgement")),
    field("survey_id", "判定に使う調査", "Survey used", choice, "既定は最新の調査 / the latest by default"),
    h("p", { class: "muted" }, bi("被害の程度は選んだ調査の結果から自動で決まり、判定はその調査を記録します。",
      "The class is derived from the chosen survey, and the judgement records which one.")),
    formError(),
    h("button", { type: "submit", class: "primary" }, bi("判定する", "Judge")));
  if (latest) choice.value = latest.survey_id;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try { await api.post(path(a, "judgement"), { survey_id: choice.value }); rerender(); } catch (e) { showError(form, e); }
  });
  return form;
}

function resurveyForm(a) {
  const form = h("form", { class: "card", id: "resurvey-form", novalidate: true },
    h("h3", {}, bi("再調査の依頼", "Request a re-survey")),
    h("p", { class: "muted" }, bi("判定に納得できないとき、申請者は再調査（二次調査）を依頼できます。理由は記録されます。",
      "An applicant who disputes the judgement may ask for a re-survey (second survey); the reason is kept.")),
    field("resurvey_reason", "依頼の理由", "Reason", input({ maxlength: 500, required: true, id: "resurvey-reason" })),
    formError(),
    h("button", { type: "submit", id: "resurvey" }, bi("再調査を依頼する", "Request re-survey")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const { resurvey_reason: reason } = values(form);
    if (reason && !await confirmAction({ title: ["再調査を依頼しますか", "Request a re-survey?"],
      facts: [["理由", "Reason", reason]],
      effect: ["申請は「再調査依頼」になり、次の調査はこの依頼に答えるものとして記録されます。交付済みの証明書は再判定後の交付で差し替えられます。",
        "The application becomes re-survey requested; the next survey answers this request. The issued certificate is superseded when the new one is issued."],
      ok: ["依頼する", "Request"] })) return;
    try { await api.post(path(a, "resurvey-request"), { resurvey_reason: reason || null }); rerender(); } catch (e) { showError(form, e); }
  });
  return form;
}
