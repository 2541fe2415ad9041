// A small inline SVG chart of one origin node's lag over the last samples
// (offset lag as bars, HLC age as a line), built with DOM calls (no inline script/style).

const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

export function lagChart(samples, { width = 160, height = 36 } = {}) {
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "lag-chart", role: "img" });
  const title = svg("title", {});
  const last = samples[samples.length - 1];
  title.textContent = last
    ? `遅延 ${last.lag ?? "?"} 件 / HLC ${last.age === null ? "?" : last.age.toFixed(1)} 秒 — lag ${last.lag ?? "?"} records, HLC age ${last.age === null ? "?" : last.age.toFixed(1)} s`
    : "データなし / no data";
  root.append(title);
  root.append(svg("line", { x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5, class: "axis" }));
  if (!samples.length) return root;
  const n = Math.max(samples.length, 20);
  const step = width / n;
  const maxLag = Math.max(1, ...samples.map((s) => s.lag || 0));
  const maxAge = Math.max(1, ...samples.map((s) => s.age || 0));
  samples.forEach((s, i) => {
    const x = (n - samples.length + i) * step;
    if (s.lag === null) {
      root.append(svg("rect", { x, y: 0, width: Math.max(1, step - 1), height, class: "unknown" }));
      return;
    }
    const hBar = Math.max(s.lag > 0 ? 2 : 0, (s.lag / maxLag) * (height - 4));
    root.append(svg("rect", { x, y: height - hBar, width: Math.max(1, step - 1), height: hBar, class: "lag" }));
  });
  const points = samples.map((s, i) => s.age === null ? null
    : `${((n - samples.length + i) + 0.5) * step},${height - 2 - (s.age / maxAge) * (height - 6)}`).filter(Boolean);
  if (points.length > 1) root.append(svg("polyline", { points: points.join(" "), class: "age" }));
  return root;
}

// Horizontal bars of labelled counts (集計): one row per item, the value at the bar's end.
// items: [{ label, value, cls }]; each bar also carries a <title> for screen readers.
export function barChart(items, { width = 520, row = 26, labelWidth = 190, title = "" } = {}) {
  const height = Math.max(row, items.length * row) + 4;
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "bar-chart", role: "img" });
  const caption = svg("title", {});
  caption.textContent = title;
  root.append(caption);
  const max = Math.max(1, ...items.map((i) => i.value));
  const room = width - labelWidth - 60;
  items.forEach((item, n) => {
    const y = n * row + 2;
    const label = svg("text", { x: labelWidth - 8, y: y + row * 0.65, class: "label", "text-anchor": "end" });
    label.textContent = item.label;
    const w = item.value > 0 ? Math.max(2, (item.value / max) * room) : 0;
    const bar = svg("rect", { x: labelWidth, y: y + 4, width: w, height: row - 8, class: `bar ${item.cls || ""}` });
    const tip = svg("title", {});
    tip.textContent = `${item.label}: ${item.value}`;
    bar.append(tip);
    const value = svg("text", { x: labelWidth + w + 6, y: y + row * 0.65, class: "value" });
    value.textContent = String(item.value);
    root.append(label, bar, value);
  });
  return root;
}

// Vertical bars per day: [{ day, value }], the day under each bar as M/D.
export function dayChart(days, { width = 640, height = 160, title = "" } = {}) {
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "day-chart", role: "img" });
  const caption = svg("title", {});
  caption.textContent = title;
  root.append(caption);
  root.append(svg("line", { x1: 0, y1: height - 20.5, x2: width, y2: height - 20.5, class: "axis" }));
  if (!days.length) return root;
  const step = width / Math.max(days.length, 7);
  const max = Math.max(1, ...days.map((d) => d.value));
  days.forEach((d, i) => {
    const h = (d.value / max) * (height - 40);
    const x = i * step + 2;
    const bar = svg("rect", { x, y: height - 20 - h, width: Math.max(2, step - 4), height: h, class: "bar" });
    const tip = svg("title", {});
    tip.textContent = `${d.day}: ${d.value}`;
    bar.append(tip);
    const value = svg("text", { x: x + (step - 4) / 2, y: height - 24 - h, class: "value", "text-anchor": "middle" });
    value.textContent = String(d.value);
    const [, m, dd] = d.day.split("-");
    const label = svg("text", { x: x + (step - 4) / 2, y: height - 6, class: "label", "text-anchor": "middle" });
    label.textContent = `${Number(m)}/${Number(dd)}`;
    root.append(bar, value, label);
  });
  return root;
}
