// Calls with 64 in flight from one client process to one server process: calls per
// second and CPU per call when a client does not wait for one answer before the next call.
'use strict';
const r = require('./rows');

const INFLIGHT = 64;

module.exports = ({ quick, time }) =>
  quick
    ? []
    : [
        {
          title: `calls with ${INFLIGHT} in flight, 64 B, request/response on the event loop`,
          kind: 'inflight',
          p: { size: 64, inflight: INFLIGHT, ...time },
          rows: [r.service, r.http('unix'), r.grpc],
        },
      ];
