// The on-screen pad: no keyboard at a kiosk. Digits for the PIN (shown as dots), or the
// code alphabet of service/counter/codes.py (no 0/O, 1/I/L, U) for one-time codes.

import { bi, h } from "./dom.js";

export const CODE_KEYS = "ABCDEFGHJKMNPQRSTVWXYZ23456789";
export const DIGITS = "1234567890";

// A pad element; `done(value)` when OK is pressed with `length` characters.
export function pad({ keys, length, secret = false, done, label }) {
  let value = "";
  const shown = h("output", { class: secret ? "pad-value secret" : "pad-value", "aria-live": "polite" });
  const ok = h("button", { type: "button", class: "big ok", disabled: true, dataset: { key: "ok" },
    onclick: () => value.length === length && done(value) }, bi("ok"));
  const render = () => {
    if (secret) shown.textContent = "●".repeat(value.length) + "○".repeat(length - value.length);
    else shown.textContent = (value.padEnd(length, "_").match(/.{1,4}/g) || []).join("-");
    ok.disabled = value.length !== length;
  };
  const press = (k) => { if (value.length < length) { value += k; render(); } };
  const grid = h("div", { class: keys === DIGITS ? "pad digits" : "pad letters" },
    [...keys].map((k) => h("button", { type: "button", class: "key", dataset: { key: k }, onclick: () => press(k) }, k)),
    h("button", { type: "button", class: "key del", dataset: { key: "del" },
      onclick: () => { value = value.slice(0, -1); render(); } }, bi("del")));
  render();
  return h("div", { class: "pad-box" }, h("div", { class: "pad-label" }, label), shown, grid, ok);
}
