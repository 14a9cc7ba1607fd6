import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Dispatcher } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentOptions, CrawlAgent } from '../../src/crawl/fetch/agent.js';
import { FetchError } from '../../src/crawl/fetch/errors.js';
import { fetchPage } from '../../src/crawl/fetch/fetch-page.js';
import {
  createProxyAgent,
  PROXY_CODE,
  ProxyError,
  proxyConnector,
} from '../../src/crawl/fetch/proxy-connect.js';
import { type ProxySpec, parseProxyUrl } from '../../src/crawl/fetch/proxy-url.js';
import { SsrfError, SsrfPolicy } from '../../src/crawl/fetch/ssrf.js';
import { startMicrosocks, startTinyproxy, type TestProxy } from '../helpers/proxies.js';
import { tableResolver } from '../helpers/table-resolver.js';
import { testCert } from '../helpers/tls-cert.js';

// ---------------------------------------------------------------------------------------------
// Fixtures. Everything listens on 127.0.0.1:0 and is closed after each test.

const USER = 'sekrit-user';
const PASS = 'sekrit-pass';
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Resolves the test names to loopback only (never any other address). */
const resolver = tableResolver({
  'secure.test': '127.0.0.1',
  'internal.test': '127.0.0.1',
  'site.test': '127.0.0.1',
});

async function listen(server: net.Server, host = '127.0.0.1'): Promise<number> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as net.AddressInfo).port;
}

/** A target site: counts requests and notes whether each came through `via` (checked while open). */
interface Site {
  port: number;
  requests: { url: string; viaProxy: boolean; servername: string | null }[];
}

async function site(kind: 'http' | 'https', via: TestProxy | null, host = '127.0.0.1'): Promise<Site> {
  const s: Site = { port: 0, requests: [] };
  const handler: http.RequestListener = (req, res) => {
    const sock = req.socket as net.Socket & { servername?: string | false };
    s.requests.push({
      url: req.url ?? '',
      viaProxy: via?.ownsSocket(sock.remotePort!) ?? false,
      servername: typeof sock.servername === 'string' ? sock.servername : null,
    });
    res.setHeader('content-type', 'text/plain');
    res.end(`hello from ${kind} ${req.url}`);
  };
  const server =
    kind === 'http' ? http.createServer(handler) : https.createServer({ ...testCert() }, handler);
  s.port = await listen(server, host);
  return s;
}

function spec(proxy: TestProxy | string): ProxySpec {
  return parseProxyUrl(typeof proxy === 'string' ? proxy : proxy.url);
}

function agentFor(proxy: ProxySpec, more: Partial<AgentOptions> = {}): CrawlAgent {
  const agent = createProxyAgent(proxy, {
    maxConnections: 4,
    connectTimeoutMs: 5_000,
    connect: { ca: testCert().cert },
    ...more,
  });
  cleanups.push(() => agent.destroy());
  return agent;
}

async function get(agent: Dispatcher, url: string, timeoutMs = 5_000, signal?: AbortSignal) {
  return fetchPage(url, { dispatcher: agent, timeoutMs, maxBytes: 1 << 20, userAgent: 'trawl-test', signal });
}

