// Small SVG charts, written by hand: a line chart on log axes and horizontal bars (one or
// several series per category, linear or log). Every point and bar carries its data in
// data-* attributes, so a test can read back what was drawn.
'use strict';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (x) => Number(x.toFixed(2));

function logScale(values, from, to) {
  const lo = Math.floor(Math.log10(Math.min(...values)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...values))));
  const at = (v) => from + ((Math.log10(v) - lo) / (hi - lo)) * (to - from);
  const ticks = [];
  for (let e = lo; e <= hi; e++) ticks.push(10 ** e);
  return { at, ticks };
}

function linearScale(values, from, to) {
  const hi = Math.max(...values) * 1.05 || 1;
  const step = 10 ** Math.floor(Math.log10(hi / 4 || 1));
  const ticks = [];
  for (let t = 0; t <= hi; t += step * Math.ceil(hi / step / 5)) ticks.push(t);
  return { at: (v) => from + (v / hi) * (to - from), ticks };
}

function frame(width, height, title, body) {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">
<rect width="${width}" height="${height}" fill="white"/>
<text class="title" x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>
${body}</svg>
`;
}

/** series: [{ name, points: [[x, y], ...] }], both axes logarithmic. */
function lineChart({ title, xLabel, yLabel, series, xFormat = String, yFormat = String }) {
  // Room on the right for the legend's names.
  const W = 900;
  const H = 440;
  const L = 80;
  const R = 560;
  const T = 40;
  const B = 380;
  const pts = series.flatMap((s) => s.points);
  const xs = logScale(pts.map((p) => p[0]), L, R);
  const ys = logScale(pts.map((p) => p[1]), B, T);
  let body = '';
  for (const t of xs.ticks) body += `<line x1="${num(xs.at(t))}" y1="${T}" x2="${num(xs.at(t))}" y2="${B}" stroke="#ddd"/><text x="${num(xs.at(t))}" y="${B + 16}" text-anchor="middle">${esc(xFormat(t))}</text>\n`;
  for (const t of ys.ticks) body += `<line x1="${L}" y1="${num(ys.at(t))}" x2="${R}" y2="${num(ys.at(t))}" stroke="#ddd"/><text x="${L - 6}" y="${num(ys.at(t)) + 4}" text-anchor="end">${esc(yFormat(t))}</text>\n`;
  body += `<text x="${(L + R) / 2}" y="${H - 20}" text-anchor="middle">${esc(xLabel)}</text>\n`;
  body += `<text x="16" y="${(T + B) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(T + B) / 2})">${esc(yLabel)}</text>\n`;
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const path = s.points.map((p, k) => `${k ? 'L' : 'M'}${num(xs.at(p[0]))},${num(ys.at(p[1]))}`).join(' ');
    body += `<g class="series" data-name="${esc(s.name)}">\n<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>\n`;
    for (const p of s.points) body += `<circle class="point" cx="${num(xs.at(p[0]))}" cy="${num(ys.at(p[1]))}" r="3" fill="${color}" data-x="${p[0]}" data-y="${p[1]}"/>\n`;
    body += `<rect x="${R + 20}" y="${T + i * 20}" width="12" height="12" fill="${color}"/><text x="${R + 38}" y="${T + i * 20 + 11}">${esc(s.name)}</text>\n</g>\n`;
  });
  return frame(W, H, title, body);
}

/** categories: names down the left; series: [{ name, values: [one per category] }]. */
function barChart({ title, xLabel, categories, series, log = false, format = String }) {
  const L = 300;
  const R = 700;
  const T = 40;
  const row = 10 + 14 * series.length;
  const B = T + categories.length * row;
  const W = 760;
  const H = B + 60 + (series.length > 1 ? 20 : 0);
  const values = series.flatMap((s) => s.values).filter((v) => Number.isFinite(v) && v > 0);
  const xs = log ? logScale(values, L, R) : linearScale(values, L, R);
  const x0 = log ? L : xs.at(0);
  let body = '';
  for (const t of xs.ticks) body += `<line x1="${num(xs.at(t))}" y1="${T}" x2="${num(xs.at(t))}" y2="${B}" stroke="#ddd"/><text x="${num(xs.at(t))}" y="${B + 16}" text-anchor="middle">${esc(format(t))}</text>\n`;
  body += `<text x="${(L + R) / 2}" y="${B + 36}" text-anchor="middle">${esc(xLabel)}</text>\n`;
  categories.forEach((c, k) => (body += `<text x="${L - 6}" y="${T + k * row + row / 2 + 4}" text-anchor="end">${esc(c)}</text>\n`));
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    body += `<g class="series" data-name="${esc(s.name)}">\n`;
    s.values.forEach((v, k) => {
      if (!Number.isFinite(v) || v <= 0) return;
      const y = T + k * row + 5 + i * 14;
      body += `<rect class="bar" x="${num(x0)}" y="${y}" width="${num(Math.max(1, xs.at(v) - x0))}" height="12" fill="${color}" data-category="${esc(categories[k])}" data-value="${v}"/><text x="${num(xs.at(v)) + 4}" y="${y + 10}" font-size="10">${esc(format(v))}</text>\n`;
    });
    if (series.length > 1) body += `<rect x="${L + i * 110}" y="${H - 22}" width="12" height="12" fill="${color}"/><text x="${L + i * 110 + 16}" y="${H - 12}">${esc(s.name)}</text>\n`;
    body += '</g>\n';
  });
  return frame(W, H, title, body);
}

module.exports = { lineChart, barChart };
