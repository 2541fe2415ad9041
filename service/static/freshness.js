// Replication freshness (DESIGN 4 "Freshness is visible"): per origin node, how far this
// node is behind (offset lag, HLC age). Polled while shown; a short history feeds the charts.

import { get } from "./api.js";
import { lagChart } from "./chart.js";
import { bi, h } from "./dom.js";

const HISTORY = 40;
const history = new Map(); // origin node → [{lag, age, at}]
let timer = null;
let listeners = new Set();

export async function sample() {
  const data = await get("/api/v1/replication/freshness");
  for (const o of data.origins) {
    const list = history.get(o.origin_node) || [];
    list.push({ lag: o.offset_lag, age: o.hlc_age_seconds, at: Date.now() });
    history.set(o.origin_node, list.slice(-HISTORY));
  }
  return data;
}

// Start polling (every `seconds`) while at least one view listens; each gets the data.
export function watch(listener, seconds = 5) {
  listeners.add(listener);
  if (!timer) {
    const tick = async () => {
      try {
        const data = await sample();
        listeners.forEach((l) => l(data, null));
      } catch (e) {
        listeners.forEach((l) => l(null, e));
      }
    };
    tick();
    timer = setInterval(tick, seconds * 1000);
  }
  return () => {
    listeners.delete(listener);
    if (!listeners.size && timer) { clearInterval(timer); timer = null; }
  };
}

export function stopAll() {
  listeners = new Set();
  if (timer) { clearInterval(timer); timer = null; }
}

function age(seconds) {
  if (seconds === null || seconds === undefined) return "不明 / unknown";
  if (seconds < 90) return `${seconds.toFixed(1)} 秒 / s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(1)} 分 / min`;
  return `${(seconds / 3600).toFixed(1)} 時間 / h`;
}

// Quiet is not late: with nothing left to apply (offset lag 0, checked recently), an origin
// is up to date however long ago its last event was. The HLC age only says how late the
// data is while records are waiting. `stale` (from the API) means the lag itself is old.
export function level(o) {
  if (o.offset_lag === null || o.offset_lag === undefined) return "unknown";
  if (o.stale) return "unchecked";
  if (o.offset_lag > 100 || (o.offset_lag > 0 && (o.hlc_age_seconds ?? 0) > 300)) return "stale";
  if (o.offset_lag > 0) return "behind";
  return "fresh";
}

const LEVEL = {
  fresh: ["最新", "up to date"],
  behind: ["遅延あり", "behind"],
  stale: ["大きく遅延", "far behind"],
  unchecked: ["確認できません", "cannot check (no recent word from the brokers)"],
  unknown: ["未受信", "never heard from"],
};

export function freshnessTable(data) {
  if (!data) return h("p", { class: "muted" }, "複製状況を取得中… / Loading replication status…");
  if (!data.origins.length) {
    return h("p", { class: "muted" }, "他ノードからの複製はありません / No other origin nodes");
  }
  return h("table", { class: "freshness" },
    h("thead", {}, h("tr", {},
      h("th", {}, bi("送信元ノード", "Origin node")), h("th", {}, bi("状態", "State")),
      h("th", {}, bi("未適用件数", "Offset lag")), h("th", {}, bi("最終受信からの経過", "Since the last event")),
      h("th", {}, bi("推移", "Trend")))),
    h("tbody", {}, data.origins.map((o) => {
      const lv = level(o);
      return h("tr", { class: `level-${lv}`, dataset: { origin: o.origin_node } },
        h("td", {}, h("code", {}, o.origin_node)),
        h("td", {}, h("span", { class: `pill ${lv}` }, bi(...LEVEL[lv]))),
        h("td", { class: "num" }, o.offset_lag === null ? "—" : `${o.offset_lag}`),
        h("td", { class: "num" }, age(o.hlc_age_seconds)),
        h("td", {}, lagChart(history.get(o.origin_node) || [])));
    })));
}
