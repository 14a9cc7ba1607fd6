/**
 * normalizeUrl / hostKey against the public suites in shared/conformance/.
 *
 * url-normalize.json holds sets that disagree by design; trawl's documented normalization
 * (WHATWG parsing + fragment dropped + RFC 3986 §6.2.2.2 percent-encoding normalization,
 * non-http(s) schemes refused) matches these, and every case of each must pass:
 * - `rfc3986-5.4.1-resolve`, `rfc3986-5.4.2-resolve`: RFC reference resolution examples. Compared
 *   with the RFC's expected string put in trawl's form (fragment dropped, empty http path -> "/",
 *   non-http results -> null, e.g. `g:h`).
 * - `rfc3986-5.2.4-remove-dot-segments`: dot-segment removal, checked on the path of an http URL.
 * - `rfc3986-6.2-normalize`: syntax-based normalization (case, percent-encoding, dot segments,
 *   default/empty port, empty path). Same comparison; `mailto:` and `eXAMPLE:` give null, and
 *   `http://example.com/#` loses its empty fragment.
 * Not chosen, because they rewrite URLs into keys that may name a different resource than the one
 * fetched: `google-safebrowsing-canonicalize` (repeated unescaping, slash collapsing),
 * `urlcanon-aggressive` (https->http, strips www, lower-cases paths), `urlcanon-semantic-precise`
 * (keeps fragments, removes user info, always sorts queries, collapses slashes),
 * `internetarchive-surt-*` (strips www and trailing slashes, sorts queries), `normalize-url`
 * (strips www and trailing slashes by default, drops the root "/", adds schemes to bare hosts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostKey, type NormalizeOptions, normalizeUrl } from '../../src/crawl/url/normalize.js';
import { createScope } from '../../src/crawl/url/scope.js';
import { readConformanceJson } from '../helpers/conformance.js';

interface WptCase {
  input: string;
  base: string | null;
  href?: string;
  failure?: boolean;
}

interface NormCase {
  set: string;
  kind: string;
  input: string;
  base?: string | null;
  expected: string | null;
}

/**
 * trawl's documented normalization applied to an already-parsed expected URL string, written
 * independently of the implementation (regex based): null for non-http(s), fragment cut, an
 * empty path after the authority becomes "/", %xx upper-cased / unreserved escapes decoded.
 */
