// A publisher that is stopped (SIGSTOP, a cgroup freezer, CPU throttling) while it holds
// the topic's lock is alive: the others must not take the lock from it, and must not
// fail or block the event loop because of it. tryPublish() never waits; publishSync()
// waits as long as it was asked to; publish() waits on the event loop. As for a
// channel's producers (test/channel/stopped-producer.test.mjs).
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { Topic } from 'podshm';
import { isStopped, start, uniqueName, until } from '../helpers.mjs';

const enc = (s) => new TextEncoder().encode(s);
const dec = (b) => new TextDecoder().decode(b);

const child = (t, mode, name) => start(t, 'lock-holder.mjs', ['topic', mode, name]);

/** Resolves once `pid` is in the stopped state (T); a hang guard only. */
const stopped = (pid) => until(() => isStopped(pid), `process ${pid} stopping`);

function topic(t) {
  const name = uniqueName('stopped-publisher');
  const tp = Topic.create(name, { capacity: 4096 });
  t.teardown(() => {
    tp.close();
    Topic.unlink(name);
  });
  // Attached before any lock is held: a subscriber joins under the lock.
  return { name, sub: tp.subscriber(), pub: tp.publisher() };
}

t.test('a stopped lock holder makes other publishers wait, never fail', async (t) => {
  const { name, sub, pub } = topic(t);
  const holder = child(t, 'hold', name);
  await holder.saw('holding');
  await stopped(holder.child.pid);

  t.equal(pub.tryPublish(enc('try')), false, 'tryPublish returns false at once: the holder is alive');
  t.equal(pub.tryReserve(8), null, 'tryReserve too');

  let settled = false;
  const pending = pub.publish(enc('from-async')).finally(() => (settled = true));
  await new Promise(setImmediate);
  t.notOk(settled, 'publish returned a pending promise, and the event loop runs');

  const blocked = child(t, 'write', name);
  await blocked.saw('writing');
  // Longer than any patience a lock might allow a live holder: with no timeout,
  // publish must wait however long the holder stays stopped.
  await sleep(1500);
  t.notOk(settled, 'publish still waits');

  holder.child.kill('SIGCONT');
  await holder.saw('released');
  await pending;
  await blocked.saw('written');
  t.same(await blocked.exited, { code: 0, signal: null }, 'publishSync() without a timeout waited and published');
  const got = [dec(sub.receiveSync({ timeout: 10_000 })), dec(sub.receiveSync({ timeout: 10_000 }))].sort();
  t.same(got, ['from-async', 'from-blocked-writer'], 'both messages arrived, once each');
  t.equal(sub.tryReceive(), null, 'and nothing else (the stopped holder published nothing)');
  t.same(await holder.exited, { code: 0, signal: null });
});

t.test('a holder killed while stopped is dead: the lock is taken over', async (t) => {
  const { name, sub, pub } = topic(t);
  const holder = child(t, 'hold', name);
  await holder.saw('holding');
  await stopped(holder.child.pid);
  holder.child.kill('SIGKILL');
  await holder.exited;
  t.equal(pub.tryPublish(enc('after')), true, "tryPublish takes the dead holder's lock");
  t.equal(dec(sub.receiveSync({ timeout: 10_000 })), 'after');
});
