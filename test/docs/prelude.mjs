// Loaded into every process that runs a doc block (node --import): the parts of an
// application that the examples call without defining them, because they are the
// reader's own. Each checks what it is given, so an example passing the wrong thing
// still fails.

/** What a consumer does with a message: the examples hand it bytes. */
globalThis.handle = (msg) => {
  if (!ArrayBuffer.isView(msg)) throw new TypeError(`handle() expects bytes, got ${Object.prototype.toString.call(msg)}`);
};

/** Draws a frame into room the example got from podshm (a Reservation's bytes, a segment). */
globalThis.render = (bytes) => {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`render() expects a Uint8Array, got ${Object.prototype.toString.call(bytes)}`);
  for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i >>> 12;
};
