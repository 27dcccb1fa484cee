// `podshm top`: what flows through every object, refreshed like top(1): a full-screen
// view on a terminal (keys sort it, q or Ctrl-C quits and gives the terminal back),
// plain tables one after another when stdout is not a terminal.
import * as path from 'node:path';

import { UsageError } from '../core/errors';
import { DEFAULT_SHM_DIR, formatBytes } from '../capacity/limits';
import { channelRates, collectStats, type ChannelRates, type ObjectStats, type StatsSnapshot } from '../admin/stats';
import { parse, suggestion } from './args';
import { printable, table, terminalWidth } from './format';
import { EXIT, helpText } from './help';

export const summary = 'a live view of what flows through every object';

const USAGE = 'podshm top [--sort KEY] [--interval SECONDS] [--iterations N] [--dir PATH] [--no-mqueue]';

interface Row {
  o: ObjectStats;
  r: ChannelRates | undefined;
}

// Each sort order, its key on the terminal, and its value (descending, unknown last; name ascending).
const SORTS: Record<string, { key: string; value: (row: Row) => number | string | null }> = {
  name: { key: 'n', value: (row) => row.o.name },
  kind: { key: 'k', value: (row) => row.o.kind },
  rate: { key: 'r', value: (row) => rateOf(row) },
  bytes: { key: 'b', value: (row) => row.r?.bytesPerSecond ?? null },
  fill: { key: 'f', value: (row) => fill(row.o) },
  lag: { key: 'l', value: (row) => lag(row.o) },
  calls: { key: 'c', value: (row) => calls(row.o) },
  last: { key: 't', value: (row) => row.r?.lastMessageAt ?? row.o.channel?.lastMessageAt ?? null },
  waits: { key: 'w', value: (row) => row.r?.waitsPerSecond ?? null },
  wakeups: { key: 'u', value: (row) => row.r?.wakeupsPerSecond ?? null },
};

function fill(o: ObjectStats): number | null {
  const ring = o.channel ?? o.topic;
  return ring === null || ring.usedBytes === null ? null : ring.usedBytes / ring.capacity;
}

// A service's rate is its calls'; the requests (calls and cancels) are in its bytes.
const rateOf = (row: Row): number | null => (row.o.service !== null ? row.r?.callsPerSecond : row.r?.messagesPerSecond) ?? null;

// A channel's consumer lag; a topic's farthest subscriber's.
const lag = (o: ObjectStats): number | null => (o.topic !== null ? o.topic.maxLagMessages : (o.channel?.lagMessages ?? null));

// Calls in flight: a service's (its live clients'), a client's.
const calls = (o: ObjectStats): number | null => o.service?.callsInFlight ?? o.client?.callsInFlight ?? null;

function sortRows(rows: Row[], by: string): Row[] {
  const value = SORTS[by]!.value;
  const byName = (a: Row, b: Row) => (a.o.kind + a.o.name < b.o.kind + b.o.name ? -1 : 1);
  return rows.sort((a, b) => {
    const x = value(a);
    const y = value(b);
    if (x === y) return byName(a, b);
    if (x === null) return 1;
    if (y === null) return -1;
    if (typeof x === 'string' || typeof y === 'string') return x < y ? -1 : 1;
    return y - x;
  });
}

const dash = '-';
const rate = (v: number | null | undefined) => (v === null || v === undefined ? dash : v >= 10_000 ? `${(v / 1000).toFixed(0)}k` : v >= 100 ? v.toFixed(0) : v.toFixed(1));

function ago(at: number | null | undefined, now: number): string {
  if (at === null || at === undefined) return dash;
  const s = Math.max(0, (now - at) / 1000);
  return s < 1 ? '<1s' : s < 120 ? `${s.toFixed(0)}s` : s < 7200 ? `${(s / 60).toFixed(0)}m` : `${(s / 3600).toFixed(0)}h`;
}

const gone = (n: number | null, what: string) => (n ? `+${n}${what}` : '');

