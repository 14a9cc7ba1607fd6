import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createProxyAgent } from '../../src/crawl/fetch/proxy-connect.js';
import { parseProxyUrl } from '../../src/crawl/fetch/proxy-url.js';
import { SSRF_CODE, SsrfPolicy } from '../../src/crawl/fetch/ssrf.js';
import { tunnelConnect } from '../../src/crawl/fetch/tunnel-connect.js';
import { type GuardEvent, startGuardProxy } from '../../src/crawl/render/guard-proxy.js';
import { startMicrosocks, startTinyproxy, type TestProxy } from '../helpers/proxies.js';
import { tableResolver } from '../helpers/table-resolver.js';

// Loopback only. Forbidden targets: 0.0.0.0, [::] and `evil.test` (→ 0.0.0.0 by the test resolver).

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const resolver = tableResolver({ 'site.test': '127.0.0.1', 'evil.test': '0.0.0.0' });

/** A TCP echo server on 127.0.0.1, counting connections. */
async function startEcho(): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections };
}

async function roundTrip(socket: Duplex, text: string): Promise<string> {
  cleanups.push(() => void socket.destroy());
  return new Promise((resolve, reject) => {
    let got = '';
    socket.on('data', (c: Buffer) => {
      got += c.toString();
      if (got.length >= text.length) resolve(got);
    });
    socket.once('error', reject);
    socket.resume(); // tunnelConnect hands sockets over paused
    socket.write(text);
  });
}

const policyFor = (port: number): SsrfPolicy =>
  new SsrfPolicy({ seeds: [`http://127.0.0.1:${port}/`], resolve: resolver });

async function proxy(start: () => Promise<TestProxy>): Promise<TestProxy> {
  const p = await start();
  cleanups.push(() => p.stop());
  return p;
}

describe('tunnelConnect, direct', () => {
  it('opens a raw connection to an allowed target, by address or by name', async () => {
    const echo = await startEcho();
    const open = tunnelConnect(policyFor(echo.port), null, { connectTimeoutMs: 5_000 });
    const signal = new AbortController().signal;
    expect(await roundTrip(await open({ host: '127.0.0.1', port: echo.port }, signal), 'ping')).toBe('ping');
    expect(await roundTrip(await open({ host: 'site.test', port: echo.port }, signal), 'pong')).toBe('pong');
  });

  it('refuses forbidden targets with the SsrfError, before any connection', async () => {
    const echo = await startEcho();
    const open = tunnelConnect(policyFor(echo.port), null, { connectTimeoutMs: 5_000 });
    const signal = new AbortController().signal;
    for (const host of ['0.0.0.0', '[::]', '::', 'evil.test']) {
      await expect(open({ host, port: echo.port }, signal), host).rejects.toMatchObject({ code: SSRF_CODE });
    }
    expect(echo.connections()).toBe(0);
  });

  it('rejects at once with the abort reason, and a bad port with RangeError', async () => {
    const echo = await startEcho();
    const open = tunnelConnect(policyFor(echo.port), null, { connectTimeoutMs: 5_000 });
    const ac = new AbortController();
    const reason = new Error('stop');
    ac.abort(reason);
    await expect(open({ host: '127.0.0.1', port: echo.port }, ac.signal)).rejects.toBe(reason);
    await expect(open({ host: '127.0.0.1', port: 0 }, new AbortController().signal)).rejects.toThrow(
      RangeError,
    );
    expect(() => tunnelConnect(policyFor(1), null, { connectTimeoutMs: 0 })).toThrow(RangeError);
  });
});

