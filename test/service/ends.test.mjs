// Either side ending: a server killed with calls in flight rejects them with
// PeerGoneError; a client killed mid-call aborts its handler's signal and its ring is
// removed; a restarted server serves the same clients.
import t from 'tap';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, PeerGoneError, Service } from 'podshm';
import { run, uniqueName, until, within } from '../helpers.mjs';
import { kill, server, start } from '../service-peers.mjs';

const text = (bytes) => Buffer.from(bytes).toString();

/** A server of a new name (`first`), and a client whose first call it answered. */
async function answered(t) {
  const name = uniqueName('svc');
  const first = await server(t, name);
  const client = Client.connect(name);
  t.teardown(() => client.close());
  t.equal(text(await client.call(Buffer.from('echo:1'))), `${first.pid}:1`);
  return { name, first, client };
}

t.test('a server SIGKILLed with calls in flight: each rejects with PeerGoneError', async (t) => {
  const name = uniqueName('svc');
  const s = await server(t, name);
  const client = Client.connect(name);
  t.teardown(() => client.close());
  const calls = [1, 2, 3, 4, 5].map((i) => client.call(Buffer.from(`hold:${i}`)).catch((e) => e));
  for (let i = 1; i <= 5; i++) await s.saw(`held ${i}`);
  await kill(s);
  const errors = await within(Promise.all(calls), 'the calls ending');
  for (const err of errors) t.ok(err instanceof PeerGoneError, `${err}`);
  t.equal(client.inFlight, 0);
});

t.test('a client SIGKILLed mid-call: its handler is aborted and its ring removed', async (t) => {
  const name = uniqueName('svc');
  const s = await server(t, name);
  const c = start(t, 'service-client.mjs', [name, 'hold', 'k']);
  const ring = (await c.saw('ring ')).split(' ')[1];
  t.ok(existsSync(`/dev/shm${ring}`), 'the ring is there while the client lives');
  await s.saw('held k');
  await kill(c);
  t.equal(await s.saw('aborted k'), 'aborted k PeerGoneError');
  await until(() => !existsSync(`/dev/shm${ring}`), 'the ring removed');
  t.notOk(existsSync(`/dev/shm${ring}.bell`), 'with its bell');
  // The server goes on serving the others.
  const other = Client.connect(name);
  t.teardown(() => other.close());
  t.equal(text(await other.call(Buffer.from('echo:still'))), `${s.pid}:still`);
});

t.test('a restarted server: calls made while it is away wait for it; calls go on', async (t) => {
  const { name, first, client } = await answered(t);
  await kill(first);
  await t.rejects(client.call(Buffer.from('echo:fast'), { waitForServer: false }), PeerGoneError, 'waitForServer: false fails at once');
  const waiting = client.call(Buffer.from('echo:2'), { timeout: 60_000 });
  const second = await server(t, name);
  t.equal(text(await waiting), `${second.pid}:2`, 'the call made while no server was up is answered by the next');
  t.equal(text(await client.call(Buffer.from('echo:3'))), `${second.pid}:3`);
  // A server killed with calls in flight after the restart is heard of too.
  const held = client.call(Buffer.from('hold:h')).catch((e) => e);
  await second.saw('held h');
  await kill(second);
  t.ok((await within(held, 'the held call ending')) instanceof PeerGoneError);
});

t.test('a server killed, its ring removed and a new one made by the next server: calls go on', async (t) => {
  const { name, first, client } = await answered(t);
  await kill(first);
  Service.unlink(name);
  const second = await server(t, name);
  t.equal(text(await client.call(Buffer.from('echo:2'), { timeout: 60_000 })), `${second.pid}:2`, 'sent to the new ring, not the old one');
});

t.test('a server that closes (and removes its ring): its callers get PeerGoneError, the next server is found', async (t) => {
  const { name, first, client } = await answered(t);
  const held = client.call(Buffer.from('hold:h')).catch((e) => e);
  await first.saw('held h');
  first.child.kill('SIGTERM');
  await first.saw('closed');
  t.ok((await within(held, 'the held call ending')) instanceof PeerGoneError);
  t.notOk(existsSync(`/dev/shm${name}`), 'the request ring is gone');
  const waiting = client.call(Buffer.from('echo:2'), { timeout: 60_000 });
  const second = await server(t, name);
  t.equal(text(await waiting), `${second.pid}:2`);
});

t.test('a client killed while no server is up: podshm gc removes its ring', async (t) => {
  const dir = mkdtempSync('/dev/shm/podshm-test-svcgc-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const c = start(t, 'service-client.mjs', [uniqueName('svc'), 'hold', 'g', dir]);
  const ring = (await c.saw('ring ')).split(' ')[1];
  const cli = fileURLToPath(new URL('../../dist/cjs/cli/main.js', import.meta.url));
  const live = await run(process.execPath, [cli, 'gc', '--dir', dir, '--min-age', '0', '--json']);
  t.match(JSON.parse(live.stdout).objects, [{ name: ring, action: 'kept', reason: 'live' }], 'kept while the client lives');
  await kill(c);
  const gone = await run(process.execPath, [cli, 'gc', '--dir', dir, '--min-age', '0', '--json']);
  t.match(JSON.parse(gone.stdout).objects, [{ name: ring, kind: 'channel', action: 'removed' }]);
  t.same(readdirSync(dir), [], 'nothing left, the bell neither');
});
