import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Browser } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/crawl/fetch/agent.js';
import { SsrfPolicy } from '../../src/crawl/fetch/ssrf.js';
import { tunnelConnect } from '../../src/crawl/fetch/tunnel-connect.js';
import {
  GUARD_CHROMIUM_ARGS,
  type GuardEvent,
  type GuardProxy,
  guardVerdict,
  startGuardProxy,
} from '../../src/crawl/render/guard-proxy.js';
import { type SpaSite, startSpaSite } from '../../src/testsite/spa.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH, hasChromium, NO_CHROMIUM_MESSAGE } from '../helpers/chromium.js';
import { tableResolver } from '../helpers/table-resolver.js';
import { testCert } from '../helpers/tls-cert.js';

// Everything listens on 127.0.0.1:0. The forbidden targets are loopback forms the policy classes
// as 'unspecified' (0.0.0.0, [::]) and a test name resolving to 0.0.0.0; nothing else is aimed at.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Test names: `site.test` → 127.0.0.1 (allowed with a loopback seed), `evil.test` → 0.0.0.0. */
const resolver = tableResolver({ 'site.test': '127.0.0.1', 'evil.test': '0.0.0.0' });

async function listen(server: net.Server): Promise<number> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as net.AddressInfo).port;
}

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The origin: `/echo` answers what it received, `/cookies` two Set-Cookie, `/redirect` a 302 to 0.0.0.0. */
async function startOrigin(): Promise<{ port: number; seen: Seen[]; connections: () => number }> {
  const seen: Seen[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      seen.push(s);
      if (req.url === '/cookies') {
        res.writeHead(200, [
          'Set-Cookie',
          'a=1; Path=/',
          'Set-Cookie',
          'b=2, c=3; Path=/; HttpOnly',
          'Content-Type',
          'text/plain',
        ]);
        res.end('cookies\n');
      } else if (req.url === '/redirect') {
        res.writeHead(302, { location: `http://0.0.0.0:${port}/secret`, 'content-length': '0' });
        res.end();
      } else if (req.url === '/stream') {
        // No content-length: chunked to the proxy, which must re-frame it for its client.
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('part one, ');
        setImmediate(() => res.end('part two'));
      } else {
        res.writeHead(200, { 'content-type': 'application/json', connection: 'keep-alive' });
        res.end(JSON.stringify(s));
      }
    });
  });
  server.on('connection', () => connections++);
  const port = await listen(server);
  return { port, seen, connections: () => connections };
}

/** A raw TCP echo server (the CONNECT target), counting its connections. */
async function startEcho(): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    s.on('error', () => {});
    s.pipe(s);
  });
  const port = await listen(server);
  return { port, connections: () => connections };
}

/** A guard proxy on a loopback-seeded policy, direct route, with its events. */
async function startGuard(seed: string): Promise<{ guard: GuardProxy; events: GuardEvent[]; port: number }> {
  const ssrf = { seeds: [seed], resolve: resolver };
  const agent = createAgent({ maxConnections: 4, connectTimeoutMs: 5_000, ssrf });
  const open = tunnelConnect(new SsrfPolicy(ssrf), null, { connectTimeoutMs: 5_000 });
  const events: GuardEvent[] = [];
  const guard = await startGuardProxy({
    connect: (target, _key, signal) => open(target, signal),
    dispatcher: () => agent,
    onRequest: (e) => events.push(e),
  });
  cleanups.push(async () => {
    await guard.close();
    await agent.close();
  });
  return { guard, events, port: Number(new URL(guard.server).port) };
}

function basic(guard: GuardProxy, key: string): string {
  const c = guard.credentials(key);
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  raw: string[];
  body: string;
  reused: boolean;
}

/** One absolute-form request through the proxy with node:http. */
function viaProxy(
  proxyPort: number,
  target: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; agent?: http.Agent } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(target);
    const req = http.request(
      {
        host: '127.0.0.1',
        port: proxyPort,
        method: opts.method ?? 'GET',
        path: target,
        headers: { host: u.host, ...opts.headers },
        agent: opts.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            raw: res.rawHeaders,
            body: Buffer.concat(chunks).toString(),
            reused: req.reusedSocket,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Sends `CONNECT authority` on a fresh socket; resolves with the status line's code and the socket. */
function connectVia(
  proxyPort: number,
  authority: string,
  auth: string | null,
): Promise<{ status: number; head: string; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxyPort, '127.0.0.1');
    cleanups.push(() => void socket.destroy());
    socket.on('error', reject);
    socket.write(
      `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth === null ? '' : `Proxy-Authorization: ${auth}\r\n`}\r\n`,
    );
    let buf = '';
    const onData = (c: Buffer): void => {
      buf += c.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      resolve({ status: Number(buf.slice(9, 12)), head: buf.slice(0, end), socket });
    };
    socket.on('data', onData);
  });
}

