// What the tests of the CLI's figures share: a directory of their own on /dev/shm's
// tmpfs (so that other runs' objects stay out of the figures), `podshm metrics --once`
// parsed, one sample's value, and a child's exit.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { run } from '../helpers.mjs';

export const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format');
export const cli = fileURLToPath(new URL('../../dist/cjs/cli/main.js', import.meta.url));

/** A new directory on /dev/shm named after `tag`, removed when `t` ends. */
export function privateDir(t, tag) {
  const dir = fs.mkdtempSync(`/dev/shm/podshm-${tag}-`);
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** One scrape of `podshm metrics --once` over `dir`, parsed into metric families. */
export async function metricsOnce(dir) {
  const r = await run(process.execPath, [cli, 'metrics', '--once', '--dir', dir, '--no-mqueue']);
  if (r.code !== 0) throw new Error(`podshm metrics --once: ${r.code} ${r.stderr}`);
  return parsePrometheus(r.stdout);
}

/** The value of the sample of `metric` with all of `labels`; undefined if there is none. */
export function metricValue(families, metric, labels) {
  const sample = families.find((f) => f.name === metric)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels[k] === v));
  return sample === undefined ? undefined : Number(sample.value);
}

export const exited = (child) => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', resolve)));
