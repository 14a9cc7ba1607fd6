/**
 * LinkResolver must give exactly what normalizeUrl(raw, base, opts) gives, for every input: its
 * fast path is only a shortcut. Checked on the WPT URL cases (every one with a base), on
 * generated values over an alphabet of the characters that decide the shape of a reference
 * (slashes, dots, percent escapes, `?`, `#`, `:`, whitespace, quotes, non-ASCII), against bases
 * with user info, ports, queries, fragments, empty queries and IPv6 hosts, and with every
 * normalization option.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LinkResolver, linkResolverStats } from '../../src/crawl/url/link-resolver.js';
import { type NormalizeOptions, normalizeUrl } from '../../src/crawl/url/normalize.js';
import { readConformanceJson } from '../helpers/conformance.js';

interface WptCase {
  input: string;
  base: string | null;
}

const BASES = [
  'http://example.com/',
  'http://example.com/a/b/c',
  'http://example.com/a/b/',
  'https://user:pw@example.com:8443/a/b?x=1#frag',
  'http://example.com/a?',
  'http://example.com/a#',
  'http://example.com/a/b?q=/x/y#/z',
  'http://[::1]:8080/dir/file.html',
  'http://127.0.0.1:41053/p/12',
  'HTTP://EXAMPLE.com:80/%7Efoo/./bar/../baz',
  'https://example.com',
  'mailto:someone@example.com',
  'file:///tmp/x',
];

const OPTIONS: (NormalizeOptions | undefined)[] = [
  undefined,
  { stripParams: ['utm_*', 'ref'] },
  { sortQuery: true },
  { stripSessionIds: true },
];

function expectSame(raw: string, base: string | undefined, opts?: NormalizeOptions): void {
  const got = new LinkResolver(base, opts).resolve(raw);
  expect({ raw, base, got }).toEqual({ raw, base, got: normalizeUrl(raw, base, opts) });
}

describe('LinkResolver', () => {
  it('resolves the common shapes on the fast path to what the parser gives', () => {
    const r = new LinkResolver('https://user:pw@example.com:8443/a/b?x=1#f');
    expect(r.resolve('/p/1')).toBe('https://user:pw@example.com:8443/p/1');
    expect(r.resolve('c/d?e=f#g')).toBe('https://user:pw@example.com:8443/a/c/d?e=f');
    expect(r.resolve('?page=2')).toBe('https://user:pw@example.com:8443/a/b?page=2');
    expect(r.resolve('../up')).toBe('https://user:pw@example.com:8443/up');
    expect(r.resolve('./../../../x?y')).toBe('https://user:pw@example.com:8443/x?y');
    expect(r.resolve('./')).toBe('https://user:pw@example.com:8443/a/');
    expect(r.resolve('//other.example/x')).toBe('https://other.example/x');
    expect(r.resolve('mailto:x@y')).toBeNull();
    expect(new LinkResolver(undefined).resolve('/p/1')).toBeNull();
    expect(new LinkResolver(undefined).resolve('http://a.example/')).toBe('http://a.example/');
  });

  it('agrees with normalizeUrl on every WPT URL case that has a base', () => {
    const cases = readConformanceJson<(WptCase | string)[]>('url-wpt.json').filter(
      (c): c is WptCase => typeof c === 'object' && c.base !== null,
    );
    expect(cases.length).toBeGreaterThan(300);
    for (const c of cases) {
      for (const opts of OPTIONS) expectSame(c.input, c.base ?? undefined, opts);
    }
  });

  it('agrees with normalizeUrl on generated references against varied bases', () => {
    const alphabet = fc.constantFrom(
      ...'/',
      '/',
      '/',
      '.',
      '.',
      'a',
      'b',
      'Z',
      '0',
      '9',
      '-',
      '_',
      '~',
      '?',
      '?',
      '#',
      '=',
      '&',
      ':',
      '@',
      ';',
      '%',
      '%2e',
      '%2E',
      '%41',
      '%zz',
      '\\',
      ' ',
      '\t',
      '\n',
      "'",
      '"',
      '<',
      '>',
      '`',
      '{',
      '|',
      '^',
      '[',
      ']',
      'é',
      '\u0000',
      'utm_x=1',
      'jsessionid=0123456789abcdef',
      ';jsessionid=0123456789',
      'sid=0123456789abcdef0123',
      '..',
      './',
      '../',
      'http:',
      'https://h/',
      '//',
      '!',
      '$',
      "'",
      '(',
      '*',
      '+',
      ',',
    );
    const raw = fc.array(alphabet, { maxLength: 12 }).map((parts) => parts.join(''));
    const before = linkResolverStats.fast;
    fc.assert(
      fc.property(raw, fc.constantFrom(...BASES), fc.constantFrom(...OPTIONS), (r, base, opts) => {
        expect(new LinkResolver(base, opts).resolve(r)).toBe(normalizeUrl(r, base, opts));
      }),
      { numRuns: 20_000 },
    );
    // The comparison means something only if the fast path took a fair share of the values.
    expect(linkResolverStats.fast - before).toBeGreaterThan(2_000);
  });

  it('agrees on arbitrary strings too', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), fc.constantFrom(...BASES), (r, base) => {
        expect(new LinkResolver(base).resolve(r)).toBe(normalizeUrl(r, base));
      }),
      { numRuns: 5_000 },
    );
  });
});