function readN(socket: net.Socket, n: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (c: Buffer): void => {
      got += c.toString();
      if (got.length >= n) {
        socket.off('data', onData);
        resolve(got);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

describe('guard proxy: forwarding', () => {
  it('forwards a GET and a POST with its body, without hop-by-hop or proxy headers', async () => {
    const origin = await startOrigin();
    const { guard, port, events } = await startGuard(`http://127.0.0.1:${origin.port}/`);
    const base = `http://127.0.0.1:${origin.port}`;
    const auth = basic(guard, 's-1');

    const get = await viaProxy(port, `${base}/echo?q=1`, {
      headers: {
        'proxy-authorization': auth,
        'proxy-connection': 'keep-alive',
        connection: 'keep-alive, x-hop',
        'x-hop': 'must go',
        'x-kept': 'stays',
      },
    });
    expect(get.status).toBe(200);
    const seenGet = JSON.parse(get.body) as Seen;
    expect(seenGet.method).toBe('GET');
    expect(seenGet.url).toBe('/echo?q=1');
    expect(seenGet.headers['x-kept']).toBe('stays');
    expect(seenGet.headers['x-hop']).toBeUndefined();
    expect(seenGet.headers['proxy-authorization']).toBeUndefined();
    expect(seenGet.headers['proxy-connection']).toBeUndefined();
    expect(seenGet.headers.host).toBe(`127.0.0.1:${origin.port}`);

    const body = 'x'.repeat(100_000);
    const post = await viaProxy(port, `${base}/echo`, {
      method: 'POST',
      headers: { 'proxy-authorization': auth, 'content-type': 'text/plain' },
      body,
    });
    const seenPost = JSON.parse(post.body) as Seen;
    expect(seenPost.method).toBe('POST');
    expect(seenPost.body).toBe(body);

    // A chunked request body (no content-length) is streamed too.
    const chunked = await new Promise<Seen>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'PUT',
          path: `${base}/echo`,
          headers: { host: `127.0.0.1:${origin.port}`, 'proxy-authorization': auth },
          agent: false,
        },
        (res) => {
          let s = '';
          res.on('data', (c: Buffer) => (s += c.toString()));
          res.on('end', () => resolve(JSON.parse(s) as Seen));
        },
      );
      req.on('error', reject);
      req.write('one,');
      setImmediate(() => req.end('two'));
    });
    expect(chunked.method).toBe('PUT');
    expect(chunked.body).toBe('one,two');

    const streamed = await viaProxy(port, `${base}/stream`, { headers: { 'proxy-authorization': auth } });
    expect(streamed.body).toBe('part one, part two');

    expect(events.map((e) => [e.kind, e.host, e.sessionKey, e.outcome])).toEqual([
      ['http', '127.0.0.1', 's-1', 'ok'],
      ['http', '127.0.0.1', 's-1', 'ok'],
      ['http', '127.0.0.1', 's-1', 'ok'],
      ['http', '127.0.0.1', 's-1', 'ok'],
    ]);
    expect(guard.stats()).toEqual({ requests: 4, refused: 0, errors: 0 });
  });

  it('keeps the client connection alive across requests', async () => {
    const origin = await startOrigin();
    const { guard, port } = await startGuard(`http://127.0.0.1:${origin.port}/`);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    const headers = { 'proxy-authorization': basic(guard, 's-1') };
    const first = await viaProxy(port, `http://127.0.0.1:${origin.port}/echo`, { headers, agent });
    const second = await viaProxy(port, `http://127.0.0.1:${origin.port}/echo`, { headers, agent });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.reused).toBe(true);
  });

  it('passes every Set-Cookie back as its own header line', async () => {
    const origin = await startOrigin();
    const { guard, port } = await startGuard(`http://127.0.0.1:${origin.port}/`);
    const a = await viaProxy(port, `http://127.0.0.1:${origin.port}/cookies`, {
      headers: { 'proxy-authorization': basic(guard, 's-1') },
    });
    expect(a.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2, c=3; Path=/; HttpOnly']);
    const lines = a.raw.filter((_, i) => i % 2 === 0 && a.raw[i]!.toLowerCase() === 'set-cookie');
    expect(lines).toHaveLength(2);
  });

  it('hands a redirect back instead of following it, and refuses the hop when it is asked for', async () => {
    const origin = await startOrigin();
    const { guard, port, events } = await startGuard(`http://127.0.0.1:${origin.port}/`);
    const headers = { 'proxy-authorization': basic(guard, 's-1') };
    const hop0 = await viaProxy(port, `http://127.0.0.1:${origin.port}/redirect`, { headers });
    expect(hop0.status).toBe(302);
    expect(hop0.headers.location).toBe(`http://0.0.0.0:${origin.port}/secret`);
    const hop1 = await viaProxy(port, hop0.headers.location!, { headers });
    expect(hop1.status).toBe(403);
    expect(hop1.headers['proxy-status']).toBe('trawl; error=destination_ip_prohibited');
    expect(guardVerdict(hop1.status, hop1.headers as Record<string, string>)).toBe('refused');
    expect(guardVerdict(hop0.status, hop0.headers as Record<string, string>)).toBeNull();
    expect(origin.seen.map((s) => s.url)).toEqual(['/redirect']);
    expect(events.map((e) => [e.host, e.outcome])).toEqual([
      ['127.0.0.1', 'ok'],
      ['0.0.0.0', 'refused'],
    ]);
  });

  it('refuses absolute-form requests to forbidden targets with 403, and the target never sees them', async () => {
    const origin = await startOrigin();
    const { guard, port, events } = await startGuard(`http://127.0.0.1:${origin.port}/`);
    const headers = { 'proxy-authorization': basic(guard, 's-2') };
    const targets = [
      `http://0.0.0.0:${origin.port}/secret`,
      `http://[::]:${origin.port}/secret`,
      `http://evil.test:${origin.port}/secret`,
    ];
    for (const t of targets) {
      const a = await viaProxy(port, t, { headers, method: 'POST', body: 'payload' });
      expect(a.status, t).toBe(403);
    }
    expect(origin.seen).toEqual([]);
    expect(origin.connections()).toBe(0);
    expect(events.map((e) => [e.kind, e.host, e.sessionKey, e.outcome])).toEqual([
      ['http', '0.0.0.0', 's-2', 'refused'],
      ['http', '[::]', 's-2', 'refused'],
      ['http', 'evil.test', 's-2', 'refused'],
    ]);
    expect(events[2]!.error).toBe('evil.test resolves to 0.0.0.0 (unspecified)');
    expect(guard.stats()).toEqual({ requests: 3, refused: 3, errors: 0 });
  });

  it('answers 502 when the target cannot be reached', async () => {
    const closed = net.createServer();
    const deadPort = await listen(closed);
    await new Promise<void>((r) => closed.close(() => r()));
    const { guard, port, events } = await startGuard(`http://127.0.0.1:${deadPort}/`);
    const a = await viaProxy(port, `http://127.0.0.1:${deadPort}/`, {
      headers: { 'proxy-authorization': basic(guard, 's-1') },
    });
    expect(a.status).toBe(502);
    expect(a.headers['proxy-status']).toBe('trawl; error=connection_refused');
    expect(guardVerdict(a.status, a.headers as Record<string, string>)).toBe('error');
    expect(events.map((e) => e.outcome)).toEqual(['error']);
    expect(guard.stats()).toEqual({ requests: 1, refused: 0, errors: 1 });
  });

  it('answers 400 to a request that is not a proxy request', async () => {
    const origin = await startOrigin();
    const { guard, port } = await startGuard(`http://127.0.0.1:${origin.port}/`);
    const a = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, path: '/echo', headers: { 'proxy-authorization': basic(guard, 's-1') } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(a).toBe(400);
    expect(origin.seen).toEqual([]);
  });
});