function trawlForm(expected: string): string | null {
  if (!/^https?:\/\//i.test(expected)) return null;
  let s = expected.replace(/#.*$/s, '');
  s = s.replace(/^(https?:\/\/[^/?]*)(?=\?|$)/i, '$1/');
  return s.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => {
    const ch = String.fromCharCode(Number.parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(ch) ? ch : `%${hex.toUpperCase()}`;
  });
}

const wpt = readConformanceJson<(string | WptCase)[]>('url-wpt.json').filter(
  (c): c is WptCase => typeof c === 'object',
);
const knownFailures = readConformanceJson<{ input: string; base: string | null }[]>(
  'url-wpt-node20-known-failures.json',
);
const knownKey = new Set(knownFailures.map((k) => JSON.stringify([k.input, k.base])));

describe('normalizeUrl vs WHATWG URL tests (url-wpt.json)', () => {
  // Node 20's built-in URL (which trawl parses with) fails these 15 WPT cases; they test the
  // parser itself, not trawl, so they are skipped here.
  const cases = wpt.filter((c) => !knownKey.has(JSON.stringify([c.input, c.base])));

  it('has the expected number of cases', () => {
    expect(wpt.length).toBeGreaterThan(800);
    expect(wpt.length - cases.length).toBe(knownFailures.length);
  });

  it('mirrors parse failure/success and matches the normalized expected href', () => {
    let httpSuccesses = 0;
    const mismatches: string[] = [];
    for (const c of cases) {
      const got = normalizeUrl(c.input, c.base ?? undefined);
      const want = c.failure ? null : trawlForm(c.href!);
      if (want !== null) httpSuccesses++;
      if (got !== want) mismatches.push(`${JSON.stringify(c)} -> ${got} (want ${want})`);
    }
    expect(mismatches).toEqual([]);
    expect(httpSuccesses).toBeGreaterThan(200);
  });

  it('is idempotent on every WPT result', () => {
    for (const c of cases) {
      const once = normalizeUrl(c.input, c.base ?? undefined);
      if (once !== null) expect(normalizeUrl(once)).toBe(once);
    }
  });
});

describe('normalizeUrl vs RFC 3986 sets of url-normalize.json', () => {
  const all = readConformanceJson<NormCase[]>('url-normalize.json');
  const chosen = ['rfc3986-5.4.1-resolve', 'rfc3986-5.4.2-resolve', 'rfc3986-6.2-normalize'];
  for (const set of chosen) {
    const cases = all.filter((c) => c.set === set);
    it(`${set}: all ${cases.length} cases`, () => {
      expect(cases.length).toBeGreaterThan(10);
      for (const c of cases) {
        const got = normalizeUrl(c.input, c.base ?? undefined);
        expect(got, JSON.stringify(c)).toBe(trawlForm(c.expected!));
      }
    });
  }
  it('rfc3986-5.2.4-remove-dot-segments: all cases', () => {
    const cases = all.filter((c) => c.set === 'rfc3986-5.2.4-remove-dot-segments');
    expect(cases.length).toBe(2);
    for (const c of cases) {
      const abs = c.input.startsWith('/') ? c.input : `/${c.input}`;
      const got = normalizeUrl(`http://a${abs}`);
      const want = c.expected!.startsWith('/') ? c.expected : `/${c.expected}`;
      expect(new URL(got!).pathname).toBe(want);
    }
  });
});

describe('normalizeUrl rules', () => {
  it('refuses non-http(s) schemes and unparseable input', () => {
    for (const s of [
      'mailto:a@b.c',
      'javascript:alert(1)',
      'tel:+123',
      'data:text/plain,hi',
      'ftp://x/',
      'file:///etc/passwd',
      'ws://x/',
      '',
      'http://',
      'http://exa mple.com/',
      'not a url',
      '//no-base',
    ]) {
      expect(normalizeUrl(s), s).toBeNull();
    }
    expect(normalizeUrl('/a', 'not a base')).toBeNull();
    expect(normalizeUrl('mailto:x@y', 'http://a/')).toBeNull();
  });

  it('lower-cases scheme and host, drops default port and fragment, resolves dots', () => {
    expect(normalizeUrl('HTTP://Www.Example.COM:80/a/./b/../c#top')).toBe('http://www.example.com/a/c');
    expect(normalizeUrl('https://example.com:443')).toBe('https://example.com/');
    expect(normalizeUrl('https://example.com:8443/')).toBe('https://example.com:8443/');
    expect(normalizeUrl('#x', 'http://h/p?q')).toBe('http://h/p?q');
    expect(normalizeUrl('../../x', 'http://h/a/b/c')).toBe('http://h/x');
  });

  it('normalizes percent-encoding without decoding reserved characters', () => {
    expect(normalizeUrl('http://h/%7e%41%2d%2E%5f%30')).toBe('http://h/~A-._0');
    expect(normalizeUrl('http://h/a%2fb%3fc%23d%25%e2%82%ac')).toBe('http://h/a%2Fb%3Fc%23d%25%E2%82%AC');
    expect(normalizeUrl('http://h/?q=%2b%26%3d&r=%7E')).toBe('http://h/?q=%2B%26%3D&r=~');
    expect(normalizeUrl('http://h/100%/%zz/%4')).toBe('http://h/100%/%zz/%4');
  });

  it('strips matching query parameters and an emptied "?"', () => {
    const opts: NormalizeOptions = { stripParams: ['utm_*', 'fbclid'] };
    expect(normalizeUrl('http://h/p?utm_source=a&id=3&fbclid=x&utm_medium=b', undefined, opts)).toBe(
      'http://h/p?id=3',
    );
    expect(normalizeUrl('http://h/p?utm_source=a&fbclid=x#f', undefined, opts)).toBe('http://h/p');
    expect(normalizeUrl('http://h/p?fbclid', undefined, opts)).toBe('http://h/p');
    expect(normalizeUrl('http://h/p?fbclidx=1&xutm_a=1', undefined, opts)).toBe(
      'http://h/p?fbclidx=1&xutm_a=1',
    );
    expect(normalizeUrl('http://h/p?', undefined, opts)).toBe('http://h/p?');
    expect(normalizeUrl('http://h/p?utm%5Fsource=1&a=1', undefined, opts)).toBe('http://h/p?a=1');
  });

  it('sorts query parameters by name, stably, only when asked', () => {
    expect(normalizeUrl('http://h/?b=2&a=1&c=3&a=0')).toBe('http://h/?b=2&a=1&c=3&a=0');
    expect(normalizeUrl('http://h/?b=2&a=1&c=3&a=0', undefined, { sortQuery: true })).toBe(
      'http://h/?a=1&a=0&b=2&c=3',
    );
  });

  it('never throws and is idempotent on arbitrary strings (property)', () => {
    const optsArb = fc.record({
      stripParams: fc.constantFrom(undefined, ['utm_*', 'a', '*id']),
      sortQuery: fc.boolean(),
    });
    const inputArb = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.webUrl({ withFragments: true, withQueryParameters: true }),
      fc
        .tuple(
          fc.constantFrom('http://', 'HTTPS://', 'http:', '//', '/', '', 'http://u:p@'),
          fc.string({
            unit: fc.constantFrom('a', 'B', '.', '/', '%', '2', 'e', '?', '&', '=', '#', ':', '\\', ' ', 'é'),
            maxLength: 30,
          }),
        )
        .map(([a, b]) => a + b),
    );
    fc.assert(
      fc.property(
        inputArb,
        fc.constantFrom(undefined, 'http://base.example/x/y?z', 'bad base'),
        optsArb,
        (s, base, opts) => {
          const once = normalizeUrl(s, base, opts);
          if (once !== null) {
            expect(normalizeUrl(once, undefined, opts)).toBe(once);
            expect(once).toMatch(/^https?:\/\//);
            expect(once).not.toContain('#');
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('hostKey', () => {
  it('gives hostname[:port] without default ports or user info', () => {
    expect(hostKey('http://example.com/a')).toBe('example.com');
    expect(hostKey('https://example.com:443/')).toBe('example.com');
    expect(hostKey('https://Example.com:8443/x?y')).toBe('example.com:8443');
    expect(hostKey('http://user:pw@h.example:81')).toBe('h.example:81');
    expect(hostKey('http://[::1]:8080/')).toBe('[::1]:8080');
    expect(hostKey('http://127.1/')).toBe('127.0.0.1');
    expect(hostKey('mailto:x@y')).toBe('');
    expect(hostKey('garbage')).toBe('');
  });

  it('agrees with URL.host on arbitrary http(s) URLs (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.webUrl({
            withFragments: true,
            withQueryParameters: true,
            authoritySettings: { withPort: true, withUserInfo: true, withIPv4: true, withIPv6: true },
          }),
          fc
            .tuple(
              fc.constantFrom('http://', 'https://', 'HTTP://'),
              fc.stringMatching(/^[a-zA-Z0-9.:\-@%]{0,20}$/),
              fc.constantFrom('', '/', '?q', '#f'),
            )
            .map(([a, b, c]) => a + b + c),
        ),
        (u) => {
          let want = '';
          try {
            const parsed = new URL(u);
            if (parsed.protocol === 'http:' || parsed.protocol === 'https:') want = parsed.host;
          } catch {}
          expect(hostKey(u)).toBe(want);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('agrees with URL.host on IPv4 addresses in every spelling (property)', () => {
    const label = fc.oneof(
      fc.integer({ min: 0, max: 300 }).map(String),
      fc.integer({ min: 0, max: 99 }).map((n) => `0${n}`),
      fc.integer({ min: 0, max: 255 }).map((n) => `0x${n.toString(16)}`),
      fc.constantFrom('', '4294967295', '256', 'a'),
    );
    fc.assert(
      fc.property(
        fc.constantFrom('http://', 'https://'),
        fc.array(label, { minLength: 1, maxLength: 5 }),
        fc.constantFrom('', '.'),
        fc.constantFrom('', ':8080', ':80', ':443', ':0'),
        (scheme, labels, dot, port) => {
          const u = `${scheme}${labels.join('.')}${dot}${port}/p`;
          let want = '';
          try {
            want = new URL(u).host;
          } catch {}
          expect(hostKey(u)).toBe(want);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('keeps scope decisions on IP hosts the same as URL parsing gives', () => {
    const scope = createScope({ seeds: ['http://127.0.0.1:8080/'], mode: 'host' });
    expect(scope.inScope('http://127.0.0.1:9090/x')).toBe(true); // scope ignores the port
    expect(scope.inScope('http://127.1/')).toBe(true); // a shorthand, parsed by URL
    expect(scope.inScope('http://127.0.0.2/')).toBe(false);
    expect(scope.reason('http://127.0.0.10:8080/')).toBe('off-host 127.0.0.10');
  });
});