/** What a request through `agent` rejects with, straight from undici (no fetchPage wrapping). */
async function rawError(agent: Dispatcher, url: string): Promise<Error> {
  const u = new URL(url);
  try {
    const res = await agent.request({ origin: u.origin, path: u.pathname, method: 'GET' });
    await res.body.dump();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the request to fail');
}

function expectNoSecrets(err: unknown): void {
  let cur: unknown = err;
  for (let depth = 0; depth < 6 && cur instanceof Error; depth++) {
    expect(cur.message).not.toContain(USER);
    expect(cur.message).not.toContain(PASS);
    expect(String(cur.stack)).not.toContain(PASS);
    cur = cur.cause;
  }
}

/** A fake proxy: a raw TCP server running `onConn` for every connection, counting them. */
async function fakeProxy(
  onConn: (s: net.Socket) => void,
): Promise<{ port: number; connections: () => number }> {
  let n = 0;
  const server = net.createServer((s) => {
    n++;
    s.on('error', () => {});
    onConn(s);
  });
  const port = await listen(server);
  return { port, connections: () => n };
}

// ---------------------------------------------------------------------------------------------

describe('through real tinyproxy (HTTP CONNECT)', () => {
  let open: TestProxy;
  let authed: TestProxy;
  beforeAll(async () => {
    [open, authed] = await Promise.all([
      startTinyproxy(),
      startTinyproxy({ auth: { user: USER, pass: PASS } }),
    ]);
  });
  afterAll(async () => {
    await open?.stop();
    await authed?.stop();
  });

  it('tunnels an http target: the site sees the proxy connect, the proxy logs the CONNECT', async () => {
    const target = await site('http', open);
    const before = open.requests().length;
    const r = await get(agentFor(spec(open)), `http://127.0.0.1:${target.port}/a`);
    expect(r.status).toBe(200);
    expect(r.text).toBe('hello from http /a');
    expect(target.requests).toEqual([{ url: '/a', viaProxy: true, servername: null }]);
    expect((await open.waitRequests(before + 1)).slice(before)).toEqual([`CONNECT 127.0.0.1:${target.port}`]);
  });

  it('tunnels an https target with TLS over the tunnel, servername = the target name, the resolved IP sent', async () => {
    const target = await site('https', open);
    const before = open.requests().length;
    const agent = agentFor(spec(open), { ssrf: { allowPrivate: true, resolve: resolver } });
    const r = await get(agent, `https://secure.test:${target.port}/s`);
    expect(r.text).toBe('hello from https /s');
    expect(target.requests).toEqual([{ url: '/s', viaProxy: true, servername: 'secure.test' }]);
    // The proxy was asked for the checked address, not the name (no second resolution to rebind).
    expect((await open.waitRequests(before + 1)).slice(before)).toEqual([`CONNECT 127.0.0.1:${target.port}`]);
  });

  it('keeps the tunnel alive: two requests to one origin make one CONNECT', async () => {
    const target = await site('http', open);
    const before = open.requests().length;
    // One socket per origin: with more, undici's pool may open a second one for a request sent
    // right after the previous one completed (before its 'drain'), proxy or not.
    const agent = agentFor(spec(open), { maxConnections: 1 });
    await get(agent, `http://127.0.0.1:${target.port}/1`);
    await get(agent, `http://127.0.0.1:${target.port}/2`);
    expect(target.requests.map((r) => r.viaProxy)).toEqual([true, true]);
    expect(open.requests().slice(before)).toEqual([`CONNECT 127.0.0.1:${target.port}`]);
  });

  it('sends an IPv6 target in brackets', async () => {
    const target = await site('http', null, '::1');
    const before = open.requests().length;
    const r = await get(agentFor(spec(open)), `http://[::1]:${target.port}/v6`);
    expect(r.text).toBe('hello from http /v6');
    expect((await open.waitRequests(before + 1)).slice(before)).toEqual([`CONNECT [::1]:${target.port}`]);
  });

  it('authenticates with Proxy-Authorization Basic', async () => {
    const target = await site('http', authed);
    const r = await get(agentFor(spec(authed)), `http://127.0.0.1:${target.port}/auth`);
    expect(r.status).toBe(200);
    expect(target.requests).toEqual([{ url: '/auth', viaProxy: true, servername: null }]);
  });

  it('a wrong password is reason auth (tinyproxy: 401), the target never reached, no secret in the message', async () => {
    const target = await site('http', authed);
    const wrong = spec(`http://${USER}:wrong-${PASS}@127.0.0.1:${authed.port}`);
    const err = await rawError(agentFor(wrong), `http://127.0.0.1:${target.port}/`);
    expect(err).toBeInstanceOf(ProxyError);
    // tinyproxy answers a wrong password with 401 (and missing credentials with 407).
    expect(err).toMatchObject({ code: PROXY_CODE, reason: 'auth', status: 401, proxy: authed.display });
    expect(err.message).toBe(`proxy ${authed.display}: refused the credentials (CONNECT answered 401)`);
    expectNoSecrets(err);
    const viaFetch = await get(agentFor(wrong), `http://127.0.0.1:${target.port}/`).catch((e: unknown) => e);
    expect(viaFetch).toBeInstanceOf(FetchError);
    expectNoSecrets(viaFetch);
    expect(target.requests).toEqual([]);
  });

  it('no credentials for a proxy that wants them is reason auth', async () => {
    const err = await rawError(agentFor(spec(authed.display)), 'http://127.0.0.1:9/');
    expect(err).toMatchObject({ reason: 'auth', status: 407 });
  });

  it('a target the proxy cannot reach is reason status with the proxy answer', async () => {
    const closed = await listen(net.createServer());
    await cleanups.pop()!(); // close it again: the port now refuses
    const err = await rawError(agentFor(spec(open)), `http://127.0.0.1:${closed}/`);
    expect(err).toMatchObject({ reason: 'status', status: 500 });
  });
});

describe('through real microsocks (SOCKS5)', () => {
  let open: TestProxy;
  let authed: TestProxy;
  beforeAll(async () => {
    [open, authed] = await Promise.all([
      startMicrosocks(),
      startMicrosocks({ auth: { user: USER, pass: PASS } }),
    ]);
  });
  afterAll(async () => {
    await open?.stop();
    await authed?.stop();
  });

  it('tunnels an http target', async () => {
    const target = await site('http', open);
    const before = open.requests().length;
    const r = await get(agentFor(spec(open)), `http://127.0.0.1:${target.port}/x`);
    expect(r.text).toBe('hello from http /x');
    expect(target.requests).toEqual([{ url: '/x', viaProxy: true, servername: null }]);
    expect((await open.waitRequests(before + 1)).slice(before)).toEqual([`CONNECT 127.0.0.1:${target.port}`]);
  });

  it('tunnels an https target by checked address, with the name as servername', async () => {
    const target = await site('https', open);
    const before = open.requests().length;
    const agent = agentFor(spec(open), { ssrf: { allowPrivate: true, resolve: resolver } });
    const r = await get(agent, `https://secure.test:${target.port}/y`);
    expect(r.text).toBe('hello from https /y');
    expect(target.requests).toEqual([{ url: '/y', viaProxy: true, servername: 'secure.test' }]);
    expect((await open.waitRequests(before + 1)).slice(before)).toEqual([`CONNECT 127.0.0.1:${target.port}`]);
  });

  it('authenticates with RFC 1929 user/password', async () => {
    const target = await site('https', authed);
    const r = await get(agentFor(spec(authed)), `https://127.0.0.1:${target.port}/z`);
    expect(r.text).toBe('hello from https /z');
    expect(target.requests).toEqual([{ url: '/z', viaProxy: true, servername: null }]);
  });

  it('a wrong password is reason auth, with no secret in the message', async () => {
    const target = await site('http', authed);
    const err = await rawError(
      agentFor(spec(`socks5://${USER}:wrong-${PASS}@127.0.0.1:${authed.port}`)),
      `http://127.0.0.1:${target.port}/`,
    );
    expect(err).toMatchObject({ code: PROXY_CODE, reason: 'auth', proxy: authed.display });
    expectNoSecrets(err);
    expect(target.requests).toEqual([]);
  });

  it('no credentials for a proxy that wants them is reason auth', async () => {
    const err = await rawError(agentFor(spec(authed.display)), 'http://127.0.0.1:9/');
    expect(err).toMatchObject({ reason: 'auth' });
    expect(err.message).toContain('wants credentials');
  });

  it('sends an IPv6 target as a SOCKS5 IPv6 address', async () => {
    const target = await site('http', null, '::1');
    const before = open.requests().length;
    const r = await get(agentFor(spec(open)), `http://[::1]:${target.port}/v6`);
    expect(r.text).toBe('hello from http /v6');
    expect(target.requests.map((q) => q.url)).toEqual(['/v6']);
    expect((await open.waitRequests(before + 1)).slice(before)).toEqual([`CONNECT ::1:${target.port}`]);
  });

  it('a target that refuses is reason status with the SOCKS5 reply code', async () => {
    const closed = await listen(net.createServer());
    await cleanups.pop()!();
    const err = await rawError(agentFor(spec(open)), `http://127.0.0.1:${closed}/`);
    expect(err).toMatchObject({ reason: 'status', status: 5 });
    expect(err.message).toContain('connection refused');
  });
});

describe('https:// proxy (TLS to the proxy, then CONNECT)', () => {
  let behind: TestProxy;
  beforeAll(async () => {
    behind = await startTinyproxy({ auth: { user: USER, pass: PASS } });
  });
  afterAll(async () => behind?.stop());

  it('tunnels http and https targets through a TLS front of real tinyproxy', async () => {
    let fronted = 0;
    // TLS terminator in front of tinyproxy: trawl speaks TLS to it, tinyproxy speaks CONNECT.
    const front = tls.createServer({ ...testCert() }, (s) => {
      fronted++;
      const up = net.connect(behind.port, '127.0.0.1');
      s.pipe(up).pipe(s);
      s.on('error', () => up.destroy());
      up.on('error', () => s.destroy());
    });
    const frontPort = await listen(front);
    const agent = agentFor(spec(`https://${USER}:${PASS}@127.0.0.1:${frontPort}`));
    const plain = await site('http', behind);
    const secure = await site('https', behind);
    expect((await get(agent, `http://127.0.0.1:${plain.port}/p`)).text).toBe('hello from http /p');
    expect((await get(agent, `https://127.0.0.1:${secure.port}/q`)).text).toBe('hello from https /q');
    expect(plain.requests.map((r) => r.viaProxy)).toEqual([true]);
    expect(secure.requests.map((r) => r.viaProxy)).toEqual([true]);
    expect(fronted).toBe(2);
  });

  it('an untrusted proxy certificate is reason protocol', async () => {
    const front = tls.createServer({ ...testCert() }, (s) => s.destroy());
    const port = await listen(front);
    const agent = createProxyAgent(spec(`https://127.0.0.1:${port}`), {
      maxConnections: 1,
      connectTimeoutMs: 5_000,
    });
    cleanups.push(() => agent.destroy());
    const err = await rawError(agent, 'http://127.0.0.1:9/');
    expect(err).toMatchObject({ reason: 'protocol' });
    expect(err.message).toContain('TLS to the proxy failed');
  });
});

describe('SSRF through a proxy', () => {
  it('refuses a private target before contacting the proxy; allowPrivate sends the checked IP', async () => {
    const proxy = await startTinyproxy();
    cleanups.push(() => proxy.stop());
    const target = await site('http', proxy);

    const guarded = agentFor(spec(proxy), { ssrf: { resolve: resolver } });
    const err = await rawError(guarded, `http://internal.test:${target.port}/secret`);
    expect(err).toBeInstanceOf(SsrfError);
    expect(err.message).toBe('internal.test resolves to 127.0.0.1 (loopback)');
    const viaFetch = await get(guarded, `http://internal.test:${target.port}/secret`).catch(
      (e: unknown) => e,
    );
    expect(viaFetch).toMatchObject({ kind: 'ssrf' });
    // An IP literal is refused the same way.
    expect(await rawError(guarded, `http://127.0.0.1:${target.port}/`)).toBeInstanceOf(SsrfError);

    const allowed = agentFor(spec(proxy), { ssrf: { allowPrivate: true, resolve: resolver } });
    expect((await get(allowed, `http://internal.test:${target.port}/ok`)).status).toBe(200);
    expect(target.requests).toEqual([{ url: '/ok', viaProxy: true, servername: null }]);
    // The refused requests never reached the proxy: its only request is the allowed one, by IP.
    expect(await proxy.waitRequests(1)).toEqual([`CONNECT 127.0.0.1:${target.port}`]);
  });

  it('a refused target opens no connection to the proxy at all', async () => {
    const fake = await fakeProxy((s) => s.destroy());
    const agent = agentFor(spec(`http://127.0.0.1:${fake.port}`), { ssrf: { resolve: resolver } });
    expect(await rawError(agent, 'http://internal.test:80/')).toBeInstanceOf(SsrfError);
    expect(fake.connections()).toBe(0);
  });

  it('without a policy the proxy is sent the name', async () => {
    let line = '';
    const fake = await fakeProxy((s) => {
      s.once('data', (d: Buffer) => {
        line = d.toString('latin1').split('\r\n')[0]!;
        s.end('HTTP/1.1 502 Bad Gateway\r\nProxy-Status: fake; error=dns_error\r\n\r\n');
      });
    });
    const err = await rawError(agentFor(spec(`http://127.0.0.1:${fake.port}`)), 'http://site.test:8080/');
    expect(line).toBe('CONNECT site.test:8080 HTTP/1.1');
    expect(err).toMatchObject({ reason: 'status', status: 502, proxyStatus: 'fake; error=dns_error' });
    expect(err.message).toBe(
      `proxy http://127.0.0.1:${fake.port}: CONNECT to site.test:8080 answered 502 Bad Gateway`,
    );
  });
});

describe('a misbehaving proxy fails one connect, once, and requests settle', () => {
  it('accepts and closes without answering: reason closed, exactly one connection for one request', async () => {
    const fake = await fakeProxy((s) => s.destroy());
    const agent = agentFor(spec(`http://${USER}:${PASS}@127.0.0.1:${fake.port}`));
    const err = await rawError(agent, 'http://127.0.0.1:9/');
    expect(err).toMatchObject({ code: PROXY_CODE, reason: 'closed' });
    expectNoSecrets(err);
    const viaFetch = await get(agent, 'http://127.0.0.1:9/').catch((e: unknown) => e);
    expect(viaFetch).toBeInstanceOf(FetchError);
    expectNoSecrets(viaFetch);
    // Two requests, two connections: nothing reconnected in a loop behind them.
    expect(fake.connections()).toBe(2);
    expect(agent.connections.failed).toBe(2);
  });

  it('the same over SOCKS5: closed after the greeting', async () => {
    const fake = await fakeProxy((s) => s.once('data', () => s.destroy()));
    const err = await rawError(agentFor(spec(`socks5://127.0.0.1:${fake.port}`)), 'http://127.0.0.1:9/');
    expect(err).toMatchObject({ reason: 'closed' });
    expect(fake.connections()).toBe(1);
  });

  it('answers garbage: reason protocol at once, one connection', async () => {
    const fake = await fakeProxy((s) => s.once('data', () => s.write('SSH-2.0-OpenSSH_9.2\r\n')));
    const err = await rawError(agentFor(spec(`http://127.0.0.1:${fake.port}`)), 'http://127.0.0.1:9/');
    expect(err).toMatchObject({ reason: 'protocol' });
    expect(fake.connections()).toBe(1);
    const socks = await fakeProxy((s) => s.once('data', () => s.write('HTTP/1.1 400 Bad\r\n\r\n')));
    const serr = await rawError(agentFor(spec(`socks5://127.0.0.1:${socks.port}`)), 'http://127.0.0.1:9/');
    expect(serr).toMatchObject({ reason: 'protocol' });
  });

  it('a 200 followed by stray bytes is reason protocol', async () => {
    const fake = await fakeProxy((s) =>
      s.once('data', () => s.write('HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 200 OK\r\n')),
    );
    const err = await rawError(agentFor(spec(`http://127.0.0.1:${fake.port}`)), 'http://127.0.0.1:9/');
    expect(err).toMatchObject({ reason: 'protocol' });
  });

  it('never answers: the connect fails with reason timeout at its deadline, one connection', async () => {
    const fake = await fakeProxy(() => {});
    const agent = agentFor(spec(`http://127.0.0.1:${fake.port}`), { connectTimeoutMs: 200 });
    const err = await rawError(agent, 'http://127.0.0.1:9/');
    expect(err).toMatchObject({ reason: 'timeout' });
    expect(err.message).toBe(`proxy http://127.0.0.1:${fake.port}: no tunnel to 127.0.0.1:9 within 200 ms`);
    expect(fake.connections()).toBe(1);
  });

  it('never answers: a request settles by its own deadline even when the connect deadline is later', async () => {
    const fake = await fakeProxy(() => {});
    const agent = agentFor(spec(`http://127.0.0.1:${fake.port}`), { connectTimeoutMs: 60_000 });
    const started = performance.now();
    const err = await get(agent, 'http://127.0.0.1:9/', 150).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'timeout' });
    // Far below the connect deadline: the request did not wait for the tunnel.
    expect(performance.now() - started).toBeLessThan(30_000);
    expect(fake.connections()).toBe(1);
  });

  it('never answers: a request settles on abort', async () => {
    const ac = new AbortController();
    const fake = await fakeProxy(() => ac.abort(new Error('user stop')));
    const agent = agentFor(spec(`socks5://127.0.0.1:${fake.port}`), { connectTimeoutMs: 60_000 });
    const err = await get(agent, 'http://127.0.0.1:9/', 60_000, ac.signal).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'aborted' });
    expect(fake.connections()).toBe(1);
    // The abandoned connect still ends at its deadline; later requests are unaffected.
    const target = await site('http', null);
    const ok = createProxyAgent(spec(await startTinyproxyFor()), {
      maxConnections: 1,
      connectTimeoutMs: 5_000,
    });
    cleanups.push(() => ok.destroy());
    expect((await get(ok, `http://127.0.0.1:${target.port}/`)).status).toBe(200);
  });

  it('a tunnel closed right after 200: the request fails once, nothing reconnects behind it', async () => {
    const fake = await fakeProxy((s) =>
      s.once('data', () => s.end('HTTP/1.1 200 Connection established\r\n\r\n')),
    );
    const agent = agentFor(spec(`http://127.0.0.1:${fake.port}`));
    const err = await get(agent, 'http://127.0.0.1:9/').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FetchError);
    expect(fake.connections()).toBe(1);
  });

  it('a target that stalls TLS inside the tunnel hits the whole-connect deadline (a target timeout)', async () => {
    const proxy = await startTinyproxy();
    cleanups.push(() => proxy.stop());
    const silent = await fakeProxy(() => {}); // a "target" that accepts and never speaks TLS
    const agent = agentFor(spec(proxy), { connectTimeoutMs: 300 });
    const err = await rawError(agent, `https://127.0.0.1:${silent.port}/`);
    expect(err).toMatchObject({ code: 'UND_ERR_CONNECT_TIMEOUT' });
    expect(err.message).toBe(
      `connect to 127.0.0.1:${silent.port} through ${proxy.display} timed out after 300 ms`,
    );
    expect(silent.connections()).toBe(1);
  });

  it('a proxy that is not listening is reason refused', async () => {
    const port = await listen(net.createServer());
    await cleanups.pop()!();
    const err = await rawError(
      agentFor(spec(`http://${USER}:${PASS}@127.0.0.1:${port}`)),
      'http://127.0.0.1:9/',
    );
    expect(err).toMatchObject({ reason: 'refused' });
    expect(err.message).toBe(`proxy http://127.0.0.1:${port}: cannot connect (ECONNREFUSED)`);
  });

  it('answers 503 itself: reason status, with its Proxy-Status', async () => {
    const fake = await fakeProxy((s) =>
      s.once('data', () =>
        s.end('HTTP/1.1 503 Service Unavailable\r\nProxy-Status: fake; error=proxy_internal_error\r\n\r\n'),
      ),
    );
    const err = await rawError(agentFor(spec(`http://127.0.0.1:${fake.port}`)), 'http://127.0.0.1:9/');
    expect(err).toMatchObject({
      reason: 'status',
      status: 503,
      proxyStatus: 'fake; error=proxy_internal_error',
    });
  });
});

describe('proxyConnector', () => {
  it('refuses a non-positive deadline', () => {
    expect(() => proxyConnector(spec('http://127.0.0.1:1'), { timeoutMs: 0 })).toThrow(RangeError);
  });

  it('checks the target with the policy before connecting to the proxy', async () => {
    const fake = await fakeProxy((s) => s.destroy());
    const connect = proxyConnector(spec(`socks5://127.0.0.1:${fake.port}`), {
      timeoutMs: 1_000,
      ssrf: new SsrfPolicy({ resolve: resolver }),
    });
    const err = await new Promise<Error | null>((resolve) =>
      connect({ hostname: 'internal.test', protocol: 'http:', port: '80' }, (...args) => resolve(args[0])),
    );
    expect(err).toBeInstanceOf(SsrfError);
    expect(fake.connections()).toBe(0);
  });
});

/** A fresh tinyproxy for one test, stopped after it. */
async function startTinyproxyFor(): Promise<string> {
  const p = await startTinyproxy();
  cleanups.push(() => p.stop());
  return p.url;
}
