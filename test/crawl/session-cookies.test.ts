import { CookieJar } from 'tough-cookie';
import { describe, expect, it } from 'vitest';
import type { NetscapeCookie } from '../../src/crawl/fetch/cookies-txt.js';
import { MAX_COOKIE_BYTES, MAX_COOKIES, SessionCookies } from '../../src/crawl/fetch/session-cookies.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

/** A jar on a hand-driven clock starting at T0. */
function clocked(): { jar: SessionCookies; advance: (ms: number) => void; now: () => Date } {
  let t = T0;
  const now = () => new Date(t);
  return {
    jar: new SessionCookies({ now }),
    advance: (ms) => {
      t += ms;
    },
    now,
  };
}

function txt(over: Partial<NetscapeCookie>): NetscapeCookie {
  return {
    domain: 'example.com',
    includeSubdomains: false,
    path: '/',
    secure: false,
    httpOnly: false,
    expires: 0,
    name: 'n',
    value: 'v',
    ...over,
  };
}

describe('SessionCookies: a cookie set by host A never goes to host B', () => {
  it('127.0.0.1 and 127.0.0.2 are different hosts', () => {
    const jar = new SessionCookies();
    jar.store('http://127.0.0.1:8080/login', ['sid=a; Path=/']);
    expect(jar.header('http://127.0.0.1:8080/')).toBe('sid=a');
    expect(jar.header('http://127.0.0.2:8080/')).toBeNull();
  });

  it('a Domain attribute naming an IP address still matches that address only', () => {
    const jar = new SessionCookies();
    jar.store('http://127.0.0.1/', ['ip=1; Domain=127.0.0.1']);
    expect(jar.header('http://127.0.0.1/')).toBe('ip=1');
    expect(jar.header('http://127.0.0.2/')).toBeNull();
    expect(jar.header('http://0.0.1/')).toBeNull();
  });

  it('a host-only cookie goes to its host, not to siblings, parents or children', () => {
    const jar = new SessionCookies();
    jar.store('https://a.example.com/', ['h=1']);
    expect(jar.header('https://a.example.com/x')).toBe('h=1');
    for (const other of ['https://b.example.com/', 'https://example.com/', 'https://x.a.example.com/']) {
      expect(jar.header(other)).toBeNull();
    }
  });

  it('a Domain cookie goes to the domain and its subdomains, not to look-alike hosts', () => {
    const jar = new SessionCookies();
    jar.store('https://a.example.com/', ['d=1; Domain=example.com']);
    for (const inside of ['https://example.com/', 'https://b.example.com/', 'https://x.y.example.com/']) {
      expect(jar.header(inside)).toBe('d=1');
    }
    for (const outside of [
      'https://notexample.com/',
      'https://example.com.evil.org/',
      'https://example.org/',
    ]) {
      expect(jar.header(outside)).toBeNull();
    }
  });

  it('a host cannot set a cookie for a sibling or an unrelated domain', () => {
    const jar = new SessionCookies();
    jar.store('https://a.example.com/', ['s=1; Domain=b.example.com', 'u=1; Domain=example.org']);
    expect(jar.size).toBe(0);
    expect(jar.header('https://b.example.com/')).toBeNull();
    expect(jar.header('https://example.org/')).toBeNull();
  });

  it('cookies are per host, not per port (RFC 6265 §8.5)', () => {
    const jar = new SessionCookies();
    jar.store('http://127.0.0.1:8080/', ['p=1']);
    expect(jar.header('http://127.0.0.1:9090/')).toBe('p=1');
  });
});