describe('guard proxy: authentication', () => {
  it('answers 407 with a Basic challenge without valid credentials, for requests and CONNECT', async () => {
    const origin = await startOrigin();
    const echo = await startEcho();
    const { guard, port, events } = await startGuard(`http://127.0.0.1:${origin.port}/`);
    const target = `http://127.0.0.1:${origin.port}/echo`;
    const wrong = `Basic ${Buffer.from('s-1:not-the-password').toString('base64')}`;
    for (const headers of [{}, { 'proxy-authorization': wrong }] as Record<string, string>[]) {
      const a = await viaProxy(port, target, { headers });
      expect(a.status).toBe(407);
      expect(a.headers['proxy-authenticate']).toBe('Basic realm="trawl"');
    }
    const c1 = await connectVia(port, `127.0.0.1:${echo.port}`, null);
    expect(c1.status).toBe(407);
    expect(c1.head).toContain('Proxy-Authenticate: Basic realm="trawl"');
    const c2 = await connectVia(port, `127.0.0.1:${echo.port}`, wrong);
    expect(c2.status).toBe(407);
    expect(origin.seen).toEqual([]);
    expect(echo.connections()).toBe(0);
    expect(events).toEqual([]);
    expect(guard.stats()).toEqual({ requests: 0, refused: 0, errors: 0 });
    // The session key is the user name; any key authenticates with the proxy's password.
    const ok = await viaProxy(port, target, { headers: { 'proxy-authorization': basic(guard, 'other') } });
    expect(ok.status).toBe(200);
    expect(events.map((e) => e.sessionKey)).toEqual(['other']);
  });

  it('gives every proxy its own password and refuses session keys Basic auth cannot carry', async () => {
    const a = await startGuard('http://127.0.0.1:1/');
    const b = await startGuard('http://127.0.0.1:1/');
    expect(a.guard.credentials('s-1').password).not.toBe(b.guard.credentials('s-1').password);
    expect(a.guard.credentials('s-1').password.length).toBeGreaterThanOrEqual(24);
    expect(a.guard.server).toBe(`http://127.0.0.1:${a.port}`);
    expect(() => a.guard.credentials('a:b')).toThrow(RangeError);
    expect(() => a.guard.credentials('')).toThrow(RangeError);
  });
});

