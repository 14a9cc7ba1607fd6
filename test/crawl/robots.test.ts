import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  matches,
  normalizePath,
  parseRobots,
  productToken,
  robotsForStatus,
} from '../../src/crawl/robots/robots.js';
import { readConformanceJson } from '../helpers/conformance.js';

interface GoogleCase {
  name: string;
  robotstxt: string;
  useragent: string;
  url: string;
  expected_allowed: boolean;
  scope: 'rfc9309' | 'google';
}

const cases = readConformanceJson<GoogleCase[]>('robots-google.json');
const rfc = cases.filter((c) => c.scope === 'rfc9309');
const google = cases.filter((c) => c.scope === 'google');
const verdict = (c: GoogleCase): boolean =>
  parseRobots('http://foo.bar/robots.txt', c.robotstxt).isAllowed(c.url, c.useragent);

describe('robots.txt: Google robotstxt suite, RFC 9309 scope', () => {
  it('has the 121 RFC-scoped cases', () => {
    expect(rfc).toHaveLength(121);
  });
  it.each(rfc.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(verdict(c)).toBe(c.expected_allowed);
  });
  it('runs the 24 Google-specific cases (reported, not asserted)', () => {
    expect(google).toHaveLength(24);
    const passed = google.filter((c) => verdict(c) === c.expected_allowed).length;
    console.log(`robots.txt Google-specific cases: ${passed}/${google.length} agree with google/robotstxt`);
  });
});

describe('robots.txt: API', () => {
  const body = [
    '\uFEFFUser-agent: Trawl',
    'User-agent: other # two agents, one group',
    'Crawl-delay: 2.5',
    'Disallow: /private',
    'Allow: /private/open',
    '',
    'Sitemap: /sitemap.xml',
    'User-agent: *',
    'Disallow: /',
    'Sitemap: https://cdn.example/s.xml.gz',
    'Sitemap: /sitemap.xml',
  ].join('\r\n');
  const r = parseRobots('https://example.com/robots.txt', body);

  it('selects the group by product token, case-insensitively, else *', () => {
    expect(r.isAllowed('https://example.com/x', 'trawl/0.1 (+https://trawl.dev)')).toBe(true);
    expect(r.isAllowed('https://example.com/private/x', 'Trawl/0.1')).toBe(false);
    expect(r.isAllowed('https://example.com/private/open/x', 'TRAWL')).toBe(true);
    expect(r.isAllowed('/private', 'other')).toBe(false);
    expect(r.isAllowed('https://example.com/x', 'SomeBot/1.0')).toBe(false);
  });
  it('always allows /robots.txt; treats an unparseable URL as disallowed', () => {
    expect(r.isAllowed('/robots.txt', 'somebot')).toBe(true);
    expect(r.isAllowed('http://[::1', 'trawl')).toBe(false);
  });
  it('reports crawl-delay per group and sitemaps from anywhere, absolute and de-duplicated', () => {
    expect(r.crawlDelay('trawl')).toBe(2.5);
    expect(r.crawlDelay('somebot')).toBeUndefined();
    expect(r.sitemaps()).toEqual(['https://example.com/sitemap.xml', 'https://cdn.example/s.xml.gz']);
  });
  it('reads the Sitemap line of the sitemaps conformance robots.txt', async () => {
    const { readFileSync } = await import('node:fs');
    const { conformancePath } = await import('../helpers/conformance.js');
    const expected = readConformanceJson<{ files: Array<{ file: string; sitemaps?: string[] }> }>(
      'sitemaps',
      'expected.json',
    ).files.find((f) => f.file === 'robots-with-sitemap.txt')!;
    const text = readFileSync(conformancePath('sitemaps', 'robots-with-sitemap.txt'), 'utf8');
    expect(parseRobots('http://www.example.com/robots.txt', text).sitemaps()).toEqual(expected.sitemaps);
  });
  it('maps fetch statuses per RFC 9309 §2.3.1', () => {
    expect(robotsForStatus(200)).toBeUndefined();
    for (const s of [301, 400, 401, 403, 404, 410])
      expect(robotsForStatus(s)!.isAllowed('/x', 'trawl')).toBe(true);
    for (const s of [0, -1, 429, 500, 503]) expect(robotsForStatus(s)!.isAllowed('/x', 'trawl')).toBe(false);
    expect(robotsForStatus(503)!.isAllowed('/robots.txt', 'trawl')).toBe(true);
  });
  it('extracts product tokens', () => {
    expect(productToken('Trawl/0.1 (+https://x)')).toBe('trawl');
    expect(productToken('Foo_Bar-baz')).toBe('foo_bar-baz');
    expect(productToken('/weird')).toBe('');
  });
  it('normalises percent-encoding as the RFC 9309 §2.2.2 table does', () => {
    expect(normalizePath('/foo/bar?baz=quz')).toBe('/foo/bar?baz=quz');
    expect(normalizePath('/foo/bar/ツ')).toBe('/foo/bar/%E3%83%84');
    expect(normalizePath('/foo/bar/%e3%83%84')).toBe('/foo/bar/%E3%83%84');
    expect(normalizePath('/foo/bar/%62%61%7A')).toBe('/foo/bar/baz');
    expect(normalizePath('/a|b c%zz%2f')).toBe('/a%7Cb%20c%25zz%2F');
  });
  it('blocks where robots-parser leaks (the reasons for our own matcher)', () => {
    const x = parseRobots('http://a.com/robots.txt', 'User-agent: *\nDisallow: /a|b\nDisallow: /%62az\n');
    expect(x.isAllowed('http://a.com/a|b', 'trawl')).toBe(false);
    expect(x.isAllowed('http://a.com/baz', 'trawl')).toBe(false);
  });
  it('matches hostile wildcard patterns in linear time', () => {
    const pattern = `/${'*a'.repeat(200)}b$`;
    const path = `/${'a'.repeat(5000)}`;
    expect(matches(pattern, path)).toBe(false);
  });
});

