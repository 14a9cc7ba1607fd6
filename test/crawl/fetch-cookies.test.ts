import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CrawlAgent, createAgent } from '../../src/crawl/fetch/agent.js';
import { FetchError } from '../../src/crawl/fetch/errors.js';
import { type CookieAccess, type FetchOptions, fetchPage } from '../../src/crawl/fetch/fetch-page.js';
import { SessionCookies } from '../../src/crawl/fetch/session-cookies.js';
import { listen, stopServer, trackSockets } from '../../src/testsite/listen.js';

// Two loopback servers on different hosts (127.0.0.1 and 127.0.0.2), so that "another host" is
// real: cookies ignore ports, so two ports on one address would be one host to a jar.
//
// Both answer every path the same way and record each request's credentials:
//   ?set=<Set-Cookie value> (repeatable) — one Set-Cookie header line per value;
//   ?to=<URL>                            — 302 to that URL (else 200 'ok');
//   POST /login with user=ann&pass=pw    — 302 to /members with Set-Cookie sid=s1 (wrong form: 403).

interface Seen {
  host: 'A' | 'B';
  method: string;
  path: string;
  cookie: string | null;
  authorization: string | null;
  acceptLanguage: string | null;
}
const seen: Seen[] = [];
const servers: { server: http.Server; sockets: ReturnType<typeof trackSockets> }[] = [];
let agent: CrawlAgent;
let A = '';
let B = '';

function site(host: 'A' | 'B'): http.RequestListener {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      seen.push({
        host,
        method: req.method ?? '',
        path,
        cookie: req.headers.cookie ?? null,
        authorization: req.headers.authorization ?? null,
        acceptLanguage: req.headers['accept-language'] ?? null,
      });
      const u = new URL(path, 'http://x');
      if (u.pathname === '/login' && req.method === 'POST') {
        const ok = Buffer.concat(chunks).toString() === 'user=ann&pass=pw';
        res.writeHead(
          ok ? 302 : 403,
          ok ? { location: '/members', 'set-cookie': 'sid=s1; Path=/; HttpOnly' } : {},
        );
        res.end();
        return;
      }
      const sets = u.searchParams.getAll('set');
      if (sets.length > 0) res.setHeader('set-cookie', sets);
      const to = u.searchParams.get('to');
      if (to !== null) {
        res.writeHead(302, { location: to });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  };
}

beforeAll(async () => {
  agent = createAgent({ maxConnections: 4, connectTimeoutMs: 2000 });
  for (const [name, host] of [
    ['A', '127.0.0.1'],
    ['B', '127.0.0.2'],
  ] as const) {
    const server = http.createServer(site(name));
    servers.push({ server, sockets: trackSockets(server) });
    const { origin } = await listen(server, { host });
    if (name === 'A') A = origin;
    else B = origin;
  }
});

afterAll(async () => {
  await agent.destroy();
  for (const s of servers) await stopServer(s.server, s.sockets);
});

/** A URL on `base` with the given query (set values and a redirect target). */
function at(base: string, path: string, q: { set?: string[]; to?: string } = {}): string {
  const u = new URL(path, base);
  for (const s of q.set ?? []) u.searchParams.append('set', s);
  if (q.to !== undefined) u.searchParams.set('to', q.to);
  return u.href;
}

/** A CookieAccess that logs every call in order and answers header() from a table of URLs. */
class RecordingJar implements CookieAccess {
  readonly calls: (['header', string] | ['store', string, string[]])[] = [];
  constructor(private readonly answers: Record<string, string> = {}) {}
  header(url: string): string | null {
    this.calls.push(['header', url]);
    return this.answers[url] ?? null;
  }
  store(url: string, setCookie: readonly string[]): void {
    this.calls.push(['store', url, [...setCookie]]);
  }
}

function opts(extra: Partial<FetchOptions> = {}): FetchOptions {
  return { dispatcher: agent, timeoutMs: 5000, maxBytes: 100_000, userAgent: 'trawl-test/1', ...extra };
}

/** Runs fetchPage and returns the requests the two servers saw for it. */
async function run(url: string, extra: Partial<FetchOptions> = {}): Promise<Seen[]> {
  seen.length = 0;
  await fetchPage(url, opts(extra));
  return [...seen];
}

async function fetchError(url: string, extra: Partial<FetchOptions>): Promise<FetchError> {
  try {
    await fetchPage(url, opts(extra));
  } catch (err) {
    expect(err).toBeInstanceOf(FetchError);
    return err as FetchError;
  }
  throw new Error('fetchPage did not fail');
}

const EXPIRES = 'Wed, 21 Oct 2037 07:28:00 GMT';

