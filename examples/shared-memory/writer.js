// Creates a segment, writes a greeting, raises a flag and waits for the reader's answer.
// Run: node writer.js & node reader.js (in either order)
const { SharedMemory, FutexWord } = require('podshm');

async function main() {
  const shm = SharedMemory.create('example-hello', 4096);
  const words = new Int32Array(shm.buffer, 0, 2); // [0]: greeting ready, [1]: the reader's pid
  const text = new Uint8Array(shm.buffer, 8);
  text.set(Buffer.from(`hello from pid ${process.pid}`));
  Atomics.store(words, 0, 1);
  new FutexWord(shm.mapping, 0).wake(); // a reader may already wait on the flag

  // Waits on the event loop (the futex is shared between processes) until word 1 changes.
  const answer = new FutexWord(shm.mapping, 4);
  while (Atomics.load(words, 1) === 0) await answer.wait(0, { timeout: 30_000 });
  console.log(`writer: the reader answered ${Atomics.load(words, 1)}`);
  shm.unlink();
  shm.close();
}

main().catch((err) => {
  console.error(`writer: ${err.stack || err}`);
  process.exitCode = 1;
});
