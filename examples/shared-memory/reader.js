// Opens the writer's segment, prints the greeting, and answers through the same memory.
const { SharedMemory } = require('podshm');

function openWhenThere() {
  for (;;) {
    try {
      return SharedMemory.open('example-hello');
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}

const shm = openWhenThere();
const words = new Int32Array(shm.buffer, 0, 2);
while (Atomics.load(words, 0) === 0);
const text = new Uint8Array(shm.buffer, 8);
console.log(`reader: ${Buffer.from(text.subarray(0, text.indexOf(0))).toString()}`);
Atomics.store(words, 1, process.pid);
shm.close();
