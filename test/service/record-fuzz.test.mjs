// Property (fast-check): whatever another producer of a service's rings writes as a
// request or a response record (any magic, kind, ids, reserved word, deadline, length),
// the server and the client report it, if at all, as a PodshmError through onError, and
// go on answering and calling. The records' headers are lib/service/protocol.ts's.
// PODSHM_FUZZ_SEED=<seed> repeats a run; PODSHM_FUZZ_RUNS sets the cases per ring.
import fc from 'fast-check';
import t from 'tap';
import { Channel, Client, PodshmError, Service } from 'podshm';
import { uniqueName } from '../helpers.mjs';

const seed = process.env.PODSHM_FUZZ_SEED === undefined ? (Date.now() ^ (Math.random() * 2 ** 31)) | 0 : Number(process.env.PODSHM_FUZZ_SEED);
const numRuns = Number(process.env.PODSHM_FUZZ_RUNS ?? 60);
// A hang guard per case, far above what one takes (a call on this machine's rings).
const CASE_LIMIT_MS = 5000;
const REQUEST_MAGIC = 0x50535251;
const RESPONSE_MAGIC = 0x50535253;

const u32 = fc.oneof(fc.constantFrom(0, 1, 2, 3, 255, 2 ** 31, 2 ** 32 - 1), fc.nat({ max: 2 ** 32 - 1 }));
const deadline = fc.oneof(fc.constantFrom(0, -1, NaN, Infinity, -Infinity, Date.now() + 60_000), fc.double());
const tail = fc.uint8Array({ maxLength: 64 });
/** A request record: mostly well-formed words with hostile values, sometimes cut short. */
const request = fc.record({
  magic: fc.oneof(fc.constant(REQUEST_MAGIC), u32),
  kind: fc.oneof(fc.constantFrom(1, 2), u32),
  client: fc.uint8Array({ minLength: 8, maxLength: 8 }),
  callId: u32,
  reserved: fc.oneof(fc.constant(0), u32),
  deadline,
  payload: tail,
  cut: fc.oneof(fc.constant(Infinity), fc.nat({ max: 40 })),
});
const response = fc.record({
  magic: fc.oneof(fc.constant(RESPONSE_MAGIC), u32),
  kind: fc.oneof(fc.constantFrom(1, 2), u32),
  callId: u32,
  reserved: fc.oneof(fc.constant(0), u32),
  payload: tail,
  cut: fc.oneof(fc.constant(Infinity), fc.nat({ max: 24 })),
});

function requestBytes(r) {
  const b = new Uint8Array(32 + r.payload.length);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, r.magic, true);
  dv.setUint32(4, r.kind, true);
  b.set(r.client, 8);
  dv.setUint32(16, r.callId, true);
  dv.setUint32(20, r.reserved, true);
  dv.setFloat64(24, r.deadline, true);
  b.set(r.payload, 32);
  return b.subarray(0, Math.min(b.length, r.cut));
}

function responseBytes(r) {
  const b = new Uint8Array(16 + r.payload.length);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, r.magic, true);
  dv.setUint32(4, r.kind, true);
  dv.setUint32(8, r.callId, true);
  dv.setUint32(12, r.reserved, true);
  b.set(r.payload, 16);
  return b.subarray(0, Math.min(b.length, r.cut));
}

t.comment(`service record fuzz: fast-check seed ${seed} (PODSHM_FUZZ_SEED=${seed} repeats it), ${numRuns} cases per ring`);

t.test('scribbled records: typed reports, and calls still answered', async (t) => {
  const name = uniqueName('svc-fuzz');
  const untyped = [];
  const onError = (err) => {
    if (!(err instanceof PodshmError)) untyped.push(`${err?.constructor?.name}: ${err?.message}`);
  };
  const service = Service.serve(name, (req) => req, { capacity: 16384, onError });
  t.teardown(() => service.close());
  const client = Client.connect(name, { capacity: 16384, onError });
  t.teardown(() => client.close());
  const requests = Channel.open(name);
  t.teardown(() => requests.close());
  const toServer = requests.sender();
  let n = 0;
  const call = async (c) => {
    const body = new TextEncoder().encode(`call ${n++}`);
    t.same(new Uint8Array(await c.call(body, { timeout: CASE_LIMIT_MS })), body);
  };
  const check = (ring, arb, write) =>
    fc.check(
      fc.asyncProperty(fc.array(arb, { minLength: 1, maxLength: 4 }), async (records) => {
        const start = performance.now();
        await write(records);
        if (untyped.length > 0) throw new Error(`an untyped report: ${untyped[0]}`);
        const ms = performance.now() - start;
        if (ms > CASE_LIMIT_MS) throw new Error(`a case took ${Math.round(ms)} ms (a hang guard of ${CASE_LIMIT_MS} ms)`);
      }),
      { seed, numRuns, endOnFailure: true },
    );
  const report = (ring, out) => t.notOk(out.failed, out.failed ? `${ring}: ${out.errorInstance?.message}; ${fc.defaultReportMessage(out)}` : `${ring} records: ${out.numRuns} cases, every call answered`);

  // Into the request ring, beside the real client: then that client calls.
  report('request', await check('request', request, async (records) => {
    for (const r of records) await toServer.send(requestBytes(r), { timeout: CASE_LIMIT_MS });
    await call(client);
  }));
  // Into a new client's response ring before the server attaches to it (its only
  // producer: a single-producer ring), as hostile.test.mjs does: then it calls.
  report('response', await check('response', response, async (records) => {
    const c = Client.connect(name, { capacity: 16384, onError });
    try {
      const ring = Channel.open(`${name}.client.${c.id}`);
      const tx = ring.sender();
      for (const r of records) tx.sendSync(responseBytes(r), { timeout: CASE_LIMIT_MS });
      tx.close();
      ring.close();
      // A forged answer to the call id the first call gets is an answer, as far as any
      // reader can tell: that call may end with it (a RemoteError is a PodshmError), but
      // must end; every forged record is read by then, so the next call is answered.
      await c.call(Uint8Array.of(1), { timeout: CASE_LIMIT_MS }).catch((err) => {
        if (!(err instanceof PodshmError)) throw err;
      });
      await call(c);
    } finally {
      c.close();
    }
  }));
  toServer.close();
});