describe('guard proxy: CONNECT tunnels', () => {
  it('tunnels to an allowed loopback target and pipes bytes both ways', async () => {
    const echo = await startEcho();
    const { guard, port, events } = await startGuard(`http://127.0.0.1:${echo.port}/`);
    const c = await connectVia(port, `127.0.0.1:${echo.port}`, basic(guard, 's-1'));
    expect(c.status).toBe(200);
    const reply = readN(c.socket, 11);
    c.socket.write('hello world');
    expect(await reply).toBe('hello world');
    expect(events.map((e) => [e.kind, e.host, e.outcome])).toEqual([['connect', '127.0.0.1', 'ok']]);
    // A name the policy resolves to loopback is allowed too.
    const d = await connectVia(port, `site.test:${echo.port}`, basic(guard, 's-1'));
    expect(d.status).toBe(200);
  });

  it('refuses CONNECT to 0.0.0.0, [::] and a name resolving to 0.0.0.0 with 403, without connecting', async () => {
    const echo = await startEcho();
    const { guard, port, events } = await startGuard(`http://127.0.0.1:${echo.port}/`);
    for (const authority of [`0.0.0.0:${echo.port}`, `[::]:${echo.port}`, `evil.test:${echo.port}`]) {
      const c = await connectVia(port, authority, basic(guard, 's-3'));
      expect(c.status, authority).toBe(403);
      expect(c.head).toContain('Proxy-Status: trawl; error=destination_ip_prohibited');
    }
    expect(echo.connections()).toBe(0);
    expect(events.map((e) => [e.kind, e.host, e.outcome])).toEqual([
      ['connect', '0.0.0.0', 'refused'],
      ['connect', '[::]', 'refused'],
      ['connect', 'evil.test', 'refused'],
    ]);
    expect(events[0]!.error).toBe('0.0.0.0 is unspecified');
    expect(guard.stats()).toEqual({ requests: 3, refused: 3, errors: 0 });
  });

  it('answers 502 to a CONNECT whose target refuses, and 400 to a malformed one', async () => {
    const closed = net.createServer();
    const deadPort = await listen(closed);
    await new Promise<void>((r) => closed.close(() => r()));
    const { guard, port, events } = await startGuard(`http://127.0.0.1:${deadPort}/`);
    const c = await connectVia(port, `127.0.0.1:${deadPort}`, basic(guard, 's-1'));
    expect(c.status).toBe(502);
    const bad = await connectVia(port, 'no-port-here', basic(guard, 's-1'));
    expect(bad.status).toBe(400);
    expect(events.map((e) => e.outcome)).toEqual(['error']);
  });

  it('survives clients that vanish mid-tunnel and closes every tunnel on close(), idempotently', async () => {
    const echo = await startEcho();
    const { guard, port } = await startGuard(`http://127.0.0.1:${echo.port}/`);
    const auth = basic(guard, 's-1');
    const gone = await connectVia(port, `127.0.0.1:${echo.port}`, auth);
    gone.socket.resetAndDestroy();
    const garbage = net.connect(port, '127.0.0.1');
    garbage.on('error', () => {});
    garbage.end('\x00\x01 not http at all\r\n\r\n');
    // The proxy still serves the next client.
    const open = await connectVia(port, `127.0.0.1:${echo.port}`, auth);
    expect(open.status).toBe(200);
    const closed = new Promise<void>((r) => open.socket.once('close', () => r()));
    await guard.close();
    await closed;
    await guard.close();
    // Nothing listens any more.
    await expect(
      new Promise((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => resolve(s));
        s.on('error', reject);
      }),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

// ---------------------------------------------------------------------------------------------
// Real Chromium: every request of a page goes through the guard, redirect hops included.

describe.skipIf(!hasChromium)(
  `guard proxy with Chromium${hasChromium ? '' : ` (${NO_CHROMIUM_MESSAGE})`}`,
  () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await chromium.launch({
        executablePath: CHROMIUM_PATH,
        headless: true,
        args: [...CHROMIUM_ARGS, ...GUARD_CHROMIUM_ARGS],
        timeout: 30_000,
      });
    });
    afterAll(async () => {
      await browser?.close();
    });

    async function setup(): Promise<{ site: SpaSite; guard: GuardProxy; events: GuardEvent[] }> {
      const site = await startSpaSite({ pages: 5, apiLatencyMs: 0 });
      cleanups.push(() => site.close());
      const { guard, events } = await startGuard(site.url);
      return { site, guard, events };
    }

    async function contextFor(guard: GuardProxy, key: string, extra: { ignoreHTTPSErrors?: boolean } = {}) {
      const ctx = await browser.newContext({
        proxy: { server: guard.server, ...guard.credentials(key), bypass: '<-loopback>' },
        ...extra,
      });
      cleanups.push(() => ctx.close());
      return ctx;
    }

    const refusals = (events: GuardEvent[]): string[] =>
      events.filter((e) => e.outcome === 'refused').map((e) => `${e.kind} ${e.host}`);

    it("refuses the /probe page's private fetches, redirect hops and iframe, counts them, and still renders it", async () => {
      const { site, guard, events } = await setup();
      const page = await (await contextFor(guard, 's-probe')).newPage();
      const resp = await page.goto(`${site.url}probe`);
      expect(resp?.status()).toBe(200);
      await page.waitForFunction("document.title === 'Probe'");
      // Each probe settles one way or the other (a refusal is the guard's 403, an answer to fetch).
      const settled = site.probes.fetch.length + site.probes.frames.length;
      await page.waitForFunction(`Object.keys(window.__spa.probes).length >= ${settled}`);
      await expect.poll(() => refusals(events).length).toBeGreaterThanOrEqual(4);
      expect(site.secretHits()).toBe(0);
      expect(refusals(events).sort()).toEqual(['http 0.0.0.0', 'http 0.0.0.0', 'http 0.0.0.0', 'http [::]']);
      // The same-origin hops that 302 to 0.0.0.0 were asked for, once each, and their hops refused.
      expect(site.counts.get('/go/secret?via=fetch')).toBe(1);
      expect(site.counts.get('/go/secret?via=frame')).toBe(1);
      // The page itself rendered: its title and links came through the guard.
      expect(await page.title()).toBe('Probe');
      expect(await page.$$eval('a', (as) => as.map((a) => a.getAttribute('href')))).toEqual(['/']);
      expect(events.every((e) => e.sessionKey === 's-probe')).toBe(true);
      expect(events.filter((e) => e.outcome === 'ok').map((e) => e.host)).toContain('127.0.0.1');
      expect(guard.stats().refused).toBe(refusals(events).length);
    });

    it('control: without the guard, the /probe page does reach /secret on this Chromium', async () => {
      // What the guard test above protects against: Chromium itself lets these through.
      const site = await startSpaSite({ pages: 5, apiLatencyMs: 0 });
      cleanups.push(() => site.close());
      const ctx = await browser.newContext();
      cleanups.push(() => ctx.close());
      const page = await ctx.newPage();
      await page.goto(`${site.url}probe`);
      const settled = site.probes.fetch.length + site.probes.frames.length;
      await page.waitForFunction(`Object.keys(window.__spa.probes).length >= ${settled}`);
      await expect.poll(() => site.secretHits()).toBeGreaterThan(0);
    });

    it('refuses a navigation whose same-origin 302 leads to 0.0.0.0, at the hop', async () => {
      const { site, guard, events } = await setup();
      const page = await (await contextFor(guard, 's-nav')).newPage();
      const resp = await page.goto(`${site.url}go/secret?via=nav`);
      expect(resp?.status()).toBe(403);
      expect(guardVerdict(resp!.status(), resp!.headers())).toBe('refused');
      expect(site.counts.get('/go/secret?via=nav')).toBe(1);
      expect(site.secretHits()).toBe(0);
      // The hop is refused; after the 403 page commits, Chromium may also ask for
      // http://0.0.0.0:port/favicon.ico (when depends on load), refused the same way.
      const refused = refusals(events);
      expect(refused.length).toBeGreaterThanOrEqual(1);
      expect(new Set(refused)).toEqual(new Set(['http 0.0.0.0']));
    });

    it('sends loopback targets and https (CONNECT) through the guard: allowed ones work, forbidden ones are refused', async () => {
      const { site, guard, events } = await setup();
      const cert = testCert();
      let secureHits = 0;
      const secure = https.createServer({ key: cert.key, cert: cert.cert }, (_req, res) => {
        secureHits++;
        res.writeHead(200, { 'content-type': 'text/plain', 'access-control-allow-origin': '*' });
        res.end('secure');
      });
      const securePort = await listen(secure);
      const page = await (await contextFor(guard, 's-tls', { ignoreHTTPSErrors: true })).newPage();
      await page.goto(`${site.url}`);
      const results = await page.evaluate(
        async (urls) => {
          const out: string[] = [];
          for (const u of urls) {
            try {
              out.push(await (await fetch(u)).text());
            } catch {
              out.push('failed');
            }
          }
          return out;
        },
        [`https://127.0.0.1:${securePort}/`, `https://0.0.0.0:${securePort}/`, `https://[::]:${securePort}/`],
      );
      expect(results).toEqual(['secure', 'failed', 'failed']);
      expect(secureHits).toBe(1);
      // (Chromium may open more than one tunnel to the allowed origin.)
      const connects = new Set(
        events.filter((e) => e.kind === 'connect').map((e) => `${e.host} ${e.outcome}`),
      );
      expect([...connects]).toEqual(['127.0.0.1 ok', '0.0.0.0 refused', '[::] refused']);
      expect(refusals(events)).toEqual(['connect 0.0.0.0', 'connect [::]']);
      // localhost and [::1] go through the guard too (Chromium would otherwise bypass loopback).
      // (The test resolver knows no `localhost`, and nothing listens on [::1]: both fail, at the guard.)
      await page.goto(`http://localhost:${site.port}/`);
      await page.goto(`http://[::1]:${site.port}/`);
      expect(events.filter((e) => e.kind === 'http').map((e) => e.host)).toEqual(
        expect.arrayContaining(['localhost', '[::1]']),
      );
    });

    it('leaves WebRTC no UDP path around the guard', async () => {
      const { site, guard } = await setup();
      const dgram = await import('node:dgram');
      const udp = dgram.createSocket('udp4');
      let datagrams = 0;
      udp.on('message', () => datagrams++);
      await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
      cleanups.push(() => new Promise<void>((r) => udp.close(() => r())));
      const page = await (await contextFor(guard, 's-rtc')).newPage();
      await page.goto(site.url);
      // (Page code as a string: the tests are compiled without the DOM library.)
      const candidates = (await page.evaluate(`(async () => {
        const pc = new RTCPeerConnection({ iceServers: [{ urls: 'stun:127.0.0.1:${(udp.address() as net.AddressInfo).port}' }] });
        pc.createDataChannel('x');
        const out = [];
        pc.onicecandidate = (e) => { if (e.candidate) out.push(e.candidate.candidate); };
        await pc.setLocalDescription(await pc.createOffer());
        await new Promise((resolve) => {
          if (pc.iceGatheringState === 'complete') resolve();
          pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
        });
        pc.close();
        return out;
      })()`)) as string[];
      // Gathering completed with no candidate at all: nothing was sent (without the flag, host
      // candidates appear and STUN datagrams reach the port).
      expect(candidates).toEqual([]);
      expect(datagrams).toBe(0);
    });
  },
);
