// 集計: applications and certificates by damage class (全壊 … 一部損壊, as towns publish
// 罹災証明書の交付状況), by 大字, by day (JST) and by node; tables beside SVG charts.
// For one competent town's cases, or for every case this node received or issued.

import * as api from "./api.js";
import { townName, towns } from "./app.js";
import { barChart, dayChart } from "./chart.js";
import { CLASSES } from "./damage.js";
import { dateLabel } from "./dates.js";
import { bi, field, formError, h, select, showError } from "./dom.js";

const CLASS_CODES = Object.keys(CLASSES);
const SHORT = { "ichibu-sonkai": "一部損壊" }; // the published tables' column name
const classJa = (code) => (code === null ? "未判定 / not judged" : SHORT[code] || (CLASSES[code] || [code])[0]);
const num = (n) => h("td", { class: "num" }, String(n));

function classTable(apps, certs) {
  const counts = (rows) => Object.fromEntries(rows.map((r) => [r.class, r.n]));
  const a = counts(apps);
  const c = counts(certs);
  const keys = [...CLASS_CODES, ...apps.concat(certs).map((r) => r.class).filter((k) => !CLASS_CODES.includes(k))];
  const unique = [...new Set(keys)];
  return h("table", { class: "results", id: "stats-by-class" },
    h("thead", {}, h("tr", {}, h("th", {}, bi("被害の程度", "Damage class")), h("th", { class: "num" }, bi("申請", "Applications")),
      h("th", { class: "num" }, bi("交付（有効）", "Certificates (current)")))),
    h("tbody", {}, unique.map((k) => h("tr", {}, h("td", {}, k === null || !CLASSES[k] ? classJa(k) : bi(...CLASSES[k])),
      num(a[k] || 0), num(c[k] || 0)))),
    h("tfoot", {}, h("tr", {}, h("th", {}, bi("計", "Total")),
      num(apps.reduce((s, r) => s + r.n, 0)), num(certs.reduce((s, r) => s + r.n, 0)))));
}

function districtTable(rows) {
  if (!rows.length) return h("p", { class: "muted" }, bi("データなし", "No data"));
  return h("div", { class: "scroll" }, h("table", { class: "results", id: "stats-by-district" },
    h("thead", {}, h("tr", {}, h("th", {}, bi("市町村", "Town")), h("th", {}, bi("大字・町名", "District")),
      h("th", { class: "num" }, bi("申請", "Applications")),
      CLASS_CODES.map((k) => h("th", { class: "num" }, classJa(k))), h("th", { class: "num" }, bi("被災証明", "Hisai")))),
    h("tbody", {}, rows.map((r) => h("tr", {}, h("td", {}, townName(r.town)), h("td", {}, r.district || "（不明 / unknown）"),
      num(r.applications), CLASS_CODES.map((k) => num(r.certificates[k])), num(r.hisai))))));
}

function keyTable(id, ja, en, apps, certs, show = (k) => k) {
  const keys = [...new Set([...apps, ...certs].map((r) => r.key))].sort();
  const get = (rows, k) => (rows.find((r) => r.key === k) || { n: 0 }).n;
  return h("table", { class: "results", id },
    h("thead", {}, h("tr", {}, h("th", {}, bi(ja, en)), h("th", { class: "num" }, bi("申請", "Applications")),
      h("th", { class: "num" }, bi("交付（有効）", "Certificates (current)")))),
    h("tbody", {}, keys.map((k) => h("tr", {}, h("td", {}, show(k)), num(get(apps, k)), num(get(certs, k))))));
}

function chartCard(ja, en, ...children) {
  return h("section", { class: "card" }, h("h3", {}, bi(ja, en)), h("div", { class: "chart-pair" }, ...children));
}

export async function statsView(arg) {
  const [given, townArg] = (arg || "").split("/");
  const scope = given === "node" ? "node" : "town";
  const code = townArg || api.session.staff.town_code;
  const form = h("form", { class: "card", id: "stats-form" },
    h("h2", {}, bi("集計", "Statistics")),
    h("div", { class: "grid" },
      field("scope", "対象", "Cases", select([["town", "管轄市町村の案件 / a town's cases"], ["node", "このノードが扱った案件 / served by this node"]], { id: "stats-scope" })),
      field("town", "市町村", "Town", select(Object.entries(towns).map(([c, t]) => [c, `${t.name}（${c}）`]), { id: "stats-town" }))),
    formError());
  form.elements.scope.value = scope;
  form.elements.town.value = code;
  form.elements.town.disabled = scope === "node";
  const go = () => { location.hash = `#/stats/${form.elements.scope.value}/${form.elements.town.value}`; };
  form.elements.scope.addEventListener("change", go);
  form.elements.town.addEventListener("change", go);
  form.addEventListener("submit", (ev) => { ev.preventDefault(); go(); });
  const body = h("div", { id: "stats-body" });
  try {
    const s = await api.get(api.query("/api/v1/statistics", scope === "node" ? { scope } : { scope, town: code }));
    const heading = scope === "node" ? bi(`ノード ${s.node} が受け付け・交付した案件`, `Cases node ${s.node} received or issued`)
      : bi(`${townName(code)}（${code}）の案件`, `Cases of ${code}`);
    const certItems = s.certificates_by_class.filter((r) => r.class !== null || r.n)
      .map((r) => ({ label: classJa(r.class), value: r.n, cls: r.class || "none" }));
    const appItems = s.applications_by_class.map((r) => ({ label: classJa(r.class), value: r.n, cls: r.class || "none" }));
    const toDays = (rows) => rows.map((r) => ({ day: r.key, value: r.n }));
    body.append(
      h("p", { class: "card notice", id: "stats-heading" }, heading),
      chartCard("被害の程度別", "By damage class", classTable(s.applications_by_class, s.certificates_by_class),
        h("div", {}, h("h4", {}, bi("交付件数", "Certificates")), barChart(certItems, { title: "交付件数（被害の程度別） / certificates by class" }),
          h("h4", {}, bi("申請件数", "Applications")), barChart(appItems, { title: "申請件数（被害の程度別） / applications by class" }))),
      h("section", { class: "card" }, h("h3", {}, bi("大字・町名別（交付は有効なもの）", "By district (current certificates)")),
        districtTable(s.by_district)),
      chartCard("日別（日本時間）", "By day (JST)",
        keyTable("stats-by-day", "日付", "Day", s.applications_by_day, s.certificates_by_day, dateLabel),
        h("div", {}, h("h4", {}, bi("申請", "Applications")), dayChart(toDays(s.applications_by_day), { title: "日別申請件数 / applications per day" }),
          h("h4", {}, bi("交付", "Certificates")), dayChart(toDays(s.certificates_by_day), { title: "日別交付件数 / certificates per day" }))),
      chartCard("ノード別", "By node",
        keyTable("stats-by-node", "ノード", "Node", s.applications_by_node, s.certificates_by_node)));
  } catch (e) {
    showError(form, e);
  }
  return h("div", {}, form, body);
}
