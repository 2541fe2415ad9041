// 一括印刷 (batch printing): choose the certificates (issued today here, 郵送交付 only by
// default), start the job, watch its progress bar, then open the one PDF. Certificates the
// job left out (withdrawn since, or printed boxes not matching the QR) are listed with why.

import * as api from "./api.js";
import { dateLabel, todayJst } from "./dates.js";
import { errorMessage } from "./messages.js";
import { bi, clear, field, formError, h, input, select, showError, values } from "./dom.js";

let polling = null;

export function batchPrintView() {
  if (polling) { clearTimeout(polling); polling = null; }
  const status = h("div", { id: "batch-status" });
  const day = input({ type: "date", value: todayJst(), id: "batch-day" });
  const dayLabel = h("small", { class: "hint", id: "batch-day-label" }, dateLabel(day.value));
  day.addEventListener("input", () => { dayLabel.textContent = day.value ? dateLabel(day.value) : ""; });
  const delivery = select([["mail", "郵送交付のみ / by post only"], ["counter", "窓口交付のみ / counter only"], ["", "すべて / all"]], {});
  const form = h("form", { class: "card", id: "batch-form", novalidate: true },
    h("h2", {}, bi("一括印刷", "Batch printing")),
    h("p", { class: "muted" }, bi("このノードで交付した証明書を1つのPDFにまとめます。各ページは印刷前に有効性と記載内容（QRコードとの一致）を確認します。",
      "Certificates issued at this node, as one PDF. Each page is checked before printing: still current, and its printed boxes match the QR.")),
    h("div", { class: "grid" },
      h("div", {}, field("issued_on", "交付日", "Issued on", day), dayLabel),
      field("delivery", "交付方法", "Delivery", delivery)),
    formError(),
    h("button", { type: "submit", class: "primary", id: "batch-start" }, bi("PDFを作成", "Make the PDF")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = values(form);
    const body = { issued_on: v.issued_on };
    if (v.delivery) body.delivery = v.delivery;
    try {
      const { job } = await api.post("/api/v1/batch-prints", body);
      show(status, job);
      watch(status, job.job_id);
    } catch (e) { showError(form, e); }
  });
  return h("div", {}, form, status);
}

function watch(status, jobId) {
  const tick = async () => {
    polling = null;
    if (!document.body.contains(status)) return; // the clerk left the page
    try {
      const { job } = await api.get(`/api/v1/batch-prints/${encodeURIComponent(jobId)}`);
      show(status, job);
      if (!["done", "failed"].includes(job.status)) polling = setTimeout(tick, 400);
    } catch (e) { show(status, null, e); }
  };
  polling = setTimeout(tick, 300);
}

const STATES = { queued: ["順番待ち", "queued"], rendering: ["作成中", "rendering"], done: ["完了", "done"], failed: ["失敗", "failed"] };

function show(status, job, err) {
  clear(status);
  if (err) { const box = h("div", { class: "card" }, formError()); status.append(box); showError(box, err); return; }
  const card = h("section", { class: "card", id: "batch-job", dataset: { status: job.status } },
    h("h3", {}, bi("作成状況", "Progress"), " ", h("span", { class: `pill ${job.status === "failed" ? "stale" : job.status === "done" ? "ok" : "warn"}`, id: "batch-state" }, bi(...STATES[job.status]))),
    h("progress", { id: "batch-progress", max: String(job.total), value: String(job.done) }),
    h("p", { id: "batch-count" }, bi(`${job.total}件中 ${job.done}件を確認、${job.pages}ページ`, `${job.done} of ${job.total} checked, ${job.pages} pages`)));
  if (job.skipped.length) {
    card.append(h("div", { class: "notice warn", id: "batch-skipped" },
      h("strong", {}, bi(`印刷しなかった証明書 ${job.skipped.length}件`, `${job.skipped.length} not printed`)),
      h("ul", {}, job.skipped.map((s) => h("li", {}, h("code", {}, s.number), "：", bi(...errorMessage(s.code, s.reason)),
        h("div", { class: "muted server-message" }, s.reason))))));
  }
  if (job.status === "done") {
    card.append(h("div", { class: "actions" }, h("button", { type: "button", class: "primary", id: "batch-open", onclick: () => openPdf(job.job_id) },
      bi("PDFを開く", "Open PDF"))));
  }
  if (job.status === "failed") card.append(h("p", { class: "form-error" }, job.error || ""));
  status.append(card);
}

async function openPdf(jobId) {
  const blob = await api.get(`/api/v1/batch-prints/${encodeURIComponent(jobId)}/pdf`);
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, target: "_blank", rel: "noopener", download: `${jobId}.pdf` });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