describe('fetchPage: the cookie jar on every hop', () => {
  it('asks the jar with each hop URL and stores each hop response before following it', async () => {
    const end = at(A, '/end');
    const viaB = at(B, '/b', { set: ['fromB=1'], to: end });
    const start = at(A, '/start', { set: ['fromA=1; Path=/'], to: viaB });
    const jar = new RecordingJar();
    const r = await fetchPage(start, opts({ cookies: jar }));
    expect(r.redirects).toEqual([viaB, end]);
    // Store of a hop comes before the next hop's header(): a cookie set by a redirect can go on it.
    expect(jar.calls).toEqual([
      ['header', start],
      ['store', start, ['fromA=1; Path=/']],
      ['header', viaB],
      ['store', viaB, ['fromB=1']],
      ['header', end],
    ]);
  });

  it("sends each hop the jar's header for that hop's URL, and none when the jar has none", async () => {
    const end = at(A, '/end');
    const viaB = at(B, '/b', { to: end });
    const start = at(A, '/start', { to: viaB });
    const jar = new RecordingJar({ [start]: 'a=1', [viaB]: 'b=2', [end]: 'a=1; a2=2' });
    const s = await run(start, { cookies: jar });
    expect(s.map((x) => [x.host, x.cookie])).toEqual([
      ['A', 'a=1'],
      ['B', 'b=2'],
      ['A', 'a=1; a2=2'],
    ]);
    const none = await run(start, { cookies: new RecordingJar() });
    expect(none.map((x) => x.cookie)).toEqual([null, null, null]);
  });

  it('stores every Set-Cookie line of a response as its own value, Expires commas intact', async () => {
    const values = [`a=1; Expires=${EXPIRES}; Path=/`, 'b=2; Path=/', `c=3; Expires=${EXPIRES}`];
    const url = at(A, '/multi', { set: values });
    const jar = new RecordingJar();
    await fetchPage(url, opts({ cookies: jar }));
    expect(jar.calls).toEqual([
      ['header', url],
      ['store', url, values],
    ]);
    // A single line is one value too, not split at its comma.
    const one = at(A, '/one', { set: [`solo=1; Expires=${EXPIRES}`] });
    const jar1 = new RecordingJar();
    await fetchPage(one, opts({ cookies: jar1 }));
    expect(jar1.calls[1]).toEqual(['store', one, [`solo=1; Expires=${EXPIRES}`]]);
  });

  it('stores the Set-Cookie of a redirect that is then refused', async () => {
    const blocked = at(B, '/nope');
    const url = at(A, '/r', { set: ['k=v'], to: blocked });
    const jar = new RecordingJar();
    const err = await fetchError(url, { cookies: jar, checkRedirect: () => 'out of scope' });
    expect(err.kind).toBe('redirect-blocked');
    expect(jar.calls).toEqual([
      ['header', url],
      ['store', url, ['k=v']],
    ]);
  });

  it('without a jar sends no Cookie and ignores Set-Cookie', async () => {
    const s = await run(at(A, '/r', { set: ['k=v'], to: at(A, '/next') }));
    expect(s.map((x) => x.cookie)).toEqual([null, null]);
  });
});

describe("fetchPage: the caller's Cookie and Authorization headers", () => {
  it("sends the caller's Cookie first and the jar's after it", async () => {
    const url = at(A, '/p');
    const s = await run(url, {
      headers: { Cookie: 'pref=dark' },
      cookies: new RecordingJar({ [url]: 'sid=s1' }),
    });
    expect(s.map((x) => x.cookie)).toEqual(['pref=dark; sid=s1']);
    const alone = await run(url, { headers: { COOKIE: 'pref=dark' }, cookies: new RecordingJar() });
    expect(alone.map((x) => x.cookie)).toEqual(['pref=dark']);
    const noJar = await run(url, { headers: { cookie: 'pref=dark' } });
    expect(noJar.map((x) => x.cookie)).toEqual(['pref=dark']);
  });

  it("sends the caller's Cookie and Authorization to the first URL's origin only", async () => {
    const back = at(A, '/back');
    const viaB = at(B, '/b', { to: back });
    const start = at(A, '/start', { to: viaB });
    const s = await run(start, {
      headers: { Cookie: 'pref=dark', Authorization: 'Bearer t0ken' },
      cookies: new RecordingJar({ [viaB]: 'bees=1' }),
    });
    expect(s.map((x) => [x.host, x.cookie, x.authorization])).toEqual([
      ['A', 'pref=dark', 'Bearer t0ken'],
      ['B', 'bees=1', null],
      ['A', 'pref=dark', 'Bearer t0ken'],
    ]);
  });

  it('treats another port on the same address as another origin', async () => {
    // A listener that is not A: same 127.0.0.1, another port.
    const other = http.createServer(site('B'));
    const sockets = trackSockets(other);
    const { origin } = await listen(other);
    try {
      const s = await run(at(A, '/start', { to: at(origin, '/x') }), {
        headers: { authorization: 'Basic c2VjcmV0' },
      });
      expect(s.map((x) => x.authorization)).toEqual(['Basic c2VjcmV0', null]);
    } finally {
      await stopServer(other, sockets);
    }
  });
});

