// What test/core/codec*.test.mjs and test/fixtures/codec-peer.mjs send through each
// codec: a value each codec carries whole, and bytes each codec refuses to decode.

/** A codec of the user's: a 'T1' tag, then JSON; a message without the tag does not decode. */
export const tagged = {
  encode: (value) => Buffer.concat([Buffer.from('T1'), Buffer.from(JSON.stringify(value))]),
  decode: (bytes) => {
    const text = Buffer.from(bytes).toString();
    if (!text.startsWith('T1')) throw new Error('no T1 tag');
    return JSON.parse(text.slice(2));
  },
};

export const CODECS = ['json', 'v8', 'msgpackr', 'custom'];

/** The codec option for a name of CODECS. */
export const codecOf = (name) => (name === 'custom' ? tagged : name);

/** The n-th value sent through `codec`: what every codec carries, and what only it does. */
export function sample(codec, n) {
  const common = { n, text: `héllo ${n} ✓`, list: [1, 2.5, -3, null, true, 'x'], nested: { deep: [{ k: 'v' }] } };
  if (codec === 'v8') return { ...common, map: new Map([[1, 'one']]), set: new Set(['a']), when: new Date(1_700_000_000_000 + n), big: 2n ** 70n, bytes: new Uint8Array([1, 2, n]) };
  if (codec === 'msgpackr') return { ...common, when: new Date(1_700_000_000_000 + n), bytes: new Uint8Array([1, 2, n]) };
  return common;
}

/** Bytes that `codec` cannot decode. */
export const MALFORMED = {
  json: Buffer.from('{"n": 1,'),
  // A v8.serialize() stream starts with version 0xff; this one claims no version.
  v8: Buffer.from([0x01, 0x02, 0x03]),
  // An array of two that ends after its first element.
  msgpackr: Buffer.from([0x92, 0x01]),
  custom: Buffer.from('{"n": 1}'),
};
