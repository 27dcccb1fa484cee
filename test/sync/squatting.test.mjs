// Another user who creates a name first must not get this process's data: objects owned
// by another user are refused (EPERM) unless the caller passes allowForeignOwner.
import t from 'tap';
import { Channel, MessageQueue, Mutex, Semaphore, SharedMemory, Topic } from 'podshm';
import { fixture, run, uniqueName } from '../helpers.mjs';

// env -u NODE_OPTIONS: tap's loader would write its process info where nobody may not.
const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', '-u', 'NODE_OPTIONS'];

t.test('objects planted by another user are refused unless allowForeignOwner', async (t) => {
  if (process.getuid() !== 0) return t.skip('planting objects as another user needs root (setpriv)');
  const names = ['sem', 'mutex', 'shm', 'mq', 'chan', 'topic'].map((tag) => uniqueName(`squat-${tag}`));
  const [sem, mutex, shm, queue, channel, topic] = names;
  t.teardown(() => {
    for (const unlink of [() => Semaphore.unlink(sem), () => Mutex.unlink(mutex), () => SharedMemory.unlink(shm), () => MessageQueue.unlink(queue), () => Channel.unlink(channel), () => Topic.unlink(topic)]) {
      try {
        unlink();
      } catch {}
    }
  });
  const planted = await run('setpriv', [...NOBODY, process.execPath, fixture('squatter.mjs'), ...names]);
  t.equal(planted.stdout.trim(), 'planted', planted.stderr);

  const refused = { code: 'EPERM', message: /owned by uid 65534.*allowForeignOwner/ };
  t.throws(() => Semaphore.create(sem, { initial: 0, exclusive: false }), { ...refused, syscall: 'shm_open' });
  t.throws(() => Semaphore.open(sem), refused);
  t.throws(() => Mutex.create(mutex, { exclusive: false }), refused);
  t.throws(() => Mutex.open(mutex), refused);
  t.throws(() => SharedMemory.create(shm, 4096, { exclusive: false }), refused);
  t.throws(() => SharedMemory.open(shm), refused);
  t.throws(() => MessageQueue.create(queue, { exclusive: false }), { ...refused, syscall: 'mq_open' });
  t.throws(() => MessageQueue.open(queue), refused);
  t.throws(() => Channel.create(channel, { exclusive: false }), refused);
  t.throws(() => Channel.open(channel), refused);
  t.throws(() => Topic.create(topic, { exclusive: false }), refused);
  t.throws(() => Topic.open(topic), refused);
  t.throws(() => Semaphore.open(sem, { allowForeignOwner: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' });

  // Asked for: the planted objects are what the caller gets.
  const s = Semaphore.open(sem, { allowForeignOwner: true });
  t.equal(s.value, 5, 'the planted semaphore');
  s.close();
  Mutex.open(mutex, { allowForeignOwner: true }).close();
  SharedMemory.create(shm, 4096, { exclusive: false, allowForeignOwner: true }).close();
  MessageQueue.open(queue, { allowForeignOwner: true }).close();
  Channel.open(channel, { allowForeignOwner: true }).close();
  Topic.create(topic, { exclusive: false, allowForeignOwner: true }).close();
});

t.test("this user's and root's objects need no option", async (t) => {
  const name = uniqueName('squat-own');
  const s = Semaphore.create(name, { initial: 2 });
  t.teardown(() => Semaphore.unlink(name));
  const again = Semaphore.open(name);
  t.equal(again.value, 2);
  again.close();
  s.close();
});