function peers(o: ObjectStats): string {
  const t = o.topic;
  if (t !== null) return `${t.publishersLive}p${gone(t.publishersGone, 'gone')} ${t.subscribersLive}s${gone(t.subscribersDead, 'dead')}`;
  const s = o.service;
  if (s !== null) return `${s.workers ?? '?'}w ${s.clientsLive}cl${gone(s.clientsDead, 'dead')}`;
  const c = o.channel;
  if (c === null) return o.live === null ? dash : `${o.live} live`;
  const p = c.producersLive === null ? '?p' : `${c.producersLive}p${c.producersGone ? `+${c.producersGone}gone` : ''}`;
  const k = c.consumer === 'live' ? '1c' : c.consumer === 'none' ? '0c' : `c:${c.consumer ?? '?'}`;
  return `${p} ${k}`;
}

function cells(row: Row, now: number): string[] {
  const { o, r } = row;
  const f = fill(o);
  const fillCell = f !== null ? `${(f * 100).toFixed(f > 0 && f < 0.01 ? 1 : 0)}%` : o.queuedBytes !== null ? formatBytes(o.queuedBytes) : dash;
  if (o.problem !== null) return [o.kind, printable(o.name), dash, dash, dash, dash, dash, dash, dash, dash, dash, printable(o.problem)];
  const count = (v: number | null) => (v === null ? dash : String(v));
  return [
    o.kind,
    printable(o.name),
    peers(o),
    rate(rateOf(row)),
    r?.bytesPerSecond == null ? dash : `${formatBytes(Math.round(r.bytesPerSecond))}`,
    fillCell,
    count(lag(o)),
    count(calls(o)),
    ago(r?.lastMessageAt ?? o.channel?.lastMessageAt, now),
    rate(r?.waitsPerSecond),
    rate(r?.wakeupsPerSecond),
    '',
  ];
}

const HEADER = ['KIND', 'NAME', 'PEERS', 'MSG/S', 'BYTES/S', 'FILL', 'LAG', 'CALLS', 'LAST', 'WAIT/S', 'WAKE/S', 'NOTE'];

function screen(prev: StatsSnapshot | null, next: StatsSnapshot, sort: string, width: number): string {
  const rates = prev === null ? new Map<ObjectStats, ChannelRates>() : channelRates(prev, next);
  const rows = sortRows(next.objects.map((o) => ({ o, r: rates.get(o) })), sort);
  const errors = Object.entries(next.errors).filter(([, e]) => typeof e === 'string').map(([source, e]) => `${source}: ${printable(e!)}`);
  const title = `podshm top  ${new Date(next.at).toISOString()}  ${rows.length} objects  sorted by ${sort}${prev === null ? '  (rates from the next refresh)' : ''}`;
  let lines = rows.map((row) => cells(row, next.at));
  let header = HEADER;
  if (rows.every((row) => row.o.problem === null)) {
    header = HEADER.slice(0, -1);
    lines = lines.map((cells) => cells.slice(0, -1));
  }
  const body = rows.length === 0 ? 'no objects' : table(header, lines, width, { right: [3, 4, 5, 6, 7, 8, 9, 10], shrink: [1, 11] });
  return [title.slice(0, width), ...errors, body].join('\n') + '\n';
}

const KEYS = Object.entries(SORTS).map(([name, s]) => `${s.key} ${name}`).join(', ');

export const help = helpText(
  USAGE,
  'What flows through every object, refreshed like top(1): full screen on a terminal (keys sort it, q quits), plain tables one after another otherwise.',
  [
    ['--sort KEY', `the order: ${Object.keys(SORTS).join(', ')} (default rate)`],
    ['--interval SECONDS', 'time between refreshes, 0.1 to 3600 (default 1)'],
    ['-n, --iterations N', 'stop after N refreshes (default: until q, Ctrl-C or SIGTERM)'],
    ['--dir PATH', 'the directory of POSIX shm objects: /dev/shm (the default) or where a Memory emptyDir is mounted'],
    ['--no-mqueue', 'leave out POSIX message queues'],
  ],
  '0 done (a source that cannot be listed is an error line in the view), 2 usage error, 3 any other failure',
);

