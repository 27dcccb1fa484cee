// A bare Node.js process: the baseline of the idle rows, holding nothing but its own timer.
'use strict';

module.exports = {
  problem: (kind) => (kind === 'idle' ? null : 'the bare process is only an idle baseline'),
  setup: () => ({}),
  cleanup: () => {},
  endpoint: () => ({}),
};
