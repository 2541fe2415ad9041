// Verify a QR string, import CSV files (with a progress bar), replication status.

import * as api from "./api.js";
import { bi, clear, clearErrors, field, formError, h, select, showError } from "./dom.js";
import { freshnessTable, watch } from "./freshness.js";
import { ERRORS } from "./messages.js";

// ---- verify -----------------------------------------------------------------------

const CHECK_ICON = { pass: "✔", fail: "✖", skipped: "–" };
const CHECK_WORD = { pass: ["合格", "pass"], fail: ["不合格", "fail"], skipped: ["未確認", "not checked"] };

export function verifyView(prefill) {
  const out = h("div", { id: "verdict" });
  const qr = h("textarea", { rows: 4, spellcheck: "false", placeholder: "JPRC1:…" });
  const form = h("form", { class: "card", id: "verify-form", novalidate: true },
    h("h2", {}, bi("証明書の検証", "Verify a certificate")),
    h("p", { class: "muted" }, bi("QRコードを読み取った文字列を貼り付けてください。", "Paste the string read from the QR code.")),
    field("qr", "QR文字列", "QR string", qr), formError(),
    h("button", { type: "submit", class: "primary" }, bi("検証する", "Verify")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    try {
      const verdict = await api.post("/api/v1/verify", { qr: qr.value.trim() });
      clear(out).append(verdictCard(verdict));
    } catch (e) { showError(form, e); clear(out); }
  });
  if (prefill) { qr.value = prefill; setTimeout(() => form.requestSubmit(), 0); }
  return h("div", {}, form, out);
}

function verdictCard(v) {
  return h("section", { class: `card verdict ${v.ok ? "ok" : "bad"}` },
    h("h3", { id: "verdict-result" }, v.ok ? bi("✔ 有効な証明書です", "Valid certificate") : bi("✖ 検証に失敗しました", "Verification failed")),
    v.number ? h("p", {}, bi("整理番号", "Number"), "：", h("code", {}, v.number)) : null,
    h("table", { class: "checks" }, h("tbody", {}, v.checks.map((c) => h("tr", { class: `check ${c.status}`, dataset: { check: c.name } },
      h("td", { class: "icon" }, CHECK_ICON[c.status] || "?"),
      h("td", {}, bi(...(CHECK_WORD[c.status] || [c.status, c.status]))),
      h("td", {}, h("div", { lang: "ja" }, c.ja), h("div", { class: "en", lang: "en" }, c.en)))))),
    h("p", { class: "muted" }, `trust list v${v.trust_list_version ?? "?"} · kid ${v.kid ?? "?"}`));
}

// ---- CSV import -------------------------------------------------------------------

export function importView() {
  const progress = h("progress", { id: "import-progress", max: 1, value: 0, hidden: true });
  const status = h("div", { id: "import-status", "aria-live": "polite" });
  const file = h("input", { type: "file", accept: ".csv,text/csv", required: true });
  const form = h("form", { class: "card", id: "import-form", novalidate: true },
    h("h2", {}, bi("CSV取込", "CSV import")),
    h("p", { class: "muted" }, bi("1ファイルは全件取込か全件取消のどちらかです。同じファイルの再取込は何も変えません。",
      "Each file is all or nothing; the same file again changes nothing.")),
    h("div", { class: "grid" },
      field("kind", "種類", "Kind", select([["residents", "住民 / residents"], ["dwellings", "住家 / dwellings"], ["surveys", "調査 / surveys"]])),
      field("encoding", "文字コード", "Encoding", select([["utf-8", "UTF-8"], ["cp932", "Shift_JIS (cp932)"]])),
      field("file", "ファイル", "File", file)),
    formError(),
    h("button", { type: "submit", class: "primary" }, bi("取り込む", "Import")), progress, status);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    if (!file.files.length) { showError(form, { status: 422, code: "invalid.required", message: "ファイルを選んでください / choose a file", fields: [{ field: "file", reason: "必須 / required" }] }); return; }
    const body = new FormData();
    body.append("file", file.files[0]);
    try {
      const start = await api.request("POST", api.query("/api/v1/imports", { kind: form.elements.kind.value, encoding: form.elements.encoding.value }), body);
      progress.hidden = false;
      await poll(start.job, form, progress, status);
    } catch (e) { showError(form, e); }
  });
  return form;
}

async function poll(job, form, progress, status) {
  for (;;) {
    progress.max = job.total || Math.max(job.done, 1);
    progress.value = job.done;
    status.replaceChildren(bi("取込中", "Importing"), `… ${job.done} / ${job.total ?? "?"} 行 / rows`);
    if (job.state === "done") {
      progress.value = progress.max;
      const r = job.result || {};
      status.replaceChildren(h("strong", {}, bi("取込完了", "Import done")), " ",
        r.already_imported ? bi("同じファイルは取込済みです（変更なし）", "this file was already imported (nothing changed)")
          : bi(`${r.rows} 行（変更 ${r.changed}・変更なし ${r.unchanged}）`, `${r.rows} rows (${r.changed} changed, ${r.unchanged} unchanged)`));
      return;
    }
    if (job.state === "failed") {
      status.replaceChildren(bi("取込失敗（何も変更していません）", "Import failed (nothing was changed)"));
      status.append(h("table", { class: "row-errors" }, h("tbody", {}, (job.error.fields || []).map((f) =>
        h("tr", {}, h("td", {}, f.row ? `${f.row}行 / row ${f.row}` : ""), h("td", {}, h("code", {}, f.field)),
        h("td", {}, ERRORS[f.code] ? bi(ERRORS[f.code][0], f.reason) : f.reason))))));
      showError(form, { status: 422, code: job.error.code, message: job.error.message, fields: [] });
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
    job = (await api.get(`/api/v1/imports/${encodeURIComponent(job.job_id)}`)).job;
  }
}

// ---- replication status -----------------------------------------------------------

export function freshnessView() {
  const box = h("div", {}, freshnessTable(null));
  const card = h("section", { class: "card", id: "freshness" }, h("h2", {}, bi("複製状況", "Replication freshness")), box);
  const stop = watch((data, err) => {
    clear(box).append(err ? h("p", {}, err.message) : freshnessTable(data));
  });
  window.addEventListener("hashchange", stop, { once: true });
  return card;
}
