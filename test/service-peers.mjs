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

/** A server of `name`, resolved once it serves. */
export async function server(t, name, ...flags) {
  // A killed server leaves its ring for the next one: the test removes it.
  t.teardown(() => {
    try {
      Service.unlink(name);
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
    }
  });
  const peer = start(t, 'service-server.mjs', [name, ...flags]);
  const line = await peer.saw('serving ');
  return { ...peer, pid: Number(line.split(' ')[1]) };
}
