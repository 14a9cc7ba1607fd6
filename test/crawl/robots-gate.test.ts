import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/conc/clock.js';
import { Weighted } from '../../src/conc/semaphore.js';
import { type CrawlAgent, createAgent } from '../../src/crawl/fetch/agent.js';
import { RobotsGate, type RobotsGateOptions, type RobotsInfo } from '../../src/crawl/robots/robots-gate.js';

const servers: Server[] = [];
const agents: CrawlAgent[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((s) => {
      s.closeAllConnections();
      return new Promise((r) => s.close(r));
    }),
  );
  await Promise.all(agents.splice(0).map((a) => a.close()));
});

/** A loopback server whose /robots.txt answers `robots()` (status, body); counts its requests. */
async function robotsServer(robots: () => { status: number; body?: string }) {
  const counter = { requests: 0 };
  const server = createServer((req, res) => {
    if (req.url !== '/robots.txt') {
      res.writeHead(500).end();
      return;
    }
    counter.requests++;
    const { status, body = '' } = robots();
    res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, counter };
}

/** A loopback port nobody listens on: bound, then closed. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** A gate on a FakeClock whose onReady calls can be awaited in order. */
function gate(opts: Partial<RobotsGateOptions> = {}) {
  const clock = new FakeClock(10_000_000);
  const agent = createAgent({ maxConnections: 8, connectTimeoutMs: 5000 });
  agents.push(agent);
  const ready: RobotsInfo[] = [];
  let wake: (() => void) | null = null;
  const g = new RobotsGate({
    agent,
    userAgent: 'trawl-test/1.0',
    timeoutMs: 5000,
    ignore: false,
    connections: new Weighted(8),
    signal: new AbortController().signal,
    clock,
    onReady: (_host, info) => {
      ready.push(info);
      wake?.();
    },
    ...opts,
  });
  /** Resolves once onReady has been called `n` times in all. */
  const settled = async (n: number): Promise<RobotsInfo> => {
    while (ready.length < n) await new Promise<void>((r) => (wake = r));
    return ready[n - 1]!;
  };
  return { g, clock, ready, settled };
}

describe('RobotsGate.verdict: unreachable robots.txt disallows for now, not for good', () => {
  it('a port with nothing listening gives the connection error a page would get, retryable', async () => {
    const port = await deadPort();
    const { g, settled } = gate();
    g.request(`127.0.0.1:${port}`, `http://127.0.0.1:${port}/`);
    expect((await settled(1)).status).toBe('disallow-all');
    const v = g.verdict(`127.0.0.1:${port}`, `http://127.0.0.1:${port}/`);
    expect(v).toMatchObject({ kind: 'unreachable', retryable: true });
    expect(v.kind === 'unreachable' && v.error).toMatch(/^refused: connection refused/);
    expect(g.allowed(`127.0.0.1:${port}`, `http://127.0.0.1:${port}/`)).toBe(false);
  });

  it('a 503 robots.txt is asked again once the result is unreachableTtlMs old, and its rules then apply', async () => {
    let answer = { status: 503, body: '' };
    const s = await robotsServer(() => answer);
    const host = s.origin.slice('http://'.length);
    const { g, clock, settled, ready } = gate({ unreachableTtlMs: 1000 });
    g.request(host, `${s.origin}/`);
    await settled(1);
    expect(g.verdict(host, `${s.origin}/a`)).toEqual({
      kind: 'unreachable',
      error: 'http: 503 on robots.txt',
      retryable: true,
    });
    clock.advance(999);
    expect(g.verdict(host, `${s.origin}/a`).kind).toBe('unreachable');
    expect(s.counter.requests).toBe(1);

    answer = { status: 200, body: 'User-agent: *\nDisallow: /private\nSitemap: /s.xml\n' };
    clock.advance(1);
    // This verdict starts the re-fetch and still answers from what is known now.
    expect(g.verdict(host, `${s.origin}/a`).kind).toBe('unreachable');
    expect(g.verdict(host, `${s.origin}/a`).kind).toBe('unreachable'); // one fetch at a time
    const info = await settled(2);
    expect(s.counter.requests).toBe(2);
    expect(info).toMatchObject({ status: 'ok', refreshed: false, sitemaps: [`${s.origin}/s.xml`] });
    expect(g.verdict(host, `${s.origin}/a`)).toEqual({ kind: 'allow' });
    expect(g.verdict(host, `${s.origin}/private/x`)).toEqual({
      kind: 'deny',
      reason: 'robots: disallowed by robots.txt',
    });
    expect(ready).toHaveLength(2);
  });

  it('a 501 robots.txt is unreachable and not retryable; 429 is retryable', async () => {
    let status = 501;
    const s = await robotsServer(() => ({ status }));
    const host = s.origin.slice('http://'.length);
    const { g, clock, settled } = gate({ unreachableTtlMs: 0 });
    g.request(host, `${s.origin}/`);
    await settled(1);
    expect(g.verdict(host, `${s.origin}/`)).toMatchObject({ kind: 'unreachable', retryable: false });
    status = 429;
    await settled(2); // that verdict (result 0 ms old, TTL 0) asked again
    clock.advance(1);
    expect(g.verdict(host, `${s.origin}/`)).toEqual({
      kind: 'unreachable',
      error: 'http: 429 on robots.txt',
      retryable: true,
    });
  });

  it('4xx allows everything and is kept like a success (not asked again before its TTL)', async () => {
    const s = await robotsServer(() => ({ status: 404 }));
    const host = s.origin.slice('http://'.length);
    const { g, clock, settled } = gate();
    g.request(host, `${s.origin}/`);
    expect((await settled(1)).status).toBe('allow-all');
    clock.advance(3_600_000);
    expect(g.verdict(host, `${s.origin}/anything`)).toEqual({ kind: 'allow' });
    expect(s.counter.requests).toBe(1);
  });

  it('a failed 24-hour refresh keeps the rules held and tries again after refreshRetryMs', async () => {
    let answer = { status: 200, body: 'User-agent: *\nDisallow: /no\n' };
    const s = await robotsServer(() => answer);
    const host = s.origin.slice('http://'.length);
    const { g, clock, settled } = gate({ ttlMs: 60_000, refreshRetryMs: 5000 });
    g.request(host, `${s.origin}/`);
    await settled(1);
    answer = { status: 503, body: '' };
    clock.advance(60_000);
    expect(g.verdict(host, `${s.origin}/no`).kind).toBe('deny'); // starts the refresh
    // The failed refresh reports the rules still held.
    expect(await settled(2)).toMatchObject({ status: 'ok', refreshed: true });
    expect(g.verdict(host, `${s.origin}/no`).kind).toBe('deny');
    expect(g.verdict(host, `${s.origin}/yes`)).toEqual({ kind: 'allow' });
    expect(s.counter.requests).toBe(2);
    answer = { status: 200, body: 'User-agent: *\nDisallow: /yes\n' };
    clock.advance(5000);
    g.verdict(host, `${s.origin}/yes`);
    expect((await settled(3)).refreshed).toBe(true);
    expect(g.verdict(host, `${s.origin}/yes`).kind).toBe('deny');
    expect(g.verdict(host, `${s.origin}/no`).kind).toBe('allow');
  });

  it('--ignore-robots allows everything without a request', async () => {
    const s = await robotsServer(() => ({ status: 503 }));
    const host = s.origin.slice('http://'.length);
    const { g, ready } = gate({ ignore: true });
    g.request(host, `${s.origin}/`);
    expect(ready).toEqual([{ status: 'ignored', sitemaps: [], refreshed: false }]);
    expect(g.verdict(host, `${s.origin}/`)).toEqual({ kind: 'allow' });
    expect(s.counter.requests).toBe(0);
  });

  it('many robots.txt fetches at once (one per host) raise no MaxListenersExceededWarning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      let arrived = 0;
      const origins: string[] = [];
      for (let i = 0; i < 20; i++) {
        const server = createServer(() => {
          arrived++; // never answers: every fetch stays in flight
        });
        servers.push(server);
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
        origins.push(`127.0.0.1:${(server.address() as AddressInfo).port}`);
      }
      const { g } = gate({ timeoutMs: 600_000, connections: new Weighted(64) });
      for (const o of origins) g.request(o, `http://${o}/`);
      while (arrived < origins.length) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setImmediate(r)); // a warning is emitted on a later tick
      g.close();
      await agents.pop()!.close();
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('close() ends a robots.txt fetch still running, so the agent can close', async () => {
    let arrived = 0;
    const server = createServer(() => {
      arrived++; // never answers
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { g, ready } = gate({ timeoutMs: 600_000 });
    g.request(origin.slice('http://'.length), `${origin}/`);
    while (arrived === 0) await new Promise((r) => setTimeout(r, 5));
    g.close();
    await agents.pop()!.close(); // would wait for the 10-minute timeout without close()
    expect(ready).toEqual([]);
  });
});
