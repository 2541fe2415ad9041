// The kiosk's DOM helpers: elements come from the counter UI's builder (no markup from
// data); here the bilingual label (Japanese first, English beside) and furigana for
// やさしい日本語.

import { h } from "./counter/dom.js";
import { W } from "./words.js";

export { h };

let easy = false;
export const setEasy = (on) => { easy = on; };
export const isEasy = () => easy;


// "漢字{かんじ}" → <ruby>漢字<rt>かんじ</rt></ruby>; the rest stays text.
export function ruby(text) {
  const out = [];
  const re = /([\u3400-\u9fff々]+)\{([^}]+)\}/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    out.push(text.slice(last, m.index), h("ruby", {}, m[1], h("rt", {}, m[2])));
    last = m.index + m[0].length;
  }
  out.push(text.slice(last));
  return out;
}

// A label: Japanese (or やさしい日本語 with furigana) first, English beside it.
export function bi(key, extra = "") {
  const w = typeof key === "string" ? W[key] : key;
  const ja = easy && w.easy ? ruby(w.easy) : w.ja;
  return h("span", { class: "bi" }, h("span", { class: "ja", lang: "ja" }, extra, ja),
    h("span", { class: "en", lang: "en" }, w.en));
}

// A pair of plain [ja, en] (e.g. a damage class), or [ja, en, easy].
export function pair([ja, en, easyText]) {
  return bi({ ja, en, easy: easyText });
}

export function big(key, attrs = {}) {
  return h("button", { type: "button", class: "big", ...attrs }, bi(key));
}
