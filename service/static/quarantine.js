// Supervisor screen: replication events this node quarantined (could not verify or store),
// and their replay after the cause is fixed (GET /api/v1/replication/quarantine,
// POST /api/v1/replication/quarantine/{id}/replay).

import * as api from "./api.js";
import { formatJst } from "./dates.js";
import { bi, confirmAction, formError, h, showError } from "./dom.js";

// The reason's code (before ":") in words; the server's text is shown beside it.
const REASONS = {
  bad_signature: ["署名を確認できません（鍵が信頼リストにない、または改ざん）", "signature not verified (unknown key or tampered)"],
  origin_mismatch: ["送信元ノードが一致しません", "origin node does not match its topic"],
  malformed: ["イベントの形式が正しくありません", "malformed event"],
  unknown_schema_version: ["このノードが知らない形式のイベントです（ノードの更新が必要）", "unknown event schema (upgrade this node)"],
  insert_only_violation: ["変更できない記録への変更です", "change to an insert-only record"],
  apply_failed: ["データベースに保存できません", "could not be stored"],
};

export async function quarantineView() {
  const replayed = location.hash.endsWith("/replayed");
  const data = await api.get(api.query("/api/v1/replication/quarantine", { replayed: String(replayed) }));
  const tabs = h("p", { class: "tabs" },
    h("a", { href: "#/quarantine", class: replayed ? "" : "active" }, bi(`未処理 ${data.open} 件`, `${data.open} open`)),
    " ", h("a", { href: "#/quarantine/replayed", class: replayed ? "active" : "" }, bi("再適用済み", "Replayed")));
  const rows = data.quarantine.map(row);
  return h("div", { id: "quarantine" },
    h("section", { class: "card" }, h("h2", {}, bi("隔離イベント", "Quarantined events")),
      h("p", { class: "muted" }, bi(
        "他ノードから届いたが検証または保存できなかった変更です。原因（信頼リストの更新、ノードの更新など）を直してから再適用してください。再適用は何度行っても二重にはなりません。",
        "Changes from other nodes that could not be verified or stored. Fix the cause (a newer trust list, an upgraded node), then replay; replaying twice never applies twice.")),
      tabs,
      rows.length ? h("table", { class: "list quarantine-list" },
        h("thead", {}, h("tr", {}, ["番号/No.", "送信元/Origin", "位置/Offset", "理由/Reason", "受信/Received", "再適用の結果/Last replay", ""]
          .map((t) => h("th", {}, t ? bi(...t.split("/")) : "")))),
        h("tbody", {}, rows)) : h("p", { class: "muted", id: "no-quarantine" }, bi("該当するイベントはありません", "None"))));
}

function reasonText(reason) {
  const code = reason.split(":")[0];
  const known = REASONS[code];
  return h("div", {}, known ? h("div", {}, bi(...known)) : null, h("div", {}, h("small", { class: "muted server-message" }, reason)));
}

function row(q) {
  const cell = h("td", { class: "actions" }, formError());
  if (!q.replayed_at && api.hasRole("supervisor", "admin")) {
    const btn = h("button", { type: "button", class: "primary replay" }, bi("再適用", "Replay"));
    btn.addEventListener("click", async () => {
      const ok = await confirmAction({
        title: ["このイベントを再適用しますか", "Replay this event?"],
        facts: [["送信元", "Origin", q.origin], ["位置", "Offset", `${q.topic} #${q.offset}`], ["理由", "Reason", q.reason]],
        effect: ["現在の信頼リストで署名を確認し、正しければ他の変更と同じ規則で適用します。確認できなければ隔離されたまま残ります。",
          "Verified again with the current trust list and, if valid, applied by the same rules as any change; otherwise it stays quarantined."],
        ok: ["再適用する", "Replay"],
      });
      if (!ok) return;
      try { await api.post(`/api/v1/replication/quarantine/${q.id}/replay`); window.dispatchEvent(new HashChangeEvent("hashchange")); }
      catch (e) { showError(cell, e); }
    });
    cell.prepend(btn);
  }
  const result = q.replay_result
    ? h("span", { class: `pill ${q.replayed_at ? "ok" : "bad"}` }, q.replayed_at ? bi("適用済み", q.replay_result) : bi("まだ拒否", "still refused"))
    : "—";
  return h("tr", { dataset: { quarantine: String(q.id) } },
    h("td", {}, String(q.id)), h("td", {}, h("code", {}, q.origin)), h("td", {}, String(q.offset)),
    h("td", {}, reasonText(q.reason)), h("td", {}, formatJst(q.received_at)),
    h("td", {}, result, q.last_tried_at ? h("div", {}, h("small", { class: "muted" }, formatJst(q.last_tried_at))) : null,
      q.replay_result && !q.replayed_at ? h("div", {}, h("small", { class: "muted" }, q.replay_result)) : null),
    cell);
}
