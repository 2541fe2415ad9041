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
