// The processes of test/service/*.test.mjs: a server or client fixture whose output
// lines are waited for (handshakes: a test acts only once the peer says it is there).
import { Service } from 'podshm';
import { start } from './helpers.mjs';

export { start };

/** Kills a fixture with SIGKILL and resolves once it is gone. */
export function kill(peer) {
  peer.child.kill('SIGKILL');
  return peer.exited;
}

/**
 * Starts the server fixture `script` of `name`, resolved with its pid once it says `line`
 * (followed by its pid).
 */
async function serverFixture(t, script, line, name, args) {
  // A killed server leaves its ring for the next one: the test removes it.
  t.teardown(() => {
    try {
      Service.unlink(name);
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
    }
  });
  const peer = start(t, script, [name, ...args]);
  const said = await peer.saw(line);
  return { ...peer, pid: Number(said.split(' ')[1]) };
}

/** A server of `name`, resolved once it serves. */
export const server = (t, name, ...flags) => serverFixture(t, 'service-server.mjs', 'serving ', name, flags);

/** A Service.serveSync() server of `name`, resolved once it starts (before its ring is made). */
export const syncServer = (t, name, ...args) => serverFixture(t, 'service-sync-server.mjs', 'starting ', name, args);