export async function run(args: string[]): Promise<number> {
  const { values } = parse(
    'top',
    USAGE,
    args,
    { sort: { type: 'string' }, interval: { type: 'string' }, iterations: { type: 'string', short: 'n' }, dir: { type: 'string' }, 'no-mqueue': { type: 'boolean' } },
    'none',
  );
  let sort = values.sort ?? 'rate';
  if (!(sort in SORTS)) throw new UsageError(`top: --sort must be one of ${Object.keys(SORTS).join(', ')}, not '${sort}'${suggestion(sort, Object.keys(SORTS))} (usage: ${USAGE})`);
  const interval = Number(values.interval ?? 1);
  if (!(interval >= 0.1 && interval <= 3600)) throw new UsageError(`top: --interval must be a number of seconds from 0.1 to 3600, not '${values.interval}' (usage: ${USAGE})`);
  const iterations = values.iterations === undefined ? Infinity : Number(values.iterations);
  if (!(Number.isInteger(iterations) && iterations >= 1) && iterations !== Infinity) throw new UsageError(`top: --iterations must be a whole number of at least 1, not '${values.iterations}' (usage: ${USAGE})`);
  if (values.dir === '') throw new UsageError(`top: --dir needs a path (usage: ${USAGE})`);
  const opts = { dir: path.resolve(values.dir ?? DEFAULT_SHM_DIR), mqueue: values['no-mqueue'] !== true };

  const tty = process.stdout.isTTY === true;
  const keys = tty && process.stdin.isTTY === true;
  let prev: StatsSnapshot | null = null;
  let last: StatsSnapshot | null = null;
  let timer: NodeJS.Timeout | undefined;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));

  const draw = () => {
    if (last === null) return;
    // Plain lines are for logs and scripts: nothing is cut.
    const text = screen(prev, last, sort, tty ? terminalWidth() : Infinity);
    if (!tty) return void process.stdout.write(text + '\n');
    // What fits the screen, above the line of keys; home and clear below rather than
    // clearing first: no flicker.
    const lines = text.trimEnd().split('\n').slice(0, Math.max(1, (process.stdout.rows || 24) - 1));
    process.stdout.write(`\x1b[H${lines.join('\x1b[K\n')}\x1b[K\n\x1b[J${keys ? `keys: ${KEYS}, q quit`.slice(0, terminalWidth() - 1) : ''}`);
  };
  let count = 0;
  let failure: unknown = null;
  const tick = () => {
    try {
      prev = last;
      last = collectStats(opts);
      draw();
    } catch (err) {
      failure = err; // reported once the terminal is restored
      return finish();
    }
    if (++count >= iterations) finish();
    else timer = setTimeout(tick, interval * 1000);
  };

  const onKey = (data: Buffer) => {
    const key = data.toString('latin1');
    if (key === 'q' || key === '\x03' || key === '\x04') return finish();
    const next = Object.entries(SORTS).find(([, s]) => s.key === key);
    if (next) {
      sort = next[0];
      draw();
    }
  };
  const onSignal = () => finish();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (tty) {
    process.stdout.write('\x1b[?1049h\x1b[?25l'); // the alternate screen, no cursor
    process.stdout.on('resize', draw);
  }
  if (keys) {
    process.stdin.setRawMode(true);
    process.stdin.on('data', onKey);
    process.stdin.resume();
  }
  try {
    tick();
    await done;
  } finally {
    clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (keys) {
      process.stdin.off('data', onKey);
      process.stdin.setRawMode(false);
      process.stdin.pause();
    }
    if (tty) {
      process.stdout.off('resize', draw);
      process.stdout.write('\x1b[?25h\x1b[?1049l');
    }
  }
  if (failure !== null) throw failure;
  return EXIT.OK;
}
