// The suite's charts, rendered from a fixed run (test/fixtures/bench-run.json) and read
// back: the SVG is well formed, and every series, point and bar holds the fixture's
// figures, placed in the order of their values.
import t from 'tap';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fixture } from '../helpers.mjs';

const require = createRequire(import.meta.url);
const { charts } = require('../../bench/lib/charts.js');
const run = JSON.parse(fs.readFileSync(fixture('bench-run.json'), 'utf8'));
const svgs = charts(run);

// Elements of an SVG document as { name, attrs, close, selfClosing }, and whether every
// opened tag is closed in order.
function parse(svg) {
  const tags = [...svg.matchAll(/<(\/?)([a-zA-Z]+)((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)>/g)].map((m) => ({
    close: m[1] === '/',
    name: m[2],
    attrs: Object.fromEntries([...m[3].matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => [a[1], a[2].replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')])),
    selfClosing: m[4] === '/',
  }));
  const stack = [];
  for (const tag of tags) {
    if (tag.selfClosing) continue;
    if (!tag.close) stack.push(tag.name);
    else if (stack.pop() !== tag.name) return { tags, balanced: false };
  }
  return { tags, balanced: stack.length === 0 };
}

// The <g class="series"> groups with the elements inside each.
function series(tags) {
  const out = [];
  let current = null;
  for (const tag of tags) {
    if (tag.name === 'g' && !tag.close && tag.attrs.class === 'series') out.push((current = { name: tag.attrs['data-name'], items: [] }));
    else if (tag.name === 'g' && tag.close) current = null;
    else if (current && !tag.close) current.items.push(tag);
  }
  return out;
}

t.same(Object.keys(svgs).sort(), ['cpu-per-message.svg', 'latency-size.svg', 'percentiles.svg', 'throughput.svg']);

t.test('every chart is a well-formed SVG document with a title', async (t) => {
  for (const [name, svg] of Object.entries(svgs)) {
    const { tags, balanced } = parse(svg);
    t.ok(balanced, `${name}: every tag is closed in order`);
    t.equal(tags[0].name, 'svg', `${name}: the root is <svg>`);
    t.ok(tags.some((x) => x.attrs.class === 'title'), `${name}: has a title`);
  }
});

t.test('latency against size: one series per measured peer, a point per size, on log axes', async (t) => {
  const got = series(parse(svgs['latency-size.svg']).tags);
  const sweep = run.groups.filter((g) => g.chart === 'latency-size');
  const names = [...new Set(sweep.flatMap((g) => g.rows.filter((r) => r.summary).map((r) => r.name)))];
  t.same(got.map((s) => s.name), names, 'a skipped row draws no series');
  for (const s of got) {
    const points = s.items.filter((x) => x.attrs.class === 'point');
    const want = sweep.flatMap((g) => g.rows.filter((r) => r.name === s.name && r.summary).map((r) => [g.p.size, r.summary.ns.median]));
    t.same(points.map((p) => [Number(p.attrs['data-x']), Number(p.attrs['data-y'])]), want, `${s.name}: the fixture's points`);
    for (let i = 1; i < points.length; i++) {
      t.ok(Number(points[i].attrs.cx) > Number(points[i - 1].attrs.cx), `${s.name}: a larger size is further right`);
    }
  }
  // Across series: a longer round trip is drawn higher (a smaller y).
  const all = got.flatMap((s) => s.items.filter((x) => x.attrs.class === 'point'));
  for (const a of all) for (const b of all) if (Number(a.attrs['data-y']) > Number(b.attrs['data-y'])) t.ok(Number(a.attrs.cy) < Number(b.attrs.cy));
});

t.test('throughput and CPU bars: one bar per row, longer for a larger value', async (t) => {
  const group = run.groups.find((g) => g.chart === 'throughput');
  for (const [file, key] of [['throughput.svg', 'msgPerSec'], ['cpu-per-message.svg', 'cpuUsPerMsg']]) {
    const [s] = series(parse(svgs[file]).tags);
    const bars = s.items.filter((x) => x.attrs.class === 'bar');
    t.same(bars.map((b) => [b.attrs['data-category'], Number(b.attrs['data-value'])]), group.rows.map((r) => [r.name, r.summary[key].median]), file);
    const sorted = [...bars].sort((a, b) => Number(a.attrs['data-value']) - Number(b.attrs['data-value']));
    for (let i = 1; i < sorted.length; i++) t.ok(Number(sorted[i].attrs.width) > Number(sorted[i - 1].attrs.width), `${file}: widths follow values`);
  }
});

t.test('percentiles: p50, p99 and p99.9 for each peer', async (t) => {
  const group = run.groups.find((g) => g.chart === 'percentiles');
  const got = series(parse(svgs['percentiles.svg']).tags);
  t.same(got.map((s) => s.name), ['p50', 'p99', 'p99.9']);
  for (const [s, key] of got.map((s, i) => [s, ['p50', 'p99', 'p999'][i]])) {
    t.same(s.items.filter((x) => x.attrs.class === 'bar').map((b) => Number(b.attrs['data-value'])), group.rows.map((r) => r.summary[key].median), s.name);
  }
});
