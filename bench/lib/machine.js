// What the figures were measured on.
'use strict';
const os = require('node:os');

function machine(command) {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown CPU',
    cores: os.cpus().length,
    kernel: os.release(),
    node: process.version,
    date: new Date().toISOString(),
    command,
    pid: process.pid,
  };
}

module.exports = { machine };
