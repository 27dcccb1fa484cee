// The webhook under abuse: bodies nested deeper than any pod are a 400 (never a 500 with
// a stack trace in the log), and an expired certificate is a warning in the log.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { reviewAdmission } from 'podshm/webhook';
import { OPENSSL, hasOpenssl, json, makeCert, review, send, startWebhook, tempDir } from '../fixtures/webhook-lib.mjs';

if (!hasOpenssl) {
  t.plan(0, 'openssl is not installed (Debian package openssl)');
  process.exit(0);
}
const dir = tempDir(t);
const deep = (n) => '['.repeat(n) + ']'.repeat(n);
/** The review with `path`'s value replaced by 100 000 nested arrays. */
function deepen(path) {
  const body = JSON.parse(review);
  const keys = path.split('.');
  keys.slice(0, -1).reduce((o, k) => o[k], body)[keys.at(-1)] = '__DEEP__';
  return JSON.stringify(body).replace('"__DEEP__"', deep(100_000));
}
const FIELDS = ['request.subResource', 'request.operation', 'request.object.spec.containers.0.name', 'request.object.metadata.annotations', 'request.object'];

t.test('100 000-deep JSON is a 400, logged without a stack', async (t) => {
  const a = await makeCert(dir, 'deep');
  const w = await startWebhook(t, a.dir);
  for (const field of FIELDS) {
    const r = await send(w.port, a.cert, { body: deepen(field), headers: json });
    t.equal(r.status, 400, field);
    t.match(r.json.error, /nested deeper than/, field);
  }
  // A string full of brackets is not nesting.
  const body = JSON.parse(review);
  body.request.object.metadata.annotations = { note: '['.repeat(10_000) + '\\"{' };
  t.equal((await send(w.port, a.cert, { body: JSON.stringify(body), headers: json })).status, 200, 'brackets inside strings do not count');
  await w.waitLog((e) => e.msg === 'request' && e.status === 200);
  t.same(w.lines.filter((e) => e.level === 'error'), [], 'no error-level log line');
  t.notMatch(JSON.stringify(w.lines), /Maximum call stack|\bat .*\.js:\d+/, 'no stack trace logged');
});

t.test('reviewAdmission given deep values in text fields answers, never throws', async (t) => {
  for (const field of FIELDS.slice(0, 3)) {
    const body = JSON.parse(review);
    let v = [];
    for (let i = 0; i < 100_000; i++) v = [v];
    const keys = field.split('.');
    keys.slice(0, -1).reduce((o, k) => o[k], body)[keys.at(-1)] = v;
    t.equal(reviewAdmission(body).ok, true, field);
  }
});

t.test('an expired certificate is loaded with a warning', async (t) => {
  const out = join(dir, 'expired');
  const exec = promisify(execFile);
  // openssl 3.0's req has no start date: sign with `openssl ca`, which has.
  writeFileSync(join(dir, 'ca.cnf'), [
    '[ca]', 'default_ca = d', '[d]', `database = ${join(dir, 'index.txt')}`, `new_certs_dir = ${dir}`, `serial = ${join(dir, 'serial')}`,
    'default_md = sha256', 'policy = p', 'unique_subject = no', 'copy_extensions = copy', '[p]', 'commonName = supplied', '',
  ].join('\n'));
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '01\n');
  await exec('mkdir', ['-p', out]);
  await exec(OPENSSL, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(out, 'tls.key'),
    '-out', join(out, 'tls.csr'), '-subj', '/CN=expired', '-addext', 'subjectAltName=IP:127.0.0.1']);
  await exec(OPENSSL, ['ca', '-batch', '-selfsign', '-config', join(dir, 'ca.cnf'), '-keyfile', join(out, 'tls.key'), '-in', join(out, 'tls.csr'),
    '-out', join(out, 'tls.crt'), '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-notext']);
  const w = await startWebhook(t, out);
  const warned = await w.waitLog((e) => e.level === 'warn' && /certificate/.test(e.msg));
  t.match(warned.msg, /expired on Jan {2}2 00:00:00 2020 GMT/);
  t.match(warned, { subject: 'CN=expired' });
});
