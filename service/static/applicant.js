// The applicant (申請者): 続柄, contact, 交付方法, an agent (代理人) with the 委任状 noted, on the
// receiving form and on the application; and the withdrawal (申請取下げ) with its reason.

import * as api from "./api.js";
import { formatJst } from "./dates.js";
import { bi, confirmAction, field, formError, h, input, select, showError, values } from "./dom.js";

export const RELATIONSHIPS = [
  ["householder", "世帯主（本人）", "householder"], ["spouse", "配偶者", "spouse"], ["child", "子", "child"],
  ["parent", "父母", "parent"], ["sibling", "兄弟姉妹", "sibling"], ["grandchild", "孫", "grandchild"],
  ["grandparent", "祖父母", "grandparent"], ["other_relative", "その他の親族", "other relative"],
  ["cohabitant", "同居人", "cohabitant"], ["other", "その他", "other"],
];
const AGENT_RELATIONS = [
  ["household", "同一世帯の親族", "relative, same household"], ["relative", "別世帯の親族", "relative, other household"],
  ["legal", "法定代理人", "legal representative"], ["other", "その他（知人など）", "other"],
];
const DELIVERY = { counter: ["窓口交付", "at the counter"], mail: ["郵送交付", "by post"] };
const WITHDRAWABLE = ["received", "surveyed", "judged"];
const pick = (rows) => rows.map(([v, ja, en]) => [v, `${ja} / ${en}`]);
const labelOf = (rows, v) => { const r = rows.find((x) => x[0] === v); return r ? bi(r[1], r[2]) : "—"; };

// The applicant's fields of the receiving form (names "applicant.*" and "agent.*"),
// filled from `details` when correcting them.
export function applicantFields(resident, details = null) {
  const relationship = select([["", "— 選択 / choose —"], ...pick(RELATIONSHIPS)], {});
  if (resident.is_householder) relationship.value = "householder";
  const delivery = select([["counter", "窓口交付 / at the counter"], ["mail", "郵送交付 / by post"]], {});
  const hasAgent = h("input", { type: "checkbox", class: "has-agent" });
  const agent = h("fieldset", { class: "agent", hidden: true },
    h("legend", {}, bi("代理人", "Agent")),
    h("div", { class: "grid" },
      field("agent.name", "代理人氏名", "Agent's name", input({ maxlength: 100 })),
      field("agent.relation", "申請者との関係", "Relation", select(pick(AGENT_RELATIONS))),
      field("agent.phone", "代理人の電話", "Agent's phone", input({ inputmode: "tel" }))),
    h("div", { class: "field", dataset: { field: "agent.power_of_attorney" } },
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "agent.power_of_attorney", value: "yes" }),
        bi("委任状を確認した（同一世帯の親族以外は必須）", "Letter of attorney seen (required unless same household)")),
      h("div", { class: "field-error", role: "alert" })));
  hasAgent.addEventListener("change", () => { agent.hidden = !hasAgent.checked; });
  const fields = h("div", { class: "applicant" },
    h("div", { class: "grid" },
      field("applicant.relationship", "世帯主との続柄", "Relationship", relationship),
      field("applicant.phone", "連絡先電話", "Phone", input({ inputmode: "tel", placeholder: "096-123-4567" })),
      field("applicant.contact_address", "連絡先・送付先住所", "Contact / postal address", input({ placeholder: "避難所・親族宅など / shelter, relative's" })),
      field("applicant.delivery", "交付方法", "Delivery", delivery)),
    h("label", { class: "check" }, hasAgent, bi("代理人による申請", "Applied by an agent")), agent);
  if (details) fill(fields, details);
  return fields;
}

function fill(fields, d) {
  const set = (name, value) => { const el = fields.querySelector(`[name='${name}']`); if (el && value) el.value = value; };
  set("applicant.relationship", d.relationship); set("applicant.phone", d.phone);
  set("applicant.contact_address", d.contact_address); set("applicant.delivery", d.delivery);
  if (d.agent) {
    fields.querySelector(".has-agent").checked = true;
    fields.querySelector("fieldset.agent").hidden = false;
    set("agent.name", d.agent.name); set("agent.relation", d.agent.relation); set("agent.phone", d.agent.phone);
    fields.querySelector("[name='agent.power_of_attorney']").checked = !!d.agent.power_of_attorney;
  }
}

