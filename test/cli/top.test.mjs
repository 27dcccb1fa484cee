// `podshm top` in a real terminal (tmux): a live channel's rate and its consumer's lag
// show, a key re-sorts, q and Ctrl-C quit with status 0 and give the terminal back (the
// alternate screen left, the cursor shown). And its plain lines when stdout is a pipe.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import t from 'tap';
import { Topic } from 'podshm';
import { fixture, run, startUntil } from '../helpers.mjs';
import { cli, privateDir } from './figures.mjs';

const HANG_GUARD_MS = 60_000;

/** A tmux server of this test's own, with one 160x40 window running `command` under sh. */
function terminal(t, command) {
  const socket = `podshm-top-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const tmux = (...args) => {
    const r = spawnSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8', env: { ...process.env, TERM: 'xterm-256color' } });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  tmux('new-session', '-d', '-s', 'top', '-x', '160', '-y', '40', command);
  t.teardown(() => spawnSync('tmux', ['-L', socket, 'kill-server']));
  return {
    screen: () => tmux('capture-pane', '-p', '-t', 'top'),
    format: (f) => tmux('display-message', '-p', '-t', 'top', f).trim(),
    keys: (...k) => tmux('send-keys', '-t', 'top', ...k),
  };
}

/** Polls `probe` until it returns a value other than undefined; fails with `what` after the hang guard. */
async function until(what, probe) {
  const deadline = Date.now() + HANG_GUARD_MS;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function liveChannel(t) {
  const dir = privateDir(t, 'top');
  const name = `/top-${process.pid}`;
  await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'hold', dir, name], 'ready\n');
  await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'trickle', dir, name, '100'], 'ready\n');
  return { dir, name };
}

const topCommand = (dir) => `${process.execPath} ${cli} top --interval 0.5 --dir ${dir} --no-mqueue; echo podshm-top-exit=$?; sleep 600`;

t.test('a live channel: its rate and its consumer lag on screen; n sorts by name; q quits and restores the terminal', async (t) => {
  const { dir, name } = await liveChannel(t);
  const term = terminal(t, topCommand(dir));
  // The consumer never receives, so the lag grows with every message sent.
  const row = new RegExp(`channel\\s+${name}\\s+1p 1c\\s+([\\d.]+k?)\\s+[\\d.]+ \\S+\\s+[\\d.]+%\\s+(\\d+)\\s`);
  const [rate, lag] = await until('a row with a rate and a lag', () => {
    const m = row.exec(term.screen());
    return m && Number(m[1]) > 0 && Number(m[2]) > 0 ? [Number(m[1]), Number(m[2])] : undefined;
  });
  t.ok(rate > 0, `rate ${rate} msg/s`);
  t.ok(lag > 0, `lag ${lag} messages`);
  t.equal(term.format('#{alternate_on}'), '1', 'drawn on the alternate screen');
  t.match(term.screen(), /sorted by rate/);
  term.keys('n');
  await until('the sort by name', () => (/sorted by name/.test(term.screen()) ? true : undefined));
  term.keys('q');
  await until('top to exit', () => (/podshm-top-exit=0/.test(term.screen()) ? true : undefined));
  t.equal(term.format('#{alternate_on}'), '0', 'the alternate screen is left');
  t.equal(term.format('#{cursor_flag}'), '1', 'the cursor is shown again');
});

t.test('a live topic and a service: the topic rate and farthest lag, the calls in flight; c sorts by calls', async (t) => {
  const dir = privateDir(t, 'top');
  const topic = `/top-topic-${process.pid}`;
  const service = `/top-service-${process.pid}`;
  Topic.create(topic, { dir, capacity: 1 << 20 }).close();
  await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'topic-hold', dir, topic], 'ready\n');
  await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'topic-trickle', dir, topic, '100'], 'ready\n');
  await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'server', dir, service], 'serving\n');
  await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'client', dir, service, '0', '2'], 'called\n');
  const term = terminal(t, topCommand(dir));
  // The subscriber never receives: the topic's farthest lag grows with every message.
  const topicRow = new RegExp(`topic\\s+${topic}\\s+1p 1s\\s+([\\d.]+k?)\\s+[\\d.]+ \\S+\\s+[\\d.]+%\\s+(\\d+)\\s`);
  const [rate, lag] = await until('a topic row with a rate and a lag', () => {
    const m = topicRow.exec(term.screen());
    return m && Number(m[1]) > 0 && Number(m[2]) > 0 ? [Number(m[1]), Number(m[2])] : undefined;
  });
  t.ok(rate > 0 && lag > 0, `topic: ${rate} msg/s, lag ${lag} messages`);
  t.match(term.screen(), new RegExp(`service\\s+${service}\\s+1w 1cl\\s.*\\s2\\s`), 'the service: a worker, a client, two calls in flight');
  term.keys('c');
  await until('the sort by calls', () => (/sorted by calls/.test(term.screen()) ? true : undefined));
  const lines = term.screen().split('\n');
  // Two in flight each, a tie ordered by kind and name; objects with no calls after them.
  t.match(lines[2], /^client\s.*\s2\s/, 'sorted by calls: the client first');
  t.match(lines[3], /^service\s.*\s2\s/, 'then its service');
  term.keys('q');
  await until('top to exit', () => (/podshm-top-exit=0/.test(term.screen()) ? true : undefined));
});

t.test('Ctrl-C quits cleanly too', async (t) => {
  const dir = privateDir(t, 'top');
  const term = terminal(t, topCommand(dir));
  // Any count: System V segments other runs on this machine hold are listed too.
  await until('the first screen', () => (/podshm top .* \d+ objects?/.test(term.screen()) ? true : undefined));
  term.keys('C-c');
  await until('top to exit', () => (/podshm-top-exit=0/.test(term.screen()) ? true : undefined));
  t.equal(term.format('#{alternate_on}'), '0');
  t.equal(term.format('#{cursor_flag}'), '1');
});

t.test('not a terminal: one plain table per refresh, names escaped, then exit', async (t) => {
  const { dir, name } = await liveChannel(t);
  fs.writeFileSync(`${dir}/evil\x1b[2Jname`, '');
  const r = await run(process.execPath, [cli, 'top', '--iterations', '2', '--interval', '0.5', '--sort', 'lag', '--dir', dir, '--no-mqueue']);
  t.equal(r.code, 0, r.stderr);
  t.notOk(r.stdout.includes('\x1b'), 'no escape sequence reaches the output');
  const tables = r.stdout.split(/^podshm top /m).filter(Boolean);
  t.equal(tables.length, 2, 'two refreshes');
  t.match(tables[0], /rates from the next refresh/);
  t.match(tables[1], new RegExp(`channel\\s+${name}\\s+1p 1c\\s+[\\d.]+`));
  t.match(tables[1], /shm\s+\/evil\\x1b\[2Jname/, 'a control character in a name is shown escaped');
  t.match(tables[1].split('\n')[2], /^channel/, 'sorted by lag: the lagging channel first');
});

t.test('bad arguments: one line, exit 2', async (t) => {
  for (const [args, pattern] of [
    [['top', '--sort', 'size'], /^podshm: top: --sort must be one of name, kind, rate, bytes, fill, lag, calls, last, waits, wakeups, not 'size'/],
    [['top', '--interval', '0'], /^podshm: top: --interval must be a number of seconds from 0.1 to 3600, not '0'/],
    [['top', '-n', '1.5'], /^podshm: top: --iterations must be a whole number of at least 1, not '1.5'/],
    [['top', '--dir='], /^podshm: top: --dir needs a path/],
  ]) {
    const r = await run(process.execPath, [cli, ...args]);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, pattern);
  }
});
