// Hand-written SVG charts: a line chart with an optional threshold line, and grouped bars.
// They scale with their container (viewBox); labels stay readable on a phone. A chart meant
// for the full width of the page takes a wider `width` (its viewBox), so its text keeps its size.
"use strict";

const CHART = { width: 640, height: 260, left: 48, right: 16, top: 16, bottom: 40 };

function scaleY(value, max) {
  const span = CHART.height - CHART.top - CHART.bottom;
  return CHART.top + span - (span * Math.max(0, Math.min(value, max))) / max;
}

function scaleX(index, count, width = CHART.width) {
  const span = width - CHART.left - CHART.right;
  return count <= 1 ? CHART.left + span / 2 : CHART.left + (span * index) / (count - 1);
}

// Bars stand in slots: their labels go under the slots' middles (`slots`), a line's under its points.
function axes(max, unit, labels, width = CHART.width, slots = false) {
  const slot = (width - CHART.left - CHART.right) / Math.max(labels.length, 1);
  const parts = [];
  for (let i = 0; i <= 4; i += 1) {
    const value = (max * i) / 4;
    const y = scaleY(value, max);
    parts.push(s("line", { class: "gridline", x1: CHART.left, x2: width - CHART.right, y1: y, y2: y }));
    parts.push(s("text", { class: "tick", x: CHART.left - 6, y: y + 4, "text-anchor": "end" },
      `${Math.round(value * 10) / 10}${unit}`));
  }
  // As many labels as fit (about 7.5 units a character), at most 8.
  const longest = Math.max(1, ...labels.map((label) => String(label).length));
  const fit = Math.max(2, Math.floor((width - CHART.left - CHART.right) / (longest * 7.5 + 14)));
  const step = Math.max(1, Math.ceil(labels.length / Math.min(8, fit)));
  labels.forEach((label, i) => {
    if ((labels.length - 1 - i) % step !== 0) return; // aligned on the latest label
    const last = i === labels.length - 1 && labels.length > 1 && !slots;
    parts.push(s("text", {
      class: "tick", x: slots ? CHART.left + slot * (i + 0.5) : scaleX(i, labels.length, width),
      y: CHART.height - CHART.bottom + 18, "text-anchor": last ? "end" : "middle",
    }, label));
  });
  return parts;
}

// series: [{name, cls, values: [number|null]}]; labels: x labels; threshold: {value, label}.
function lineChart({ id, title, labels, series, max, unit, threshold, width = CHART.width }) {
  const top = Math.max(
    max || 0,
    ...series.flatMap((line) => line.values.filter((v) => v !== null)),
    threshold ? threshold.value * 1.1 : 0,
    1,
  );
  const svg = s("svg", {
    id, class: width > CHART.width ? "chart wide" : "chart", viewBox: `0 0 ${width} ${CHART.height}`,
    role: "img", "aria-label": title,
  }, s("title", {}, title), axes(top, unit || "", labels, width));
  if (threshold) {
    const y = scaleY(threshold.value, top);
    svg.append(
      s("line", { class: "threshold", x1: CHART.left, x2: width - CHART.right, y1: y, y2: y }),
      s("text", { class: "threshold-label", x: width - CHART.right, y: y - 6, "text-anchor": "end" },
        threshold.label),
    );
  }
  for (const line of series) {
    const coords = line.values.map((v, i) => (v === null ? null : [scaleX(i, labels.length, width), scaleY(v, top)]));
    const drawn = coords.filter(Boolean);
    if (drawn.length > 1) {
      svg.append(s("polyline", { class: `series ${line.cls}`, points: drawn.map((p) => p.join(",")).join(" ") }));
    }
    coords.forEach((p, i) => {
      if (!p) return;
      svg.append(s("circle", { class: `point ${line.cls}`, cx: p[0], cy: p[1], r: 4 },
        s("title", {}, `${line.name} ${labels[i]}: ${line.values[i]}${unit || ""}`)));
    });
  }
  return h("figure", { class: "chart-box" }, svg, legend(series, threshold));
}

// groups: x labels; series: [{name, cls, values}]; `counts`: whole numbers on the axis.
function barChart({ id, title, labels, series, unit, width = CHART.width, counts = false }) {
  const highest = Math.max(1, ...series.flatMap((b) => b.values.filter((v) => v !== null)));
  const top = counts ? Math.ceil(highest / 4) * 4 : highest; // four gridline steps
  const svg = s("svg", {
    id, class: width > CHART.width ? "chart wide" : "chart", viewBox: `0 0 ${width} ${CHART.height}`,
    role: "img", "aria-label": title,
  }, s("title", {}, title), axes(top, unit || "", labels, width, true));
  const slot = (width - CHART.left - CHART.right) / Math.max(labels.length, 1);
  const barWidth = Math.max(1, (slot * 0.8) / series.length);
  labels.forEach((label, i) => {
    series.forEach((bar, j) => {
      const value = bar.values[i];
      if (value === null || value === 0) return;
      const y = scaleY(value, top);
      const x = CHART.left + slot * i + slot * 0.1 + barWidth * j;
      svg.append(s("rect", {
        class: `bar ${bar.cls}`, x, y, width: barWidth, height: CHART.height - CHART.bottom - y,
      }, s("title", {}, `${bar.name} ${label}: ${value}${unit || ""}`)));
    });
  });
  return h("figure", { class: "chart-box" }, svg, legend(series));
}

// Horizontal bars of one reading: [{label, value, note}], value on a 0..max scale.
function hbarChart({ id, title, items, max }) {
  const row = 22;
  const height = items.length * row + 8;
  const labelWidth = 150;
  const span = CHART.width - labelWidth - 150;
  const svg = s("svg", {
    id, class: "chart hbars", viewBox: `0 0 ${CHART.width} ${height}`, role: "img", "aria-label": title,
  }, s("title", {}, title));
  items.forEach((item, i) => {
    const y = 4 + i * row;
    const w = Math.max(0, (span * item.value) / max);
    svg.append(
      s("text", { class: "tick", x: labelWidth - 6, y: y + 14, "text-anchor": "end" }, item.label),
      s("rect", { class: "bar contribution", x: labelWidth, y: y + 3, width: w, height: row - 8 },
        s("title", {}, `${item.label}: ${item.note}`)),
      s("text", { class: "tick", x: labelWidth + w + 6, y: y + 14 }, item.note),
    );
  });
  return h("figure", { class: "chart-box" }, svg);
}

function legend(series, threshold) {
  return h("figcaption", { class: "legend" },
    series.map((line) => h("span", { class: `key ${line.cls}` }, line.name)),
    threshold ? h("span", { class: "key threshold" }, threshold.label) : null);
}
