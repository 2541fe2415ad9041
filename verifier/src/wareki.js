// Dates as a person reads them in Japan: 和暦 with 西暦 beside it, times in JST.

const ERAS = [
  ["令和", "2019-05-01"],
  ["平成", "1989-01-08"],
  ["昭和", "1926-12-25"],
];

/** "令和6年1月10日（2024-01-10）" for an ISO date "YYYY-MM-DD". */
export function warekiDate(iso) {
  const [y, m, d] = iso.split("-").map(Number);
  const era = ERAS.find(([, start]) => iso >= start);
  if (!era) return iso;
  const year = y - Number(era[1].slice(0, 4)) + 1;
  return `${era[0]}${year === 1 ? "元" : year}年${m}月${d}日（${iso}）`;
}

/** "2024-01-10 18:00 JST" for epoch seconds. */
export function jstTime(epoch) {
  const t = new Date((epoch + 9 * 3600) * 1000).toISOString();
  return `${t.slice(0, 10)} ${t.slice(11, 16)} JST`;
}

/** An age in words: "3時間前 / 3 h ago", "2日前 / 2 days ago". */
export function ageText(seconds) {
  if (seconds < 0) return ["未来の日時", "dated in the future"];
  const hours = seconds / 3600;
  if (hours < 1) return [`${Math.max(1, Math.round(seconds / 60))}分前`, `${Math.max(1, Math.round(seconds / 60))} min ago`];
  if (hours < 48) return [`${Math.round(hours)}時間前`, `${Math.round(hours)} h ago`];
  return [`${Math.round(hours / 24)}日前`, `${Math.round(hours / 24)} days ago`];
}
