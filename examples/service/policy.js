// The sidecar: a rate limiter that the application asks before each request it serves.
// Each caller may make `LIMIT` requests per second; the answer is 'allow' or 'deny'.
const { Service } = require('podshm');

const LIMIT = 5;
const seen = new Map(); // caller -> times of its recent requests

const service = Service.serve('example-policy', (request) => {
  const caller = Buffer.from(request).toString();
  if (caller.length === 0) throw Object.assign(new Error('no caller named'), { code: 'EINVAL' });
  const now = Date.now();
  const recent = (seen.get(caller) ?? []).filter((t) => now - t < 1000);
  const allow = recent.length < LIMIT;
  if (allow) recent.push(now);
  seen.set(caller, recent);
  return Buffer.from(allow ? 'allow' : 'deny');
});
console.log('policy: serving example-policy');

process.on('SIGINT', () => {
  service.close();
  process.exit(0);
});
