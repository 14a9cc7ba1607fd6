import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileAny, compilePattern, globMatcher } from '../../src/crawl/url/patterns.js';
import { createScope, registrableDomain, scopeHost } from '../../src/crawl/url/scope.js';

describe('compilePattern', () => {
  it('matches globs against the whole URL', () => {
    const m = compilePattern('https://example.com/blog/*');
    expect(m('https://example.com/blog/')).toBe(true);
    expect(m('https://example.com/blog/a/b?c=1')).toBe(true);
    expect(m('https://example.com/blo')).toBe(false);
    expect(m('http://example.com/blog/x')).toBe(false);
    expect(compilePattern('*.pdf')('http://h/a/b.pdf')).toBe(true);
    expect(compilePattern('*.pdf')('http://h/a/b.pdf?x')).toBe(false);
    expect(compilePattern('*/private/**')('http://h/x/private/y/z')).toBe(true);
    expect(compilePattern('*?page=*')('http://h/list?page=3')).toBe(true);
    expect(compilePattern('*?page=*')('http://h/listXpage=3')).toBe(false);
    expect(compilePattern('http://h/exact')('http://h/exact')).toBe(true);
    expect(compilePattern('http://h/exact')('http://h/exact2')).toBe(false);
  });

  it('treats /body/flags as a regex searched anywhere', () => {
    expect(compilePattern('/\\/tag\\/\\d+/')('http://h/tag/42/x')).toBe(true);
    expect(compilePattern('/\\/TAG\\//i')('http://h/tag/')).toBe(true);
    expect(compilePattern('/\\/TAG\\//')('http://h/tag/')).toBe(false);
    expect(compilePattern('/^https:/')('http://h/')).toBe(false);
  });

  it('throws a clear error naming the bad pattern', () => {
    expect(() => compilePattern('/a(b/')).toThrow(/invalid pattern "\/a\(b\/"/);
    expect(() => compilePattern('/ab/g')).toThrow(/invalid pattern "\/ab\/g".*flags/);
    expect(() => compilePattern('')).toThrow(/invalid pattern/);
    expect(() => compileAny(['*ok*', '/[/'])).toThrow(/"\/\[\/"/);
  });

  it('glob matching agrees with an equivalent anchored RegExp (property)', () => {
    const alphabet = fc.constantFrom('a', 'b', '/', '.', '?', '*');
    fc.assert(
      fc.property(
        fc.string({ unit: alphabet, maxLength: 8 }),
        fc.string({ unit: fc.constantFrom('a', 'b', '/', '.', '?'), maxLength: 12 }),
        (glob, input) => {
          const re = new RegExp(
            `^${glob
              .split('*')
              .map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
              .join('.*')}$`,
            's',
          );
          expect(globMatcher(glob)(input)).toBe(re.test(input));
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('stays linear on a pathological glob', () => {
    // `^.*a.*a.*a.*a.*a.*b$` backtracks polynomially on this input; indexOf matching does not.
    const m = globMatcher('*a*a*a*a*a*a*a*b');
    expect(m(`http://h/${'a'.repeat(200_000)}`)).toBe(false);
  });
});

describe('scope helpers', () => {
  it('scopeHost folds www. and a trailing dot', () => {
    expect(scopeHost('www.example.com')).toBe('example.com');
    expect(scopeHost('example.com.')).toBe('example.com');
    expect(scopeHost('www.')).toBe('www');
    expect(scopeHost('www.com')).toBe('www.com');
    expect(scopeHost('www.a.b')).toBe('a.b');
    expect(scopeHost('wwwx.example.com')).toBe('wwwx.example.com');
  });
  it('registrableDomain uses the public suffix list, private section included', () => {
    expect(registrableDomain('a.b.example.co.uk')).toBe('example.co.uk');
    expect(registrableDomain('alice.github.io')).toBe('alice.github.io');
    expect(registrableDomain('localhost')).toBe('localhost');
    expect(registrableDomain('127.0.0.1')).toBe('127.0.0.1');
    expect(registrableDomain('[::1]')).toBe('[::1]');
    expect(registrableDomain('shop.example.com.')).toBe('example.com');
  });
});

describe('createScope', () => {
  it('host mode: same host, www-folded, scheme- and port-insensitive', () => {
    const s = createScope({ seeds: ['https://example.com/start'], mode: 'host' });
    expect(s.inScope('https://example.com/a')).toBe(true);
    expect(s.inScope('http://www.example.com:8080/b')).toBe(true);
    expect(s.inScope('https://EXAMPLE.com./c')).toBe(true);
    expect(s.reason('https://blog.example.com/')).toBe('off-host blog.example.com');
    expect(s.reason('https://example.org/')).toBe('off-host example.org');
    expect(s.reason('mailto:a@example.com')).toBe('not http(s)');
    expect(s.reason('::nonsense')).toBe('invalid url');
    const w = createScope({ seeds: ['http://www.example.com/'], mode: 'host' });
    expect(w.inScope('http://example.com/')).toBe(true);
  });

  it('domain mode: same registrable domain; IPs and localhost are their own domain', () => {
    const s = createScope({
      seeds: ['https://www.example.co.uk/', 'http://127.0.0.1:3000/'],
      mode: 'domain',
    });
    expect(s.inScope('https://shop.example.co.uk/x')).toBe(true);
    expect(s.inScope('https://example.co.uk/')).toBe(true);
    expect(s.reason('https://other.co.uk/')).toBe('off-domain other.co.uk');
    expect(s.inScope('http://127.0.0.1:9999/')).toBe(true);
    expect(s.reason('http://127.0.0.2/')).toBe('off-domain 127.0.0.2');
    const gh = createScope({ seeds: ['https://alice.github.io/'], mode: 'domain' });
    expect(gh.inScope('https://bob.github.io/')).toBe(false);
    const lh = createScope({ seeds: ['http://localhost:8080/'], mode: 'domain' });
    expect(lh.inScope('http://localhost:1/')).toBe(true);
    expect(lh.inScope('http://sub.localhost/')).toBe(false);
  });

  it('any mode accepts every http(s) URL, even with no seeds', () => {
    const s = createScope({ seeds: [], mode: 'any' });
    expect(s.inScope('https://anything.example/')).toBe(true);
    expect(s.inScope('ftp://x/')).toBe(false);
  });

  it('exclude wins over include; include needs one match when given', () => {
    const s = createScope({
      seeds: ['https://example.com/'],
      mode: 'host',
      include: ['*/docs/*', '/\\/blog\\//'],
      exclude: ['*.pdf', '/\\/docs\\/private\\//'],
    });
    expect(s.inScope('https://example.com/docs/intro')).toBe(true);
    expect(s.inScope('https://example.com/blog/post')).toBe(true);
    expect(s.reason('https://example.com/about')).toBe('not included by any include pattern');
    expect(s.reason('https://example.com/docs/manual.pdf')).toBe('excluded by *.pdf');
    expect(s.reason('https://example.com/docs/private/x')).toBe('excluded by /\\/docs\\/private\\//');
    expect(s.reason('https://other.com/docs/intro')).toBe('off-host other.com');
  });

  it('rejects bad seeds, modes and patterns with a message naming them', () => {
    expect(() => createScope({ seeds: ['example.com'], mode: 'host' })).toThrow(
      /invalid seed URL "example.com"/,
    );
    expect(() => createScope({ seeds: ['ftp://x/'], mode: 'host' })).toThrow(/"ftp:\/\/x\/"/);
    expect(() => createScope({ seeds: [], mode: 'domain' })).toThrow(/at least one seed/);
    expect(() => createScope({ seeds: ['http://a/'], mode: 'bogus' as 'any' })).toThrow(/"bogus"/);
    expect(() => createScope({ seeds: ['http://a/'], mode: 'host', exclude: ['/(/'] })).toThrow(/"\/\(\/"/);
  });
});