describe('SessionCookies: Secure cookies go over https only, loopback included', () => {
  it('a Secure cookie stored over https is sent over https, never over http://127.0.0.1', () => {
    const jar = new SessionCookies();
    jar.store('https://127.0.0.1/', ['s=1; Secure; Path=/', 'plain=1; Path=/']);
    expect(jar.header('https://127.0.0.1/')).toBe('s=1; plain=1');
    expect(jar.header('http://127.0.0.1/')).toBe('plain=1');
  });

  it('the same holds for localhost and [::1]', () => {
    const jar = new SessionCookies();
    jar.store('https://localhost/', ['s=1; Secure']);
    jar.store('https://[::1]/', ['s=2; Secure']);
    expect(jar.header('https://localhost/')).toBe('s=1');
    expect(jar.header('http://localhost/')).toBeNull();
    expect(jar.header('https://[::1]/')).toBe('s=2');
    expect(jar.header('http://[::1]/')).toBeNull();
  });

  it('a Secure cookie set over plain http (loopback included) is not stored', () => {
    const jar = new SessionCookies();
    jar.store('http://127.0.0.1/', ['s=1; Secure']);
    expect(jar.size).toBe(0);
    expect(jar.header('https://127.0.0.1/')).toBeNull();
  });

  it('an imported Secure cookie for 127.0.0.1 is not sent over http', () => {
    const jar = new SessionCookies();
    jar.import([txt({ domain: '127.0.0.1', secure: true, name: 's', value: '1' })]);
    expect(jar.header('https://127.0.0.1/')).toBe('s=1');
    expect(jar.header('http://127.0.0.1/')).toBeNull();
  });

  it('plain tough-cookie would send it (the default this jar turns off)', () => {
    const plain = new CookieJar();
    plain.setCookieSync('s=1; Secure', 'https://127.0.0.1/');
    expect(plain.getCookieStringSync('http://127.0.0.1/')).toBe('s=1');
  });
});

describe('SessionCookies: paths', () => {
  it('a Path cookie goes to that path and below it on a / boundary only', () => {
    const jar = new SessionCookies();
    jar.store('http://h.test/', ['d=1; Path=/docs']);
    for (const yes of ['http://h.test/docs', 'http://h.test/docs/', 'http://h.test/docs/a/b?q=1']) {
      expect(jar.header(yes)).toBe('d=1');
    }
    for (const no of ['http://h.test/', 'http://h.test/doc', 'http://h.test/docsx', 'http://h.test/Docs']) {
      expect(jar.header(no)).toBeNull();
    }
  });

  it('without Path, the default path is the directory of the request path', () => {
    const jar = new SessionCookies();
    jar.store('http://h.test/a/b/page.html', ['d=1']);
    expect(jar.cookiesFor('http://h.test/a/b/other')[0]?.path).toBe('/a/b');
    expect(jar.header('http://h.test/a/b')).toBe('d=1');
    expect(jar.header('http://h.test/a/')).toBeNull();
  });

  it('sends longer paths first, then older cookies first (RFC 6265 §5.4)', () => {
    const { jar, advance } = clocked();
    jar.store('http://h.test/', ['root=1; Path=/']);
    advance(1000);
    jar.store('http://h.test/', ['deep=1; Path=/a/b', 'mid=1; Path=/a']);
    advance(1000);
    jar.store('http://h.test/', ['root2=1; Path=/']);
    expect(jar.header('http://h.test/a/b/c')).toBe('deep=1; mid=1; root=1; root2=1');
  });
});

