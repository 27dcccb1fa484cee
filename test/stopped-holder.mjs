// The tests of a writer stopped (SIGSTOP, a cgroup freezer, CPU throttling) while it holds
// a ring's lock, for a channel's producers and a topic's publishers alike: the two rings
// take the same lock (test/fixtures/lock-holder.mjs), so they owe the same behaviour.
import { setTimeout as sleep } from 'node:timers/promises';
import { isStopped, start, until } from './helpers.mjs';

const enc = (s) => new TextEncoder().encode(s);
const dec = (b) => new TextDecoder().decode(b);

/** Resolves once `pid` is in the stopped state (T); a hang guard only. */
const stopped = (pid) => until(() => isStopped(pid), `process ${pid} stopping`);

/**
 * Adds the tests to `t` for one `kind` of ring ('channel' or 'topic'). `open(t)` makes one
 * (removed at teardown) and returns { name, writer, reader }; `writers` names its writers
 * ('producers'), `tryWrite` and `write` their methods that never wait and that wait on the
 * event loop ('trySend', 'send').
 */
export function stoppedHolderTests(t, { kind, open, writers, tryWrite, write }) {
  const child = (t, mode, name) => start(t, 'lock-holder.mjs', [kind, mode, name]);

  t.test(`a stopped lock holder makes other ${writers} wait, never fail`, async (t) => {
    const { name, writer, reader } = open(t);
    const holder = child(t, 'hold', name);
    await holder.saw('holding');
    await stopped(holder.child.pid);

    t.equal(writer[tryWrite](enc('try')), false, `${tryWrite} returns false at once: the holder is alive`);
    t.equal(writer.tryReserve(8), null, 'tryReserve too');

    let settled = false;
    const pending = writer[write](enc('from-async')).finally(() => (settled = true));
    await new Promise(setImmediate);
    t.notOk(settled, `${write} returned a pending promise, and the event loop runs`);

    const blocked = child(t, 'write', name);
    await blocked.saw('writing');
    // Longer than any patience a lock might allow a live holder (it was 1 s): with no
    // timeout, a writer must wait however long the holder stays stopped.
    await sleep(1500);
    t.notOk(settled, `${write} still waits`);

    holder.child.kill('SIGCONT');
    await holder.saw('released');
    await pending;
    await blocked.saw('written');
    t.same(await blocked.exited, { code: 0, signal: null }, `${write}Sync() without a timeout waited and wrote`);
    const got = [dec(reader.receiveSync({ timeout: 10_000 })), dec(reader.receiveSync({ timeout: 10_000 }))].sort();
    t.same(got, ['from-async', 'from-blocked-writer'], 'both messages arrived, once each');
    t.equal(reader.tryReceive(), null, 'and nothing else (the stopped holder wrote nothing)');
    t.same(await holder.exited, { code: 0, signal: null });
  });

  t.test('a holder killed while stopped is dead: the lock is taken over', async (t) => {
    const { name, writer, reader } = open(t);
    const holder = child(t, 'hold', name);
    await holder.saw('holding');
    await stopped(holder.child.pid);
    holder.child.kill('SIGKILL');
    await holder.exited;
    t.equal(writer[tryWrite](enc('after')), true, `${tryWrite} takes the dead holder's lock`);
    t.equal(dec(reader.receiveSync({ timeout: 10_000 })), 'after');
  });
}
