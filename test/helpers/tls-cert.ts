import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A self-signed certificate and its key (PEM), for loopback TLS servers in tests. */
export interface TestCert {
  readonly key: Buffer;
  /** The certificate; pass it as `ca` to trust it. */
  readonly cert: Buffer;
}

let cached: TestCert | undefined;

/**
 * A self-signed RSA certificate made with `openssl` (valid one day) for CN=localhost with
 * subjectAltName `DNS:localhost, DNS:secure.test, DNS:proxy.test, IP:127.0.0.1, IP:::1`: trust it
 * with `ca: cert` and connect to 127.0.0.1 by address, or by one of those names through a test
 * resolver. Made once per test process and cached. Throws when openssl fails.
 */
export function testCert(): TestCert {
  if (cached !== undefined) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'trawl-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,DNS:secure.test,DNS:proxy.test,IP:127.0.0.1,IP:::1',
        '-days',
        '1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    cached = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