describe('SessionCookies: expiry by the injected clock', () => {
  it('a Max-Age cookie is sent until its age is reached, then dropped', () => {
    const { jar, advance } = clocked();
    jar.store('http://h.test/', ['m=1; Max-Age=60']);
    advance(59_999);
    expect(jar.header('http://h.test/')).toBe('m=1');
    advance(1);
    expect(jar.header('http://h.test/')).toBeNull();
    expect(jar.size).toBe(0);
  });

  it('reading a Max-Age cookie does not extend its life (tough-cookie measures from last access)', () => {
    const { jar, advance } = clocked();
    jar.store('http://h.test/', ['m=1; Max-Age=60']);
    for (let i = 0; i < 5; i++) {
      advance(30_000);
      jar.header('http://h.test/');
    }
    expect(jar.header('http://h.test/')).toBeNull();
  });

  it('an Expires cookie is judged by the injected clock, not the system clock', () => {
    const { jar, advance } = clocked();
    // Expired by the system clock of any machine running this test, alive by the jar's clock.
    jar.store('http://h.test/', ['e=1; Expires=Thu, 01 Jan 2026 00:01:00 GMT']);
    expect(jar.header('http://h.test/')).toBe('e=1');
    advance(60_000);
    expect(jar.header('http://h.test/')).toBeNull();
  });

  it('Max-Age=0 or a past Expires deletes the stored cookie', () => {
    const { jar } = clocked();
    jar.store('http://h.test/', ['a=1', 'b=1']);
    jar.store('http://h.test/', ['a=; Max-Age=0', 'b=; Expires=Thu, 01 Jan 1970 00:00:00 GMT']);
    expect(jar.size).toBe(0);
    expect(jar.header('http://h.test/')).toBeNull();
  });

  it('cookiesFor reports expiry as ISO 8601, null for a session cookie', () => {
    const { jar } = clocked();
    jar.store('https://h.test/x/', ['m=1; Max-Age=60; Secure; HttpOnly; Path=/', 's=2']);
    expect(jar.cookiesFor('https://h.test/x/y')).toEqual([
      { name: 's', value: '2', domain: 'h.test', path: '/x', secure: false, httpOnly: false, expires: null },
      {
        name: 'm',
        value: '1',
        domain: 'h.test',
        path: '/',
        secure: true,
        httpOnly: true,
        expires: '2026-01-01T00:01:00.000Z',
      },
    ]);
  });
});

describe('SessionCookies: replacement', () => {
  it('a cookie with the same name, domain and path replaces the stored one; another path does not', () => {
    const jar = new SessionCookies();
    jar.store('http://h.test/', ['a=1; Path=/']);
    jar.store('http://h.test/', ['a=2; Path=/']);
    expect(jar.size).toBe(1);
    expect(jar.header('http://h.test/')).toBe('a=2');
    jar.store('http://h.test/', ['a=3; Path=/x']);
    expect(jar.size).toBe(2);
    expect(jar.header('http://h.test/x')).toBe('a=3; a=2');
  });

  it('a later import replaces an earlier one, and a server Set-Cookie replaces an imported one', () => {
    const jar = new SessionCookies();
    jar.import([txt({ name: 'sid', value: 'first' }), txt({ name: 'sid', value: 'second' })]);
    expect(jar.header('https://example.com/')).toBe('sid=second');
    jar.import([txt({ name: 'sid', value: 'third' })]);
    expect(jar.header('https://example.com/')).toBe('sid=third');
    jar.store('https://example.com/', ['sid=server; Path=/']);
    expect(jar.size).toBe(1);
    expect(jar.header('https://example.com/')).toBe('sid=server');
  });

  it('an import replaces a cookie the server set', () => {
    const jar = new SessionCookies();
    jar.store('https://example.com/', ['sid=server; Path=/']);
    jar.import([txt({ name: 'sid', value: 'file' })]);
    expect(jar.size).toBe(1);
    expect(jar.header('https://example.com/')).toBe('sid=file');
  });

  it('an imported cookie already expired by the clock is skipped', () => {
    const { jar } = clocked();
    const past = T0 / 1000 - 1;
    const future = T0 / 1000 + 3600;
    jar.import([txt({ name: 'old', expires: past }), txt({ name: 'new', expires: future })]);
    expect(jar.header('http://example.com/')).toBe('new=v');
    expect(jar.size).toBe(1);
  });

  it('includeSubdomains FALSE imports a host-only cookie, TRUE a domain cookie', () => {
    const jar = new SessionCookies();
    jar.import([
      txt({ name: 'host', includeSubdomains: false }),
      txt({ name: 'dom', includeSubdomains: true }),
    ]);
    expect(jar.header('http://example.com/')).toBe('host=v; dom=v');
    expect(jar.header('http://www.example.com/')).toBe('dom=v');
  });

  it('imported cookies keep path, HttpOnly and expiry', () => {
    const { jar } = clocked();
    jar.import([txt({ path: '/app', httpOnly: true, expires: T0 / 1000 + 60 })]);
    expect(jar.cookiesFor('http://example.com/app/x')).toEqual([
      {
        name: 'n',
        value: 'v',
        domain: 'example.com',
        path: '/app',
        secure: false,
        httpOnly: true,
        expires: '2026-01-01T00:01:00.000Z',
      },
    ]);
    expect(jar.header('http://example.com/')).toBeNull();
  });
});

