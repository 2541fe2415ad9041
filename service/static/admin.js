// Supervisor screens: the replication conflict review queue, both versions side by side
// (GET /api/v1/conflicts, POST /api/v1/conflicts/{id}/resolve).

import * as api from "./api.js";
import { formatJst } from "./dates.js";
import { bi, button, clearErrors, confirmAction, field, formError, h, showError } from "./dom.js";

const KIND = {
  concurrent_write: ["同時更新（2つのノードが同じ版から変更）", "concurrent write (two nodes changed the same version)"],
  insert_only_violation: ["変更できない記録の食い違い", "insert-only record differs"],
  // issue 11: both certificates are 審査中 until a supervisor revokes one; the item then closes by itself
  duplicate_certificate: ["二重交付の疑い（分断中に同じ世帯・住家・災害を2つのノードで受付）。どちらかの証明書を失効させてください",
    "possible duplicate (two nodes accepted one household, dwelling and disaster during a partition): revoke one certificate"],
};

export async function conflictsView() {
  const data = await api.get("/api/v1/conflicts");
  const list = data.conflicts.map(conflictCard);
  return h("div", { id: "conflicts" },
    h("section", { class: "card" }, h("h2", {}, bi("競合確認", "Conflict review")),
      h("p", { class: "muted" }, bi(
        `未解決 ${data.open} 件。全ノードは同じ規則（HLCが最大の版）で収束済みです。内容を確認し、必要なら正しい版で修正してから解決済みにしてください。`,
        `${data.open} open. Every node already converged by the same rule (highest HLC); review, correct if needed, then close.`))),
    list.length ? list : h("p", { class: "card muted", id: "no-conflicts" }, bi("未解決の競合はありません", "No open conflicts")));
}

function conflictCard(c) {
  const localWins = c.winner === c.local_version;
  const keys = [...new Set([...Object.keys(c.local_state || {}), ...Object.keys(c.remote_state || {})])].sort();
  const show = (v) => (v === undefined ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v));
  const rows = keys.map((k) => {
    const a = show(c.local_state[k]), b = show(c.remote_state[k]);
    return h("tr", { class: a === b ? "same" : "differs", dataset: { key: k } },
      h("th", {}, h("code", {}, k)), h("td", {}, a), h("td", {}, b));
  });
  const form = h("form", { class: "inline-form resolve-form", novalidate: true },
    field("resolution", "確認結果・対応", "Resolution", h("textarea", { rows: 2, maxlength: 2000, required: true })),
    formError(), h("button", { type: "submit", class: "primary" }, bi("解決済みにする", "Close as resolved")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const resolution = form.elements.resolution.value.trim();
    if (!resolution) {
      showError(form, { status: 422, code: "invalid.required", message: "resolution is required",
                        fields: [{ field: "resolution", code: "invalid.required", reason: "required" }] });
      return;
    }
    const ok = await confirmAction({
      title: ["この競合を解決済みにしますか", "Close this conflict?"],
      facts: [["対象", "Entity", `${c.entity_type} ${c.entity_id}`], ["確認結果", "Resolution", resolution]],
      effect: ["確認の記録（職員・内容）が残り、一覧から消えます。データは変わりません（修正は通常の画面で行います）。",
        "The review is recorded (staff, text) and leaves the queue; the data does not change."],
      ok: ["解決済みにする", "Close"],
    });
    if (!ok) return;
    try { await api.post(`/api/v1/conflicts/${c.id}/resolve`, { resolution }); window.dispatchEvent(new HashChangeEvent("hashchange")); }
    catch (e) { showError(form, e); }
  });
  const version = (ja, en, v, wins) => h("th", { class: wins ? "winner" : "" }, bi(ja, en), h("div", {}, h("small", { class: "muted" }, v)),
    wins ? h("span", { class: "pill ok" }, bi("採用（収束規則）", "kept by the rule")) : null);
  return h("section", { class: "card conflict", dataset: { conflict: String(c.id) } },
    h("h3", {}, bi(...(KIND[c.kind] || [c.kind, c.kind])), " ", h("code", {}, `${c.entity_type} ${c.entity_id}`)),
    h("p", { class: "muted" }, bi("検出", "Detected"), "：", formatJst(c.detected_at)),
    h("table", { class: "side-by-side" },
      h("thead", {}, h("tr", {}, h("th", {}, bi("項目", "Field")),
        version("このノードで先に記録", "Known here first", c.local_version, localWins),
        version("後から届いた版", "Arrived second", c.remote_version, !localWins))),
      h("tbody", {}, rows)),
    api.hasRole("supervisor") ? form : null);
}

