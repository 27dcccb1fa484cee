// A multi-producer process that is stopped (SIGSTOP, a cgroup freezer, CPU throttling)
// while it holds the reservation lock is alive: the others must not take the lock from
// it, and must not fail or block the event loop because of it. trySend() never waits;
// sendSync() waits as long as it was asked to; send() waits on the event loop.
import t from 'tap';
import { Channel } from 'podshm';
import { uniqueName } from '../helpers.mjs';
import { stoppedHolderTests } from '../stopped-holder.mjs';

stoppedHolderTests(t, {
  kind: 'channel',
  writers: 'producers',
  tryWrite: 'trySend',
  write: 'send',
  open(t) {
    const name = uniqueName('stopped-producer');
    const ch = Channel.create(name, { producers: 'multi', capacity: 4096 });
    t.teardown(() => {
      ch.close();
      Channel.unlink(name);
    });
    return { name, reader: ch.receiver(), writer: ch.sender() };
  },
});