// ---- property tests against an independent, straightforward RFC 9309 reference ----

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const RESERVED = /^[:/?#[\]@!$&'()*+,;=]$/;

/** Reference normalisation: to octets (keeping which were escaped), then re-spell each octet. */
function refNormalize(s: string): string {
  const octets: Array<{ b: number; escaped: boolean }> = [];
  for (let i = 0; i < s.length; ) {
    if (s[i] === '%' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      octets.push({ b: Number.parseInt(s.slice(i + 1, i + 3), 16), escaped: true });
      i += 3;
      continue;
    }
    const cp = s.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    for (const b of new TextEncoder().encode(ch)) octets.push({ b, escaped: b >= 0x80 || ch === '%' });
    i += ch.length;
  }
  return octets
    .map(({ b, escaped }) => {
      const c = String.fromCharCode(b);
      const hex = `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
      if (b < 0x80 && UNRESERVED.test(c)) return c;
      if (!escaped && b < 0x80 && RESERVED.test(c)) return c;
      return hex;
    })
    .join('');
}

/** Reference decision: regex per rule, longest normalised pattern wins, allow wins ties, default allow. */
function refAllowed(rules: Array<{ allow: boolean; pattern: string }>, path: string): boolean {
  const p = refNormalize(path);
  let best: { allow: boolean; len: number } | undefined;
  for (const r of rules) {
    if (r.pattern === '') continue;
    const n = refNormalize(r.pattern);
    const anchored = n.endsWith('$');
    const body = anchored ? n.slice(0, -1) : n;
    const re = new RegExp(
      `^${body
        .split('*')
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('[\\s\\S]*')}${anchored ? '$' : ''}`,
    );
    if (!re.test(p)) continue;
    if (best === undefined || n.length > best.len || (n.length === best.len && r.allow && !best.allow)) {
      best = { allow: r.allow, len: n.length };
    }
  }
  return best === undefined || best.allow;
}

// Characters the URL parser keeps stable in a path (no '.', '#', '\\', "'" which it rewrites).
const pathChar = fc.constantFrom(
  '/',
  'a',
  'b',
  'c',
  '-',
  '_',
  '~',
  '%61',
  '%2F',
  '%2f',
  '%7C',
  'ツ',
  'é',
  '|',
  '^',
  '=',
  '&',
  '%',
  '"',
  '!',
);
const patternChar = fc.oneof(pathChar, fc.constantFrom('*', '$', '?'));
const pathArb = fc.array(pathChar, { maxLength: 12 }).map((xs) => `/${xs.join('')}`);
const queryArb = fc.option(
  fc.array(fc.constantFrom('a', 'b', '=', '&', '%62', 'é'), { maxLength: 6 }).map((xs) => `?${xs.join('')}`),
  { nil: '' },
);
const patternArb = fc.array(patternChar, { maxLength: 10 }).map((xs) => `/${xs.join('')}`);
const rulesArb = fc.array(fc.record({ allow: fc.boolean(), pattern: patternArb }), { maxLength: 8 });

describe('robots.txt: properties', () => {
  it('never throws on arbitrary bodies, URLs and agents', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 400 }),
        fc.string({ unit: 'binary', maxLength: 60 }),
        fc.string(),
        (body, url, ua) => {
          const r = parseRobots('http://example.com/robots.txt', body);
          expect(typeof r.isAllowed(url, ua)).toBe('boolean');
          r.crawlDelay(ua);
          r.sitemaps();
        },
      ),
      { numRuns: 500 },
    );
  });
  it('agrees with the reference matcher on random rules and paths', () => {
    fc.assert(
      fc.property(rulesArb, pathArb, queryArb, (rules, path, query) => {
        const body = `User-agent: *\n${rules.map((r) => `${r.allow ? 'Allow' : 'Disallow'}: ${r.pattern}`).join('\n')}\n`;
        const robots = parseRobots('http://example.com/robots.txt', body);
        expect(robots.isAllowed(`http://example.com${path}${query}`, 'trawl')).toBe(
          refAllowed(rules, path + query),
        );
      }),
      { numRuns: 2000 },
    );
  });
  it('normalisation is idempotent', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
        const n = normalizePath(s);
        expect(normalizePath(n)).toBe(n);
      }),
    );
  });
});
