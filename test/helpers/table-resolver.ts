import type { LookupAddress } from 'node:dns';
import type { Resolver } from '../../src/crawl/fetch/ssrf.js';

/**
 * An injected resolver for SSRF tests: a fixed table from name to addresses (IPv6 when the
 * address has a colon); an unknown name fails like getaddrinfo's ENOTFOUND. Each lookup's name is
 * appended to `calls`. A name a test connects to must map to loopback; other addresses belong only
 * in tests of the policy refusing them before any connection.
 */
export function tableResolver(
  table: Record<string, string | readonly string[]>,
  calls: string[] = [],
): Resolver {
  return (host, _options, callback) => {
    calls.push(host);
    const entry = table[host];
    if (entry === undefined) {
      callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }), []);
      return;
    }
    const list = typeof entry === 'string' ? [entry] : entry;
    callback(
      null,
      list.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 })),
    );
  };
}
