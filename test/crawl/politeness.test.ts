import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/conc/clock.js';
import type { TestSite } from '../../src/testsite/server.js';
import { startCrawl, until, useSites } from '../helpers/crawl.js';

const site = useSites();
const start = startCrawl;
const pageRequests = (s: TestSite) => s.total() - (s.counts.get('/robots.txt') ?? 0);

describe('per-host politeness', () => {
  it("holds each host's own token bucket, counted at each server on an injected clock", async () => {
    const a = await site({ pages: 80 });
    const b = await site({ pages: 80 });
    const clock = new FakeClock(5_000_000);
    const { crawl } = start({
      seeds: [a.url, b.url],
      hostRate: 10,
      hostBurst: 2,
      workers: 8,
      ignoreRobots: true,
      clock,
    });
    await until(() => a.total() >= 2 && b.total() >= 2);
    await crawl.idle();
    expect([a.total(), b.total()]).toEqual([2, 2]);
    // A host bucket refills one token per 100 ms at 10/s (idle tokens cap at the burst), so time
    // moves in 100 ms steps: each step must buy each host exactly one more request.
    for (let step = 1; step <= 10; step++) {
      await clock.advanceAsync(100);
      await until(() => a.total() >= 2 + step && b.total() >= 2 + step);
    }
    await crawl.idle();
    expect([a.total(), b.total()]).toEqual([12, 12]);
    crawl.abort();
    await crawl.done;
  });

  it("caps each host's concurrent requests", async () => {
    const a = await site({ pages: 60, latencyMs: 20 });
    const b = await site({ pages: 60, latencyMs: 20 });
    const { crawl, records } = start({ seeds: [a.url, b.url], hostConcurrency: 2, workers: 12 });
    await crawl.done;
    expect(records.length).toBe(120);
    expect(a.maxConcurrent).toBeLessThanOrEqual(2);
    expect(b.maxConcurrent).toBeLessThanOrEqual(2);
  });

  it('a 429 storm with Retry-After pauses that host only; the other finishes meanwhile', async () => {
    const stormPaths = ['/', ...Array.from({ length: 30 }, (_, i) => `/p/${i + 1}`)];
    const storm = await site({
      pages: 30,
      faults: { tooManyRequests: { paths: stormPaths, times: 100, retryAfter: 30 } },
    });
    const calm = await site({ pages: 40 });
    const { crawl, records } = start({ seeds: [storm.url, calm.url], retries: 3, ignoreRobots: true });
    await until(() => records.filter((r) => r.url.startsWith(calm.url)).length === 40);
    // The calm host is done while the storm host still sits out its 30 s Retry-After:
    // one request to it so far, the seed's first attempt.
    expect(pageRequests(storm)).toBe(1);
    crawl.stop();
    await crawl.done;
  });

  it('honours robots.txt Crawl-delay as that host’s rate', async () => {
    const s = await site({ pages: 20, robots: { body: 'User-agent: *\nCrawl-delay: 2\n' } });
    const clock = new FakeClock(9_000_000);
    const { crawl } = start({ seeds: [s.url], clock, workers: 4 });
    await until(() => pageRequests(s) >= 1);
    await crawl.idle();
    expect(pageRequests(s)).toBe(1);
    await clock.advanceAsync(1000);
    await crawl.idle();
    expect(pageRequests(s)).toBe(1);
    await clock.advanceAsync(1000);
    await until(() => pageRequests(s) >= 2);
    await crawl.idle();
    expect(pageRequests(s)).toBe(2);
    crawl.abort();
    await crawl.done;
  });

  it('robots.txt 404 allows everything; 5xx disallows for now: the page fails with that error after its retries, unrequested', async () => {
    const open = await site({ pages: 10, robots: { status: 404 } });
    const a = start({ seeds: [open.url] });
    await a.crawl.done;
    expect(a.records.filter((r) => r.error === null).length).toBe(10);

    const broken = await site({ pages: 10, robots: { status: 503 } });
    const b = start({ seeds: [broken.url], retries: 2 });
    await b.crawl.done;
    expect(pageRequests(broken)).toBe(0);
    expect(b.records).toHaveLength(1);
    expect(b.records[0]).toMatchObject({ error: 'http: 503 on robots.txt', attempts: 3, status: null });
  });

  it('an unreachable seed fails with the connection error after its retries, not "disallowed by robots.txt"', async () => {
    const dead = await site({ pages: 1 });
    const url = dead.url;
    await dead.close(); // nothing listens on its port now
    const { crawl, records } = start({ seeds: [url], retries: 2 });
    await crawl.done;
    expect(records).toHaveLength(1);
    expect(records[0]!.error).toMatch(/^refused: connection refused/);
    expect(records[0]).toMatchObject({ attempts: 3, status: null });
  });

  it('fetches robots.txt again once it is 24 hours old, keeping the old rules meanwhile', async () => {
    const s = await site({ pages: 30 });
    const clock = new FakeClock(1_000_000);
    const { crawl } = start({ seeds: [s.url], hostRate: 1, hostBurst: 1, clock });
    await until(() => pageRequests(s) >= 1);
    expect(s.counts.get('/robots.txt')).toBe(1);
    await clock.advanceAsync(3_600_000);
    await until(() => pageRequests(s) >= 2);
    expect(s.counts.get('/robots.txt')).toBe(1); // an hour old: still fresh
    await clock.advanceAsync(86_400_000);
    await until(() => (s.counts.get('/robots.txt') ?? 0) >= 2);
    crawl.abort();
    await crawl.done;
    expect(s.counts.get('/robots.txt')).toBe(2);
  });
});

describe('per-host rate as the server sees it', () => {
  it('a request that waited for a connection does not let the next one to its host go early (injected clock)', async () => {
    const clock = new FakeClock(7_000_000);
    const servers: Server[] = [];
    const listen = async (handler: (req: IncomingMessage, res: ServerResponse) => void) => {
      const s = createServer(handler);
      servers.push(s);
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    };
    // Host A holds its one page until the test lets it go, keeping the crawl's only connection.
    let releaseA: (() => void) | null = null;
    const a = await listen((_req, res) => {
      releaseA = () => res.writeHead(200, { 'content-type': 'text/html' }).end('<title>a</title>');
    });
    // Host B notes when (on the crawl's clock) each request reached it.
    const arrivals: number[] = [];
    const b = await listen((req, res) => {
      arrivals.push(clock.now());
      const body = req.url === '/' ? '<a href="/1">1</a><a href="/2">2</a>' : 'leaf';
      res.writeHead(200, { 'content-type': 'text/html' }).end(body);
    });
    try {
      const { crawl } = startCrawl({
        seeds: [`${a}/`, `${b}/`],
        hostRate: 10, // one request per 100 ms per host
        hostBurst: 1,
        hostConcurrency: 1,
        maxConnections: 1,
        workers: 4,
        ignoreRobots: true,
        clock,
      });
      await until(() => releaseA !== null);
      // B's first page took its token at t0 and waits for the connection A holds; B's bucket
      // refills meanwhile.
      await clock.advanceAsync(100);
      releaseA!();
      for (let i = 0; i < 40 && arrivals.length < 3; i++) {
        await until(() => arrivals.length >= 1);
        await crawl.idle();
        await clock.advanceAsync(25);
      }
      await crawl.done;
      expect(arrivals).toHaveLength(3);
      for (let i = 1; i < arrivals.length; i++)
        expect(arrivals[i]! - arrivals[i - 1]!).toBeGreaterThanOrEqual(100);
    } finally {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    }
  });
});
