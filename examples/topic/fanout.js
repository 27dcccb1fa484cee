// One publisher, three subscriber processes: each subscriber receives every message,
// and each message is written once into shared memory, whatever the number of readers.
// Run: node fanout.js
const { fork } = require('node:child_process');
const { Topic } = require('podshm');

const NAME = `example-topic-${process.pid}`;
const MESSAGES = 10;

async function subscriber(name, id) {
  const sub = Topic.open(name).subscriber();
  process.send('ready');
  let n = 0;
  for await (const msg of sub) {
    const text = Buffer.from(msg).toString();
    if (text === 'bye') break;
    n++;
  }
  console.log(`subscriber ${id}: received ${n} messages`);
  sub.close();
}

async function publisher() {
  const topic = Topic.create(NAME, { capacity: 1 << 16, subscribers: 3 });
  try {
    const children = [1, 2, 3].map((id) => fork(__filename, ['subscriber', NAME, String(id)]));
    // Subscribers attached before the first message get all of them (a late one could
    // ask for { history: n } instead).
    await Promise.all(children.map((c) => new Promise((resolve) => c.once('message', resolve))));
    const pub = topic.publisher();
    for (let i = 0; i < MESSAGES; i++) await pub.publish(Buffer.from(`message ${i}`));
    await pub.publish(Buffer.from('bye'));
    await Promise.all(children.map((c) => new Promise((resolve) => c.once('exit', resolve))));
    console.log(`publisher: ${topic.stats().messagesPublished} messages written once each`);
  } finally {
    topic.close();
    topic.unlink();
  }
}

if (process.argv[2] === 'subscriber') subscriber(process.argv[3], process.argv[4]);
else publisher();
