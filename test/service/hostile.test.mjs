// Records no correct peer writes: each is a typed error reported where it was read,
// and the reader goes on serving (or calling) for everyone else.
import t from 'tap';
import { Channel, Client } from 'podshm';
import { uniqueName } from '../helpers.mjs';
import { server } from '../service-peers.mjs';

const text = (bytes) => Buffer.from(bytes).toString();

/** A request header as lib/service/protocol.ts lays it out, with the fields given. */
function request({ magic = 0x50535251, kind = 1, client = '00112233445566aa', callId = 7, reserved = 0, deadline = 0, payload = 0 }) {
  const b = new Uint8Array(32 + payload);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, magic, true);
  dv.setUint32(4, kind, true);
  b.set(Buffer.from(client, 'hex'), 8);
  dv.setUint32(16, callId, true);
  dv.setUint32(20, reserved, true);
  dv.setFloat64(24, deadline, true);
  return b;
}

t.test('garbage in the request ring: a typed error each, and the server serves on', async (t) => {
  const name = uniqueName('svc');
  const s = await server(t, name);
  const ring = Channel.open(name);
  t.teardown(() => ring.close());
  const tx = ring.sender();
  const garbage = [
    new Uint8Array(5),
    request({ magic: 0xdeadbeef }),
    request({ kind: 9 }),
    request({ reserved: 1 }),
    request({ deadline: NaN }),
    request({ deadline: -1 }),
    request({ kind: 2, payload: 4 }),
  ];
  for (const g of garbage) tx.sendSync(g);
  tx.sendSync(request({})); // a call from a client that has no ring
  tx.sendSync(request({ kind: 2 })); // a cancel of a call nobody made: nothing to do
  tx.close();
  const client = Client.connect(name);
  t.teardown(() => client.close());
  t.equal(text(await client.call(Buffer.from('echo:after the garbage'))), `${s.pid}:after the garbage`);
  // Records are taken in order, and the server says what it found in order: once the
  // last one's error has come through its stdout, every other has.
  await s.saw('error SystemError ENOENT');
  const errors = s.seen.filter((l) => l.startsWith('error '));
  t.same(errors, [...garbage.map(() => 'error ServiceRecordError ERR_PODSHM_CORRUPT'), 'error SystemError ENOENT']);
});

t.test('garbage in a response ring: the client reports it and calls on', async (t) => {
  const name = uniqueName('svc');
  const errors = [];
  const client = Client.connect(name, { onError: (err) => errors.push(err) });
  t.teardown(() => client.close());
  // Before any server attaches, another producer writes what no server writes.
  const ring = Channel.open(`${name}.client.${client.id}`);
  const tx = ring.sender();
  tx.sendSync(new Uint8Array(3));
  tx.sendSync(new Uint8Array(16).fill(0xff));
  tx.close();
  ring.close();
  const s = await server(t, name);
  t.equal(text(await client.call(Buffer.from('echo:fine'))), `${s.pid}:fine`);
  t.match(errors, [
    { name: 'ServiceRecordError', code: 'ERR_PODSHM_CORRUPT', message: /shorter than its 16-byte header/ },
    { name: 'ServiceRecordError', code: 'ERR_PODSHM_CORRUPT', message: /bad magic/ },
  ]);
});
