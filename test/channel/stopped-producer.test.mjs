// A multi-producer process that is stopped (SIGSTOP, a cgroup freezer, CPU throttling)
// while it holds the reservation lock is alive: the others must not take the lock from
// it, and must not fail or block the event loop because of it. trySend() never waits;
// send() waits as long as it was asked to; send() waits on the event loop.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { Channel } from 'podshm';
import { isStopped, start, uniqueName, until } from '../helpers.mjs';

const enc = (s) => new TextEncoder().encode(s);
const dec = (b) => new TextDecoder().decode(b);

const child = (t, mode, name) => start(t, 'lock-holder.mjs', ['channel', mode, name]);

/** Resolves once `pid` is in the stopped state (T); a hang guard only. */
const stopped = (pid) => until(() => isStopped(pid), `process ${pid} stopping`);

function channel(t) {
  const name = uniqueName('stopped-producer');
  const ch = Channel.create(name, { producers: 'multi', capacity: 4096 });
  t.teardown(() => {
    ch.close();
    Channel.unlink(name);
  });
  return { name, ch, rx: ch.receiver(), tx: ch.sender() };
}

t.test('a stopped lock holder makes others wait, never fail', async (t) => {
  const { name, rx, tx } = channel(t);
  const holder = child(t, 'hold', name);
  await holder.saw('holding');
  await stopped(holder.child.pid);

  t.equal(tx.trySend(enc('try')), false, 'trySend returns false at once: the holder is alive');
  t.equal(tx.tryReserve(8), null, 'tryReserve too');

  let settled = false;
  const pending = tx.send(enc('from-async')).finally(() => (settled = true));
  await new Promise(setImmediate);
  t.notOk(settled, 'send returned a pending promise, and the event loop runs');

  const blocked = child(t, 'write', name);
  await blocked.saw('writing');
  // Longer than any patience a lock might allow a live holder (it was 1 s): with no
  // timeout, send() must wait however long the holder stays stopped.
  await sleep(1500);
  t.notOk(settled, 'send still waits');

  holder.child.kill('SIGCONT');
  await holder.saw('released');
  await pending;
  await blocked.saw('written');
  t.same(await blocked.exited, { code: 0, signal: null }, 'send() without a timeout waited and sent');
  const got = [dec(rx.receiveSync({ timeout: 10_000 })), dec(rx.receiveSync({ timeout: 10_000 }))].sort();
  t.same(got, ['from-async', 'from-blocked-writer'], 'both messages arrived, once each');
  t.equal(rx.tryReceive(), null, 'and nothing else (the stopped holder sent nothing)');
  t.same(await holder.exited, { code: 0, signal: null });
});

t.test('a holder killed while stopped is dead: the lock is taken over', async (t) => {
  const { name, rx, tx } = channel(t);
  const holder = child(t, 'hold', name);
  await holder.saw('holding');
  await stopped(holder.child.pid);
  holder.child.kill('SIGKILL');
  await holder.exited;
  t.equal(tx.trySend(enc('after')), true, 'trySend takes the dead holder\'s lock');
  t.equal(dec(rx.receiveSync({ timeout: 10_000 })), 'after');
});