describe('tunnelConnect, through an upstream proxy', () => {
  it('tunnels through tinyproxy (CONNECT) and microsocks (SOCKS5) to the checked address', async () => {
    const echo = await startEcho();
    for (const p of [await proxy(() => startTinyproxy()), await proxy(() => startMicrosocks())]) {
      const open = tunnelConnect(policyFor(echo.port), parseProxyUrl(p.url), { connectTimeoutMs: 5_000 });
      const socket = await open({ host: 'site.test', port: echo.port }, new AbortController().signal);
      expect(await roundTrip(socket, `via ${p.kind}`)).toBe(`via ${p.kind}`);
      // The proxy was asked for the checked address, never the name.
      expect(await p.waitRequests(1)).toEqual([`CONNECT 127.0.0.1:${echo.port}`]);
    }
  });

  it('refuses a forbidden target before the proxy hears of it', async () => {
    const echo = await startEcho();
    const p = await proxy(() => startTinyproxy());
    const open = tunnelConnect(policyFor(echo.port), parseProxyUrl(p.url), { connectTimeoutMs: 5_000 });
    for (const host of ['0.0.0.0', '::', 'evil.test']) {
      await expect(open({ host, port: echo.port }, new AbortController().signal), host).rejects.toMatchObject(
        { code: SSRF_CODE },
      );
    }
    expect(p.requests()).toEqual([]);
    expect(echo.connections()).toBe(0);
  });
});

describe('guard proxy on a proxied route', () => {
  it('sends tunnels and forwarded requests through the upstream proxy, and refuses before it', async () => {
    let hits = 0;
    const site = http.createServer((_req, res) => {
      hits++;
      res.end('hello');
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => site.close(() => r())));
    site.on('connection', (s) => cleanups.push(() => void s.destroy()));
    const port = (site.address() as net.AddressInfo).port;
    const up = await proxy(() => startTinyproxy({ auth: { user: 'u', pass: 'p' } }));
    const spec = parseProxyUrl(up.url);
    const ssrf = { seeds: [`http://127.0.0.1:${port}/`], resolve: resolver };
    const agent = createProxyAgent(spec, { maxConnections: 2, connectTimeoutMs: 5_000, ssrf });
    const open = tunnelConnect(new SsrfPolicy(ssrf), spec, { connectTimeoutMs: 5_000 });
    const events: GuardEvent[] = [];
    const guard = await startGuardProxy({
      connect: (t, _k, s) => open(t, s),
      dispatcher: () => agent,
      onRequest: (e) => events.push(e),
    });
    cleanups.push(async () => {
      await guard.close();
      await agent.close();
    });
    const c = guard.credentials('s-1');
    const auth = `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
    const get = (target: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port: Number(new URL(guard.server).port),
            path: target,
            headers: { host: new URL(target).host, 'proxy-authorization': auth },
            agent: false,
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end();
      });
    expect(await get(`http://site.test:${port}/`)).toBe(200);
    expect(await get(`http://evil.test:${port}/`)).toBe(403);
    expect(hits).toBe(1);
    expect(await up.waitRequests(1)).toEqual([`CONNECT 127.0.0.1:${port}`]);

    // A CONNECT through the guard is a tunnel through the upstream proxy too.
    const tunnel = net.connect(Number(new URL(guard.server).port), '127.0.0.1');
    cleanups.push(() => void tunnel.destroy());
    const full = await new Promise<string>((resolve, reject) => {
      let text = '';
      tunnel.on('data', (c: Buffer) => (text += c.toString()));
      tunnel.on('close', () => resolve(text));
      tunnel.on('error', reject);
      tunnel.write(
        `CONNECT site.test:${port} HTTP/1.1\r\nHost: site.test:${port}\r\nProxy-Authorization: ${auth}\r\n\r\n` +
          `GET / HTTP/1.1\r\nHost: site.test:${port}\r\nConnection: close\r\n\r\n`,
      );
    });
    expect(full).toMatch(/^HTTP\/1\.1 200 Connection Established\r\n\r\nHTTP\/1\.1 200 OK\r\n[\s\S]*hello$/);
    expect(hits).toBe(2);
    expect(await up.waitRequests(2)).toEqual([`CONNECT 127.0.0.1:${port}`, `CONNECT 127.0.0.1:${port}`]);
    expect(events.map((e) => `${e.kind} ${e.host} ${e.outcome}`)).toEqual([
      'http site.test ok',
      'http evil.test refused',
      'connect site.test ok',
    ]);
  });
});
