// A publisher that is stopped (SIGSTOP, a cgroup freezer, CPU throttling) while it holds
// the topic's lock is alive: the others must not take the lock from it, and must not
// fail or block the event loop because of it. tryPublish() never waits; publishSync()
// waits as long as it was asked to; publish() waits on the event loop. As for a
// channel's producers (test/channel/stopped-producer.test.mjs).
import t from 'tap';
import { Topic } from 'podshm';
import { uniqueName } from '../helpers.mjs';
import { stoppedHolderTests } from '../stopped-holder.mjs';

stoppedHolderTests(t, {
  kind: 'topic',
  writers: 'publishers',
  tryWrite: 'tryPublish',
  write: 'publish',
  open(t) {
    const name = uniqueName('stopped-publisher');
    const tp = Topic.create(name, { capacity: 4096 });
    t.teardown(() => {
      tp.close();
      Topic.unlink(name);
    });
    // Attached before any lock is held: a subscriber joins under the lock.
    return { name, reader: tp.subscriber(), writer: tp.publisher() };
  },
});
