// Dates and times as a person at a Japanese counter reads them: Japan time (JST, UTC+9,
// no daylight saving) whatever the browser's time zone, labelled "JST", and 和暦 with
// 西暦 beside it. No DOM here: tests/js/dates.test.mjs runs it under node --test.

const JST_MS = 9 * 3600 * 1000;

// [era, first day shown in it (Gregorian), its 元年]. 明治 began in 1868, but Japan used
// the old calendar until 1873: earlier dates are shown in 西暦 only.
const ERAS = [
  ["令和", "2019-05-01", 2019],
  ["平成", "1989-01-08", 1989],
  ["昭和", "1926-12-25", 1926],
  ["大正", "1912-07-30", 1912],
  ["明治", "1873-01-01", 1868],
];

const pad = (n, w = 2) => String(n).padStart(w, "0");

// The wall-clock fields in Japan of an instant (a Date or an ISO string with an offset).
export function jstParts(instant) {
  const t = instant instanceof Date ? instant.getTime() : Date.parse(instant);
  if (!Number.isFinite(t)) return null;
  const j = new Date(t + JST_MS);
  return { year: j.getUTCFullYear(), month: j.getUTCMonth() + 1, day: j.getUTCDate(),
           hour: j.getUTCHours(), minute: j.getUTCMinutes(), second: j.getUTCSeconds() };
}

// Today's date in Japan as YYYY-MM-DD (the value of an <input type=date>).
export function todayJst(now = new Date()) {
  const p = jstParts(now);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}`;
}

// "2026-12-01 17:30 JST" for an instant such as the API's received_at (UTC ISO).
export function formatJst(instant, { seconds = false } = {}) {
  const p = jstParts(instant);
  if (!p) return String(instant ?? "—");
  const time = `${pad(p.hour)}:${pad(p.minute)}${seconds ? `:${pad(p.second)}` : ""}`;
  return `${p.year}-${pad(p.month)}-${pad(p.day)} ${time} JST`;
}

function parseDate(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(iso || ""));
  return m ? { year: +m[1], month: +m[2], day: +m[3], iso: m[0] } : null;
}

// "令和8年12月1日" for "2026-12-01" (元年 for an era's first year); null before 1873.
export function wareki(isoDate) {
  const d = parseDate(isoDate);
  if (!d) return null;
  const era = ERAS.find(([, start]) => d.iso >= start);
  if (!era) return null;
  const year = d.year - era[2] + 1;
  return `${era[0]}${year === 1 ? "元" : year}年${d.month}月${d.day}日`;
}

// "令和8年12月1日（2026-12-01）": 和暦 first, 西暦 beside it; 西暦 alone if no era applies.
export function dateLabel(isoDate) {
  const w = wareki(isoDate);
  if (!isoDate) return "—";
  return w ? `${w}（${isoDate}）` : String(isoDate);
}
