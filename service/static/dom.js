import { ERRORS, errorMessage } from "./messages.js";

// Tiny DOM helpers: elements are built with textContent only (never HTML strings), so
// resident names and API text cannot inject markup; the CSP forbids inline script anyway.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// "住民検索 / Resident search": Japanese first, English beside it (smaller).
export function bi(ja, en, tag = "span") {
  return h(tag, { class: "bi" }, h("span", { class: "ja", lang: "ja" }, ja), h("span", { class: "en", lang: "en" }, en));
}

export function field(name, ja, en, input, hint) {
  input.name = name;
  input.id = input.id || `f-${name}-${Math.random().toString(36).slice(2, 7)}`;
  return h("div", { class: "field", dataset: { field: name } },
    h("label", { for: input.id }, bi(ja, en)), input,
    hint ? h("small", { class: "hint" }, hint) : null,
    h("div", { class: "field-error", role: "alert", "aria-live": "polite" }));
}

export function input(attrs = {}) { return h("input", { type: "text", ...attrs }); }

export function select(options, attrs = {}) {
  return h("select", attrs, options.map(([value, label]) => h("option", { value }, label)));
}

export function button(ja, en, attrs = {}) {
  return h("button", { type: "button", ...attrs }, bi(ja, en));
}

export function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

// An API error: each {field, reason} goes next to its field in `form`; the rest (and the
// message) goes to the form's summary box.
export function showError(form, err) {
  clearErrors(form);
  const summary = form.querySelector(".form-error");
  const unplaced = [];
  for (const f of err.fields || []) {
    const box = form.querySelector(`[data-field="${CSS.escape(f.field)}"] .field-error`);
    if (box) {
      box.replaceChildren(fieldReason(f));
      box.closest(".field").classList.add("invalid");
      const ctl = box.closest(".field").querySelector("input, select, textarea");
      if (ctl) ctl.setAttribute("aria-invalid", "true");
    } else unplaced.push(h("span", {}, h("code", {}, f.field), "：", fieldReason(f)));
  }
  if (summary) {
    summary.hidden = false;
    // append() takes nodes, not arrays: an array would print as "[object HTMLDivElement]".
    const [ja, en] = errorMessage(err.code, err.message);
    append(summary, [h("strong", {}, `${errorTitle(err)} `), h("code", {}, err.code || ""),
      h("div", { class: "error-message" }, bi(ja, en)),
      err.message && err.message !== en ? h("div", { class: "server-message muted" }, err.message) : null,
      unplaced.map((t) => h("div", {}, t))]);
    if (err.code === "audit.reason_required" && retryWithReason) summary.append(retryButton(form));
  }
}

// Cancelling the reason dialog must not be a dead end: the error offers to ask again and
// retry what failed (re-submit the form, or re-render the view).
let retryWithReason = null;
export function setReasonRetry(fn) { retryWithReason = fn; }

function retryButton(form) {
  return button("理由を入力して再試行", "Give a reason and retry", { class: "retry-reason", onclick: () => retryWithReason(form) });
}

// A field's reason: the Japanese for its code, then the server's (English) reason.
function fieldReason(f) {
  const known = ERRORS[f.code];
  return known ? bi(known[0], f.reason || known[1]) : h("span", {}, f.reason);
}

export function clearErrors(form) {
  form.querySelectorAll(".field-error").forEach((b) => { b.textContent = ""; });
  form.querySelectorAll(".field.invalid").forEach((f) => f.classList.remove("invalid"));
  form.querySelectorAll("[aria-invalid]").forEach((c) => c.removeAttribute("aria-invalid"));
  const summary = form.querySelector(".form-error");
  if (summary) { clear(summary); summary.hidden = true; }
}

function errorTitle(err) {
  if (err.status === 403) return "権限がありません / Not allowed";
  if (err.status === 404) return "見つかりません / Not found";
  if (err.status === 409) return "この状態ではできません / Not allowed in this state";
  if (err.status === 422) return "入力を確認してください / Please check the input";
  if (err.status >= 500) return "サーバーエラー / Server error";
  return "エラー / Error";
}

export function formError() { return h("div", { class: "form-error", role: "alert", hidden: true }); }

export function values(form) {
  const out = {};
  for (const [k, v] of new FormData(form).entries()) if (typeof v === "string") out[k] = v.trim();
  return out;
}

// A confirmation that says what will happen, before an action that cannot be undone:
// { title: [ja, en], facts: [[ja, en, value]], effect: [ja, en], ok: [ja, en], danger }.
// Resolves true only when the member of staff presses the action's own button.
export function confirmAction({ title, facts = [], effect, ok, danger = false }) {
  const dialog = h("dialog", { id: "confirm-dialog", class: danger ? "danger" : "" },
    h("form", { method: "dialog" },
      h("h2", {}, bi(...title)),
      h("dl", { class: "facts" }, facts.filter(Boolean).map(([ja, en, value]) => [h("dt", {}, bi(ja, en)), h("dd", {}, value ?? "—")])),
      effect ? h("p", { class: "effect" }, bi(...effect)) : null,
      h("menu", {},
        h("button", { value: "cancel", id: "confirm-cancel" }, bi("やめる", "Cancel")),
        h("button", { value: "ok", id: "confirm-ok", class: danger ? "danger" : "primary" }, bi(...ok)))));
  document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => { resolve(dialog.returnValue === "ok"); dialog.remove(); }, { once: true });
    dialog.showModal();
    dialog.querySelector("#confirm-cancel").focus(); // the safe choice has the focus
  });
}
