// The two ends of a request/response peer as the roles (bench/lib/roles.js) use them: a
// caller, each send of which is a call whose answer goes to the role's handler, and an
// answerer, whose handler's send (if it sends) is the reply to the request at hand.
'use strict';

/** `call(m)` resolves with the answer's bytes; `close()` ends the client. */
function caller(call, close) {
  let handler = null;
  return {
    async: true,
    send(m) {
      // The last, empty call stops the server, which may close before it answers.
      if (m.length === 0) return call(m).catch(() => {});
      call(m).then((r) => handler(r, 0, r.length));
      return undefined;
    },
    onMessage(h) {
      handler = h;
    },
    close,
  };
}

/** answer(m) runs the role's handler on a request and returns its reply (undefined: none). */
function answerer() {
  let handler = null;
  let reply;
  return {
    answer(m) {
      reply = undefined;
      handler(m, 0, m.length);
      return reply;
    },
    endpoint: (close) => ({
      async: true,
      send(m) {
        reply = m;
      },
      onMessage(h) {
        handler = h;
      },
      close,
    }),
  };
}

module.exports = { caller, answerer };