// The JSON of those fields, from values(form) (and the form, for the check boxes).
export function applicantBody(form, v) {
  const body = { applicant: { delivery: v["applicant.delivery"] || "counter" } };
  if (v["applicant.relationship"]) body.applicant.relationship = v["applicant.relationship"];
  if (v["applicant.phone"]) body.applicant.phone = v["applicant.phone"];
  if (v["applicant.contact_address"]) body.applicant.contact_address = v["applicant.contact_address"];
  if (form.querySelector(".has-agent").checked) {
    body.agent = { name: v["agent.name"] || null, relation: v["agent.relation"],
      power_of_attorney: !!form.querySelector("[name='agent.power_of_attorney']").checked };
    if (v["agent.phone"]) body.agent.phone = v["agent.phone"];
  }
  return body;
}

function dl(rows) {
  return h("dl", { class: "facts" }, rows.filter(Boolean).map(([ja, en, value, id]) =>
    [h("dt", {}, bi(ja, en)), h("dd", id ? { id } : {}, value ?? "—")]));
}

// The application's applicant card: details, then withdrawal (or the withdrawal's record).
export function applicantPanel(a) {
  const d = a.applicant_details || {};
  const ag = d.agent;
  const card = h("section", { class: "card", id: "applicant" }, h("h3", {}, bi("申請者", "Applicant")),
    dl([["続柄", "Relationship", labelOf(RELATIONSHIPS, d.relationship), "applicant-relationship"],
      ["連絡先電話", "Phone", d.phone], ["連絡先・送付先", "Contact address", d.contact_address],
      ["交付方法", "Delivery", bi(...(DELIVERY[d.delivery || "counter"])), "applicant-delivery"],
      ["代理人", "Agent", ag ? h("span", {}, `${ag.name}（`, labelOf(AGENT_RELATIONS, ag.relation), "）",
        ag.phone ? ` ${ag.phone}` : "", "　", ag.power_of_attorney ? h("span", { class: "pill ok" }, bi("委任状あり", "letter of attorney"))
          : h("span", { class: "pill" }, bi("委任状なし", "no letter"))) : bi("なし（本人が来庁）", "none (in person)"), "applicant-agent"]]));
  if (a.status === "withdrawn") {
    const w = a.withdrawal || {};
    card.append(h("div", { class: "notice warn", id: "withdrawn" },
      h("strong", {}, bi("この申請は取り下げられました", "This application was withdrawn")),
      h("div", {}, bi("理由", "Reason"), "：", w.reason || "—", "　", w.at ? formatJst(w.at) : "")));
  } else if (api.hasRole("clerk", "supervisor")) {
    card.append(correctForm(a));
    if (WITHDRAWABLE.includes(a.status)) card.append(withdrawForm(a));
  }
  return card;
}

// 訂正: the applicant's details again, filled in; the node keeps the previous ones in the history.
function correctForm(a) {
  const d = a.applicant_details || {};
  const form = h("form", { class: "inline-form", id: "applicant-form", novalidate: true, hidden: true },
    h("h4", {}, bi("申請者情報の訂正", "Correct the applicant's details")),
    applicantFields({ is_householder: d.relationship === "householder" }, d),
    formError(),
    h("button", { type: "submit", class: "primary" }, bi("訂正を保存", "Save the correction")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api.post(`/api/v1/applications/${encodeURIComponent(a.application_id)}/applicant`, applicantBody(form, values(form)));
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    } catch (e) { showError(form, e); }
  });
  const open = h("button", { type: "button", class: "link", id: "correct-applicant",
    onclick: () => { form.hidden = false; open.hidden = true; } }, bi("申請者情報を訂正", "Correct the details"));
  return h("div", { class: "correct" }, open, form);
}

function withdrawForm(a) {
  const form = h("form", { class: "inline-form danger", id: "withdraw-form", novalidate: true },
    h("h4", {}, bi("申請の取下げ", "Withdraw the application")),
    field("withdraw_reason", "取下げの理由", "Reason", input({ maxlength: 500, id: "withdraw-reason" })),
    formError(),
    h("button", { type: "submit", class: "danger", id: "withdraw" }, bi("取り下げる", "Withdraw")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const { withdraw_reason: reason } = values(form);
    if (reason && !await confirmAction({ title: ["申請を取り下げますか", "Withdraw this application?"],
      facts: [["申請番号", "Application", a.application_id], ["理由", "Reason", reason]],
      effect: ["取り下げた申請は調査・判定・交付ができなくなります。取り消せません。必要になれば新しく申請します。",
        "A withdrawn application can no longer be surveyed, judged or issued. This cannot be undone; apply again if needed."],
      ok: ["取り下げる", "Withdraw"], danger: true })) return;
    try {
      await api.post(`/api/v1/applications/${encodeURIComponent(a.application_id)}/withdrawal`, { withdraw_reason: reason || null });
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    } catch (e) { showError(form, e); }
  });
  return form;
}
