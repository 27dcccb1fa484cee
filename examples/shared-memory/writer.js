// Creates a segment, writes a greeting and a counter, and waits for the reader's answer.
// Run: node writer.js & node reader.js
const { SharedMemory } = require('podshm');

const shm = SharedMemory.create('example-hello', 4096);
const words = new Int32Array(shm.buffer, 0, 2);
const text = new Uint8Array(shm.buffer, 8);
text.set(Buffer.from(`hello from pid ${process.pid}`));
Atomics.store(words, 0, 1); // ready

const timer = setInterval(() => {
  if (Atomics.load(words, 1) === 0) return;
  console.log(`writer: the reader answered ${Atomics.load(words, 1)}`);
  clearInterval(timer);
  shm.close();
  shm.unlink();
}, 10);
