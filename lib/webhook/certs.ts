// The serving certificate, reloaded when its files change. cert-manager (through the
// kubelet's secret volume) swaps a "..data" symlink in the directory rather than writing
// the files in place, so we watch the directories, not the files.
import { X509Certificate } from 'node:crypto';
import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';

import type { Logger } from './log';

export interface KeyPair {
  cert: Buffer;
  key: Buffer;
}

/** Reads and checks a pair (createSecureContext throws when the key does not match). */
export function loadKeyPair(certFile: string, keyFile: string): KeyPair {
  const pair = { cert: readFileSync(certFile), key: readFileSync(keyFile) };
  createSecureContext(pair);
  return pair;
}

/** Subject, expiry and fingerprint of the leaf certificate, for the logs. */
export function describeCertificate(cert: Buffer): Record<string, string> {
  const x = new X509Certificate(cert);
  return { subject: x.subject.replace(/\n/g, ', '), notAfter: x.validTo, fingerprint256: x.fingerprint256 };
}

/**
 * Logs a warning when the leaf certificate is expired or not valid yet: the API server
 * then refuses every TLS handshake, and with failurePolicy Fail no pod is admitted.
 */
export function warnIfInvalidNow(cert: Buffer, log: Logger): void {
  const x = new X509Certificate(cert);
  const now = Date.now();
  const problem = Date.parse(x.validTo) <= now ? `expired on ${x.validTo}` : Date.parse(x.validFrom) > now ? `not valid before ${x.validFrom}` : null;
  if (problem !== null) log('warn', `the serving certificate is ${problem}: API servers will refuse to connect`, describeCertificate(cert));
}

// A rotation writes several entries in a row; one reload after they settle is enough.
const SETTLE_MS = 100;

/**
 * Watches the directories of both files and calls onChange with each new valid pair.
 * A pair that does not load (a half-written rotation, a key that does not match) is
 * logged and the current one kept; the next change retries.
 */
export function watchKeyPair(certFile: string, keyFile: string, current: KeyPair, onChange: (pair: KeyPair) => void, log: Logger): { close(): void } {
  let timer: NodeJS.Timeout | undefined;
  const reload = (): void => {
    timer = undefined;
    let next: KeyPair;
    try {
      next = loadKeyPair(certFile, keyFile);
    } catch (err) {
      log('warn', 'certificate reload failed; keeping the current certificate', { error: (err as Error).message });
      return;
    }
    if (next.cert.equals(current.cert) && next.key.equals(current.key)) return;
    current = next;
    onChange(next);
    log('info', 'certificate reloaded', describeCertificate(next.cert));
    warnIfInvalidNow(next.cert, log);
  };
  const watchers: FSWatcher[] = [...new Set([dirname(certFile), dirname(keyFile)])].map((dir) =>
    watch(dir, { persistent: false }, () => {
      clearTimeout(timer);
      timer = setTimeout(reload, SETTLE_MS);
    }).on('error', (err) => log('error', 'certificate watch failed', { dir, error: err.message })),
  );
  return {
    close() {
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
