// Opens the writer's segment (waiting until it exists), prints the greeting, and answers
// through the same memory.
const { SharedMemory, FutexWord } = require('podshm');

async function main() {
  const shm = await SharedMemory.open('example-hello', { wait: true, timeout: 30_000 });
  const words = new Int32Array(shm.buffer, 0, 2);
  const ready = new FutexWord(shm.mapping, 0);
  while (Atomics.load(words, 0) === 0) await ready.wait(0, { timeout: 30_000 });
  const text = new Uint8Array(shm.buffer, 8);
  console.log(`reader: ${Buffer.from(text.subarray(0, text.indexOf(0))).toString()}`);
  Atomics.store(words, 1, process.pid);
  new FutexWord(shm.mapping, 4).wake();
  shm.close();
}

main().catch((err) => {
  console.error(`reader: ${err.stack || err}`);
  process.exitCode = 1;
});
