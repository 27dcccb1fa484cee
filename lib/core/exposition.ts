// The Prometheus text exposition format (version 0.0.4), written by hand: the few
// counters, gauges and one histogram podshm exports do not call for a runtime
// dependency (docs/observability.md says why). The tests read it back with a real parser.
import { printable } from './printable';

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type Labels = Record<string, string>;

export interface Sample {
  /** Appended to the family's name: '_bucket', '_sum', '_count' for a histogram; else ''. */
  suffix?: string;
  labels: Labels;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  samples: Sample[];
}

// In a label value a backslash, a double quote and a line feed are escaped; in HELP
// text, a backslash and a line feed. The format lets any other character through, so
// the control characters of a name someone else chose are written as the text `\x1b`
// (as `podshm ls` shows them): raw, they would drive the terminal of whoever reads the
// metrics (`podshm metrics --once`, curl).
const labelValue = (v: string) =>
  v
    .split('\n')
    .map(printable)
    .join('\n')
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n');
const helpText = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function number(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** The text of `families`; a family without samples is left out. */
export function exposition(families: MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    if (f.samples.length === 0) continue;
    lines.push(`# HELP ${f.name} ${helpText(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${labelValue(v)}"`);
      lines.push(`${f.name}${s.suffix ?? ''}${labels.length ? `{${labels.join(',')}}` : ''} ${number(s.value)}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** A histogram's cumulative buckets, kept in process. */
export class Histogram {
  readonly bounds: readonly number[];
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.#counts = bounds.map(() => 0);
  }

  observe(value: number): void {
    for (let i = 0; i < this.bounds.length; i++) if (value <= this.bounds[i]!) this.#counts[i]!++;
    this.#sum += value;
    this.#count++;
  }

  samples(labels: Labels = {}): Sample[] {
    return [
      ...this.bounds.map((b, i) => ({ suffix: '_bucket', labels: { ...labels, le: number(b) }, value: this.#counts[i]! })),
      { suffix: '_bucket', labels: { ...labels, le: '+Inf' }, value: this.#count },
      { suffix: '_sum', labels, value: this.#sum },
      { suffix: '_count', labels, value: this.#count },
    ];
  }
}