describe('SessionCookies: public suffixes and bad input', () => {
  it('refuses Domain cookies on a public suffix', () => {
    const jar = new SessionCookies();
    jar.store('https://example.com/', ['a=1; Domain=com']);
    jar.store('https://x.co.uk/', ['b=1; Domain=co.uk']);
    jar.store('https://me.github.io/', ['c=1; Domain=github.io']);
    jar.store('https://a.site.test/', ['d=1; Domain=test']);
    expect(jar.size).toBe(0);
    expect(jar.header('https://other.com/')).toBeNull();
    expect(jar.header('https://y.co.uk/')).toBeNull();
    expect(jar.header('https://you.github.io/')).toBeNull();
  });

  it('refuses an imported domain cookie on a public suffix', () => {
    const jar = new SessionCookies();
    jar.import([
      txt({ domain: 'com', includeSubdomains: true }),
      txt({ domain: 'co.uk', includeSubdomains: true }),
    ]);
    expect(jar.size).toBe(0);
    expect(jar.header('https://example.com/')).toBeNull();
  });

  it('ignores Set-Cookie values that do not parse, and URLs that do not parse', () => {
    const jar = new SessionCookies();
    jar.store('http://h.test/', ['', 'novalue', '=x', ';;;']);
    jar.store('not a url', ['a=1']);
    expect(jar.size).toBe(0);
    expect(jar.header('not a url')).toBeNull();
    expect(jar.cookiesFor('not a url')).toEqual([]);
  });

  it('ignores a cookie whose name and value exceed MAX_COOKIE_BYTES', () => {
    const jar = new SessionCookies();
    jar.store('http://h.test/', [
      `big=${'x'.repeat(MAX_COOKIE_BYTES)}`,
      `ok=${'x'.repeat(MAX_COOKIE_BYTES - 2)}`,
    ]);
    expect(jar.cookiesFor('http://h.test/').map((c) => c.name)).toEqual(['ok']);
  });

  it('keeps at most MAX_COOKIES, evicting the least recently used', () => {
    const { jar, advance } = clocked();
    jar.store('http://other.test/', ['keep=1']);
    for (let i = 0; i < MAX_COOKIES + 50; i++) {
      advance(1);
      jar.store('http://h.test/', [`c${i}=1; Path=/`]);
      if (i % 100 === 0) jar.header('http://other.test/'); // the oldest cookie stays recently used
    }
    expect(jar.size).toBeLessThanOrEqual(MAX_COOKIES);
    expect(jar.header('http://other.test/')).toBe('keep=1');
    expect(jar.cookiesFor('http://h.test/').some((c) => c.name === 'c0')).toBe(false);
    expect(jar.cookiesFor('http://h.test/').some((c) => c.name === `c${MAX_COOKIES + 49}`)).toBe(true);
  });

  it('an empty jar answers null and [], and store with no Set-Cookie changes nothing', () => {
    const jar = new SessionCookies();
    jar.store('http://h.test/', []);
    expect(jar.size).toBe(0);
    expect(jar.header('http://h.test/')).toBeNull();
    expect(jar.cookiesFor('http://h.test/')).toEqual([]);
  });
});

