import { describe, expect, it } from 'vitest';
import { SessionCookies } from '../../src/crawl/fetch/session-cookies.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function clocked(): { jar: SessionCookies; advance: (ms: number) => void; now: () => Date } {
  let t = T0;
  const now = () => new Date(t);
  return { jar: new SessionCookies({ now }), advance: (ms) => void (t += ms), now };
}

describe('SessionCookies.exportAll: the jar as NetscapeCookie, the inverse of import', () => {
  it('exports host-only, domain, session, expiring, Secure and HttpOnly cookies field for field', () => {
    const { jar } = clocked();
    jar.store('https://shop.example.com/cart/view', [
      'host=1; Path=/cart',
      'dom=2; Domain=example.com; Path=/; Max-Age=3600; Secure; HttpOnly',
    ]);
    const list = jar.exportAll().sort((a, b) => a.name.localeCompare(b.name));
    expect(list).toEqual([
      {
        domain: 'example.com',
        includeSubdomains: true,
        path: '/',
        secure: true,
        httpOnly: true,
        expires: T0 / 1000 + 3600,
        name: 'dom',
        value: '2',
      },
      {
        domain: 'shop.example.com',
        includeSubdomains: false,
        path: '/cart',
        secure: false,
        httpOnly: false,
        expires: 0,
        name: 'host',
        value: '1',
      },
    ]);
  });

  it('import(exportAll()) gives a jar that sends the same cookies to every URL', () => {
    const { jar, now } = clocked();
    jar.store('https://a.example.com/', [
      'h=1',
      'd=2; Domain=example.com; Expires=Wed, 01 Jan 2031 00:00:00 GMT',
    ]);
    jar.store('http://127.0.0.1:8080/x/y', ['ip=3; Path=/x']);
    const copy = new SessionCookies({ now });
    copy.import(jar.exportAll());
    for (const url of [
      'https://a.example.com/',
      'https://b.example.com/',
      'https://example.com/',
      'http://127.0.0.1:9090/x/z',
      'http://127.0.0.1:9090/',
    ]) {
      expect(copy.header(url), url).toBe(jar.header(url));
    }
    expect(copy.size).toBe(jar.size);
  });

  it('leaves out cookies expired by the jar clock, without removing them', () => {
    const { jar, advance } = clocked();
    jar.store('https://example.com/', ['short=1; Max-Age=10', 'long=2; Max-Age=1000']);
    advance(11_000);
    expect(jar.exportAll().map((c) => c.name)).toEqual(['long']);
    expect(jar.size).toBe(2);
  });

  it('an empty jar exports nothing', () => {
    expect(new SessionCookies().exportAll()).toEqual([]);
  });
});
