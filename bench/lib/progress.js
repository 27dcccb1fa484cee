// A progress bar on stderr when it is a terminal; nothing otherwise (CI logs stay quiet).
'use strict';

function progress(total, stream = process.stderr) {
  let done = 0;
  const tty = stream.isTTY === true;
  return {
    step(label) {
      done++;
      if (!tty) return;
      const width = 30;
      const filled = Math.round((done / total) * width);
      stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${label.slice(0, 60).padEnd(60)}`);
    },
    end() {
      if (tty) stream.write('\r\x1b[K');
    },
  };
}

module.exports = { progress };