describe('fetchPage: browser-like default headers', () => {
  it('sends Accept-Language en-US,en;q=0.9 unless the caller gives one (any case)', async () => {
    const url = at(A, '/lang');
    expect((await run(url)).map((x) => x.acceptLanguage)).toEqual(['en-US,en;q=0.9']);
    const s = await run(at(A, '/r', { to: url }), { headers: { 'ACCEPT-language': 'de-CH' } });
    expect(s.map((x) => x.acceptLanguage)).toEqual(['de-CH', 'de-CH']);
  });
});

describe('fetchPage: no credential in results or errors', () => {
  it('keeps a rejected Cookie or Authorization value out of the error message', async () => {
    const url = at(A, '/p');
    // A header value with a line break is refused by undici before anything is sent.
    const cases: Partial<FetchOptions>[] = [
      { headers: { cookie: 'sid=S3CRET\r\nx: y' } },
      { headers: { authorization: 'Bearer S3CRET\r\nx: y' } },
      { cookies: new RecordingJar({ [url]: 'sid=S3CRET\r\nx: y' }) },
    ];
    for (const extra of cases) {
      const err = await fetchError(url, extra);
      expect(err.message).not.toContain('S3CRET');
      expect(err.message).toMatch(/^bad-url: .*invalid (cookie|authorization) header/);
    }
  });

  it('returns no request Cookie or Authorization in the FetchResult', async () => {
    const url = at(A, '/r', { to: at(A, '/end') });
    const r = await fetchPage(
      url,
      opts({
        headers: { Authorization: 'Bearer S3CRET' },
        cookies: new RecordingJar({ [url]: 'sid=S3CRET' }),
      }),
    );
    expect(JSON.stringify(r)).not.toContain('S3CRET');
  });
});

describe('fetchPage with a SessionCookies jar (end to end)', () => {
  // The jar's clock: a fixed day before the test cookies' Expires (2037), so none has expired.
  const jarOf = (): SessionCookies => new SessionCookies({ now: () => new Date('2026-12-07T00:00:00Z') });

  it('logs in with a POST whose 302 sets the cookie, and the redirected GET carries it', async () => {
    const jar = jarOf();
    seen.length = 0;
    const r = await fetchPage(at(A, '/login'), {
      ...opts({ cookies: jar, method: 'POST', body: 'user=ann&pass=pw' }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect([r.status, r.finalUrl]).toEqual([200, at(A, '/members')]);
    expect(seen.map((x) => [x.method, x.path, x.cookie])).toEqual([
      ['POST', '/login', null],
      ['GET', '/members', 'sid=s1'],
    ]);
    // Later requests of the session carry it too.
    expect((await run(at(A, '/members/2'), { cookies: jar })).map((x) => x.cookie)).toEqual(['sid=s1']);
  });

  it("sends a redirect to host B only B's cookies, and A's again when it comes back", async () => {
    const jar = jarOf();
    jar.store(at(A, '/'), ['sid=s1; Path=/']);
    const back = at(A, '/back');
    const viaB = at(B, '/b', { set: ['bees=1; Path=/'], to: back });
    const s = await run(at(A, '/start', { to: viaB }), { cookies: jar });
    expect(s.map((x) => [x.host, x.cookie])).toEqual([
      ['A', 'sid=s1'],
      ['B', null],
      ['A', 'sid=s1'],
    ]);
    // B's cookie (set by B's redirect) goes to B on the next visit, and never to A.
    expect(
      (await run(at(B, '/again', { to: at(A, '/end') }), { cookies: jar })).map((x) => x.cookie),
    ).toEqual(['bees=1', 'sid=s1']);
  });

  it('stores every Set-Cookie of one response, those with an Expires date included', async () => {
    const jar = jarOf();
    const url = at(A, '/multi', {
      set: [`a=1; Expires=${EXPIRES}; Path=/`, 'b=2; Path=/', `c=3; Expires=${EXPIRES}; Path=/`],
    });
    await fetchPage(url, opts({ cookies: jar }));
    expect(jar.size).toBe(3);
    expect(jar.cookiesFor(at(A, '/')).map((c) => [c.name, c.expires])).toEqual([
      ['a', '2037-10-21T07:28:00.000Z'],
      ['b', null],
      ['c', '2037-10-21T07:28:00.000Z'],
    ]);
    expect((await run(at(A, '/next'), { cookies: jar })).map((x) => x.cookie)).toEqual(['a=1; b=2; c=3']);
  });

  it("sends the default Accept-Language with a jar, and the caller's instead when given", async () => {
    const jar = jarOf();
    jar.store(at(A, '/'), ['sid=s1']);
    const s = await run(at(A, '/lang'), { cookies: jar });
    expect(s.map((x) => [x.acceptLanguage, x.cookie])).toEqual([['en-US,en;q=0.9', 'sid=s1']]);
    const o = await run(at(A, '/lang'), { cookies: jar, headers: { 'Accept-Language': 'fr' } });
    expect(o.map((x) => [x.acceptLanguage, x.cookie])).toEqual([['fr', 'sid=s1']]);
  });
});
