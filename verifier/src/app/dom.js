// DOM helpers: elements built with textContent only (never HTML strings), so text from a
// QR code cannot inject markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Japanese first, English beside it (smaller). */
export function bi(ja, en, tag = "span") {
  return h(tag, { class: "bi" }, h("span", { class: "ja", lang: "ja" }, ja), " ", h("span", { class: "en", lang: "en" }, en));
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export const $ = (sel) => document.querySelector(sel);