describe('SessionCookies: JSON round trip (crash-safe state)', () => {
  function filled(): { jar: SessionCookies; now: () => Date } {
    const { jar, advance, now } = clocked();
    jar.store('https://a.example.com/app/page', [
      'sid=abc; HttpOnly; Secure; Path=/',
      'theme=dark; Max-Age=3600',
      'd=1; Domain=example.com; Path=/; SameSite=Lax',
      'ext=1; Path=/; Priority=High',
    ]);
    advance(1000);
    jar.store('http://127.0.0.1:8080/', ['local=1']);
    jar.import([txt({ name: 'file', value: '', httpOnly: true, expires: T0 / 1000 + 7200 })]);
    return { jar, now };
  }
  const urls = [
    'https://a.example.com/app/x',
    'http://a.example.com/app/x',
    'https://b.example.com/',
    'http://127.0.0.1:8080/',
    'http://127.0.0.2:8080/',
    'https://example.com/',
  ];

  it('fromJSON(toJSON()) gives the same JSON and sends the same cookies', () => {
    const { jar, now } = filled();
    const json = jar.toJSON();
    const back = SessionCookies.fromJSON(json, { now });
    expect(back.toJSON()).toBe(json);
    expect(back.size).toBe(jar.size);
    for (const url of urls) expect(back.header(url)).toBe(jar.header(url));
    expect(back.toJSON()).toBe(jar.toJSON()); // the same reads at the same time leave the same state
  });

  it('a restored jar still refuses Secure cookies over http://127.0.0.1 (CookieJar.fromJSON would not)', () => {
    const jar = new SessionCookies();
    jar.store('https://127.0.0.1/', ['s=1; Secure']);
    const back = SessionCookies.fromJSON(jar.toJSON());
    expect(back.header('https://127.0.0.1/')).toBe('s=1');
    expect(back.header('http://127.0.0.1/')).toBeNull();
    // The trap this guards against: tough-cookie's own restore drops allowSecureOnLocal: false.
    const plain = CookieJar.fromJSON(JSON.stringify({ cookies: JSON.parse(jar.toJSON()).cookies }));
    expect(plain.getCookieStringSync('http://127.0.0.1/')).toBe('s=1');
  });

  it('a restored Max-Age cookie expires at the same moment', () => {
    const { jar, advance, now } = clocked();
    jar.store('http://h.test/', ['m=1; Max-Age=60']);
    advance(30_000);
    const back = SessionCookies.fromJSON(jar.toJSON(), { now });
    advance(29_999);
    expect(back.header('http://h.test/')).toBe('m=1');
    advance(1);
    expect(back.header('http://h.test/')).toBeNull();
  });

  it('an empty jar round-trips', () => {
    const json = new SessionCookies().toJSON();
    expect(SessionCookies.fromJSON(json).toJSON()).toBe(json);
    expect(SessionCookies.fromJSON(json).size).toBe(0);
  });

  it('bad saved state throws without quoting the cookie values in it', () => {
    const secret = 'S3CRET-sid-VALUE';
    for (const bad of [
      `{"cookies":[{"key":"sid","value":"${secret}"`,
      `{"version":1,"jar":"${secret}"}`,
      'null',
    ]) {
      let message = '';
      try {
        SessionCookies.fromJSON(bad);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/^saved cookie jar: /);
      expect(message).not.toContain(secret);
    }
  });

  it('skips entries that are not cookies', () => {
    const jar = SessionCookies.fromJSON(
      JSON.stringify({
        version: 1,
        cookies: [42, null, { key: 'a', value: '1', domain: 'h.test', path: '/' }],
      }),
    );
    expect(jar.size).toBe(1);
    expect(jar.header('http://h.test/')).toBe('a=1');
  });
});

describe('SessionCookies: changes counter', () => {
  it('moves when cookies are set, replaced, deleted or expire, not when they are only read', () => {
    const { jar, advance } = clocked();
    let seen = jar.changes;
    const moved = (): boolean => {
      const now = jar.changes;
      const did = now !== seen;
      seen = now;
      return did;
    };
    jar.store('http://h.test/', ['a=1; Max-Age=60']);
    expect(moved()).toBe(true);
    jar.header('http://h.test/');
    jar.cookiesFor('http://h.test/');
    jar.store('http://h.test/', []);
    jar.store('http://h.test/', ['bad', 'x=1; Domain=com']);
    expect(moved()).toBe(false);
    jar.store('http://h.test/', ['a=2; Max-Age=60']);
    expect(moved()).toBe(true);
    advance(60_000);
    jar.header('http://h.test/');
    expect(moved()).toBe(true);
    jar.import([txt({ domain: 'h.test' })]);
    expect(moved()).toBe(true);
    jar.store('http://h.test/', ['n=; Max-Age=0']);
    expect(moved()).toBe(true);
    expect(jar.size).toBe(0);
  });
});
