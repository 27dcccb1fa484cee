// Bytes no correct peer writes, through each codec: every message either decodes or is a
// CodecError holding it, and the receiver goes on with the next message. A ring is shared
// memory: what a codec decodes comes from another process.
import t from 'tap';
import fc from 'fast-check';
import { Channel, CodecError } from 'podshm';
import { testSeed, uniqueName } from '../helpers.mjs';
import { tagged } from '../codecs.mjs';

const seed = testSeed();
t.comment(`fast-check seed ${seed} (PODSHM_TEST_SEED=${seed} repeats this run)`);

for (const codec of ['json', 'v8', 'msgpackr', tagged]) {
  t.test(`${typeof codec === 'string' ? codec : 'custom'}: arbitrary bytes decode or are a CodecError, and the next message arrives`, (t) => {
    const name = uniqueName('codecfuzz');
    const ch = Channel.create(name, { capacity: 1 << 16 });
    t.teardown(() => {
      ch.close();
      Channel.unlink(name);
    });
    const raw = ch.sender();
    const rx = ch.receiver({ codec });
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 256 }),
      // A valid message's prefix: the codec's own structures, cut short.
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')).chain((b) => fc.nat(b.length).map((n) => b.subarray(0, n))),
    );
    fc.assert(
      fc.property(bytes, (message) => {
        raw.sendSync(message);
        raw.sendSync(Buffer.from('{"next":true}'));
        try {
          rx.receiveSync({ timeout: 0 });
        } catch (err) {
          if (!(err instanceof CodecError) || err.code !== 'ERR_PODSHM_DECODE') throw err;
          if (!Buffer.from(err.bytes).equals(Buffer.from(message))) throw new Error('the error does not hold the message', { cause: err });
        }
        // The next message is the one sent after it, whatever the codec made of the first.
        const next = rx.receiveViewSync({ timeout: 0 });
        return Buffer.from(next).toString() === '{"next":true}';
      }),
      { seed, numRuns: 300 },
    );
    t.pass('300 messages');
    t.end();
  });
}
