import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/conc/clock.js';
import { Crawl } from '../../src/crawl/crawler.js';
import type { CrawlOptions } from '../../src/crawl/options.js';
import type { PageRecord } from '../../src/crawl/record.js';
import type { TestSite } from '../../src/testsite/server.js';
import { startCrawl, until, useSites } from '../helpers/crawl.js';

const site = useSites();

/** Runs a crawl to completion, in memory unless told otherwise, and returns its records. */
async function run(opts: Partial<CrawlOptions> & { seeds: string[] }) {
  const { crawl, records } = startCrawl(opts);
  const summary = await crawl.done;
  return { records, summary, crawl };
}

/** Requests per site page id, from the server's own counts. */
function pageHits(s: TestSite): Map<number, number> {
  const hits = new Map<number, number>();
  for (const [path, n] of s.counts) {
    const id = s.site.idOfPath(path);
    if (id !== undefined) hits.set(id, (hits.get(id) ?? 0) + n);
  }
  return hits;
}

describe('crawl', () => {
  it('reaches every in-scope page and fetches each exactly once', async () => {
    const s = await site({ pages: 300, linksPerPage: 8 });
    const { records, summary } = await run({ seeds: [s.url], workers: 8 });
    const hits = pageHits(s);
    expect(hits.size).toBe(300);
    for (const [, n] of hits) expect(n).toBe(1);
    expect(records.length).toBe(300);
    expect(new Set(records.map((r) => r.url)).size).toBe(300);
    expect(records.every((r) => r.status === 200 && r.error === null && r.title?.startsWith('Page'))).toBe(
      true,
    );
    expect(summary.pages).toBe(300);
    expect(summary.ok).toBe(300);
  });

  it('parses on worker threads with the same result as on the main thread', async () => {
    const s = await site({ pages: 80 });
    const a = await run({ seeds: [s.url], parsers: 2 });
    const b = await run({ seeds: [s.url], parsers: 0 });
    const key = (r: PageRecord) => `${r.url} ${r.title} ${r.links.join(',')}`;
    expect(a.records.map(key).sort()).toEqual(b.records.map(key).sort());
  });

  it('follows links exactly to --depth', async () => {
    const s = await site({ pages: 400, linksPerPage: 3 });
    expect(s.site.maxDepth).toBeGreaterThan(2);
    const { records } = await run({ seeds: [s.url], depth: 2 });
    const want = s.site.idsWithin(2).map((id) => new URL(s.site.pathOf(id), s.url).href);
    expect(records.map((r) => r.url).sort()).toEqual(want.sort());
    expect(Math.max(...records.map((r) => r.depth))).toBe(2);
    for (const r of records) expect(r.depth).toBe(s.site.depthOf(s.site.idOfPath(new URL(r.url).pathname)!));
  });

  it('stores exactly --max-pages records, never overshooting with in-flight work', async () => {
    const s = await site({ pages: 300, latencyMs: 5 });
    const { records } = await run({ seeds: [s.url], maxPages: 37, workers: 16 });
    expect(records.length).toBe(37);
    expect(s.site.idOfPath('/')).toBe(0);
    let pageRequests = 0;
    for (const [, n] of pageHits(s)) pageRequests += n;
    expect(pageRequests).toBe(37);
  });

  it('respects --exclude and --include patterns', async () => {
    const s = await site({ pages: 60 });
    const { records } = await run({ seeds: [s.url], exclude: ['*/p/1*'] });
    expect(records.some((r) => /\/p\/1/.test(r.url))).toBe(false);
    for (const [path] of s.counts) expect(path.startsWith('/p/1')).toBe(false);
    const inc = await run({ seeds: [s.url], include: ['/\\/p\\/\\d$/', `${s.url}`] });
    for (const r of inc.records) expect(r.url === s.url || /\/p\/\d$/.test(r.url)).toBe(true);
  });

  it('never leaves the seed host in host scope', async () => {
    const s = await site({ pages: 30 });
    const { records } = await run({ seeds: [s.url] });
    for (const r of records) expect(new URL(r.url).host).toBe(new URL(s.url).host);
  });

  it('retries 5xx and honours Retry-After, keeping the attempt count', async () => {
    const s = await site({
      pages: 5,
      faults: { unavailable: { paths: ['/p/1'], times: 2, retryAfter: 1 }, error500Paths: ['/p/2'] },
    });
    const started = Date.now();
    const { records } = await run({ seeds: [s.url], retries: 3 });
    const p1 = records.find((r) => r.url.endsWith('/p/1'))!;
    expect(p1.status).toBe(200);
    expect(p1.attempts).toBe(3);
    expect(s.counts.get('/p/1')).toBe(3);
    // Two 503s with Retry-After: 1 s each: the host was paused at least that long in all.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    const p2 = records.find((r) => r.url.endsWith('/p/2'))!;
    expect(p2.status).toBe(500);
    expect(p2.attempts).toBe(4);
    expect(p2.error).toMatch(/^http: 500/);
    expect(s.counts.get('/p/2')).toBe(4);
  });

  it('does not retry other 4xx', async () => {
    const s = await site({ pages: 3 });
    const { records } = await run({ seeds: [new URL('/missing', s.url).href, s.url], retries: 3 });
    const missing = records.find((r) => r.url.endsWith('/missing'))!;
    expect(missing.status).toBe(404);
    expect(missing.attempts).toBe(1);
    expect(s.counts.get('/missing')).toBe(1);
  });

  it('times out a slow response and records the timeout after retries', async () => {
    const s = await site({ pages: 2 });
    const slow = new URL('/fault/trickle/200', s.url).href;
    const { records } = await run({ seeds: [slow], timeoutMs: 300, retries: 1 });
    expect(records[0]!.error).toMatch(/^timeout/);
    expect(records[0]!.attempts).toBe(2);
  });

  it('keeps the global rate: burst at once, then exactly rate × elapsed on an injected clock', async () => {
    const s = await site({ pages: 60 });
    const clock = new FakeClock(1_000_000);
    const crawl = new Crawl({
      seeds: [s.url],
      rate: 10,
      burst: 5,
      workers: 8,
      parsers: 0,
      ignoreRobots: true,
      clock,
    });
    // Time stands still: only the burst may go, however long we wait in real time.
    await until(() => s.total() >= 5);
    await crawl.idle();
    expect(s.total()).toBe(5);
    // Each simulated second buys exactly `rate` more requests.
    for (let second = 1; second <= 3; second++) {
      await clock.advanceAsync(1000);
      await until(() => s.total() >= 5 + 10 * second);
      await crawl.idle();
      expect(s.total()).toBe(5 + 10 * second);
    }
    crawl.abort();
    await crawl.done;
  });

  it('never opens more connections than --max-connections', async () => {
    const s = await site({ pages: 200, latencyMs: 3 });
    await run({ seeds: [s.url], workers: 20, maxConnections: 4 });
    expect(s.connections).toBeLessThanOrEqual(4);
    expect(s.maxConcurrent).toBeLessThanOrEqual(4);
  });

  it('does not end early while pages are in flight after the frontier empties', async () => {
    // One seed, slow responses: the frontier is empty while the seed is in flight.
    const s = await site({ pages: 50, latencyMs: 40 });
    const { records } = await run({ seeds: [s.url], workers: 2 });
    expect(records.length).toBe(50);
  });

  it('records non-HTML, redirect loops and oversized bodies as that page, and goes on', async () => {
    const s = await site({ pages: 3 });
    const u = (p: string) => new URL(p, s.url).href;
    const { records } = await run({
      seeds: [
        s.url,
        u('/fault/png'),
        u('/fault/loop/a'),
        u('/fault/big/2'),
        u('/fault/gzip-bomb/50'),
        u('/fault/redirect/301/3'),
      ],
      maxBytes: 1024 * 1024,
    });
    const by = (p: string) => records.find((r) => r.url === u(p))!;
    expect(by('/fault/png').content_type).toMatch(/image\/png/);
    expect(by('/fault/png').error).toBeNull();
    expect(by('/fault/loop/a').error).toMatch(/^redirect-loop/);
    expect(by('/fault/big/2').error).toMatch(/^too-large/);
    expect(by('/fault/gzip-bomb/50').error).toMatch(/^too-large/);
    expect(by('/fault/redirect/301/3').final_url).toBe(u('/fault/landing'));
    expect(records.filter((r) => r.url.startsWith(`${s.url}p/`)).length).toBe(2);
  });

  it('writes JSONL output with every record field', async () => {
    const s = await site({ pages: 10 });
    const dir = mkdtempSync(join(tmpdir(), 'trawl-'));
    const out = join(dir, 'out.jsonl');
    await run({ seeds: [s.url], out });
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as PageRecord);
    expect(lines.length).toBe(10);
    for (const k of [
      'url',
      'final_url',
      'status',
      'depth',
      'referrer',
      'title',
      'description',
      'canonical',
      'links_count',
      'links',
      'content_type',
      'bytes',
      'fetched_at',
      'duration_ms',
      'attempts',
      'error',
    ]) {
      expect(lines[0]).toHaveProperty(k);
    }
  });

  it('streams records as an async iterable', async () => {
    const s = await site({ pages: 400 });
    const crawl = new Crawl({ seeds: [s.url], rate: Number.POSITIVE_INFINITY, parsers: 0 });
    const seen: string[] = [];
    for await (const r of crawl) {
      seen.push(r.url);
      // A slow reader: the crawl waits for it rather than dropping records.
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await crawl.done;
    expect(seen.length).toBe(400);
  });

  it('iterating a crawl that has already ended ends at once', async () => {
    const s = await site({ pages: 5 });
    const crawl = new Crawl({ seeds: [s.url], rate: Number.POSITIVE_INFINITY, parsers: 0 });
    await crawl.done;
    const seen: string[] = [];
    for await (const r of crawl) seen.push(r.url); // hung before: nothing would ever close it
    expect(seen).toEqual([]);
  });

  it('applies --extract fields and the extract() hook', async () => {
    const s = await site({ pages: 3 });
    const { records } = await run({
      seeds: [s.url],
      extract: ['heading=h1', 'firstLink=a@href'],
      extractFn: (p) => ({ size: p.html.length }),
    });
    const home = records.find((r) => r.url === s.url)!;
    expect(home.fields?.heading).toBeTruthy();
    expect(home.fields?.size).toBeGreaterThan(100);
  });

  it('stops gracefully: no new requests after stop(), in-flight ones are stored', async () => {
    const s = await site({ pages: 500, latencyMs: 20 });
    const records: PageRecord[] = [];
    const crawl = new Crawl({
      seeds: [s.url],
      rate: Number.POSITIVE_INFINITY,
      parsers: 0,
      workers: 4,
      onRecord: (r) => records.push(r),
    });
    while (records.length < 20) await new Promise((r) => setTimeout(r, 5));
    crawl.stop();
    await crawl.done;
    const fetched = [...pageHits(s).values()].reduce((a, b) => a + b, 0);
    expect(records.length).toBe(fetched);
    expect(records.length).toBeLessThan(500);
  });

  it('seeds from --sitemap (index → urlset → .xml.gz) and from robots.txt Sitemap: lines', async () => {
    const s = await site({ pages: 250, sitemap: { perFile: 60 } });
    const a = await run({ seeds: [s.url], depth: 0, sitemaps: [new URL('/sitemap.xml', s.url).href] });
    expect(new Set(a.records.map((r) => r.url)).size).toBe(250);
    expect(a.records.every((r) => r.depth === 0)).toBe(true);
    s.reset();
    const b = await run({ seeds: [s.url], depth: 0, sitemapsAuto: true });
    expect(new Set(b.records.map((r) => r.url)).size).toBe(250);
    for (const [, n] of pageHits(s)) expect(n).toBe(1);
  });

  it('records robots.txt-disallowed URLs as skipped and never requests them', async () => {
    const s = await site({ pages: 40, robots: { body: 'User-agent: *\nDisallow: /p/1\n' } });
    const { records } = await run({ seeds: [s.url] });
    for (const [path] of s.counts) expect(path.startsWith('/p/1')).toBe(false);
    const skipped = records.filter((r) => r.error?.startsWith('robots:'));
    expect(skipped.length).toBeGreaterThan(0);
    expect(skipped.every((r) => /\/p\/1/.test(r.url) && r.status === null)).toBe(true);
  });

  it('checks every redirect hop against dedup: a hop into an already-crawled URL is refused', async () => {
    const s = await site({ pages: 2 });
    const u = (p: string) => new URL(p, s.url).href;
    const { records } = await run({ seeds: [u('/fault/landing'), u('/fault/redirect/302/2')] });
    const hop = records.find((r) => r.url === u('/fault/redirect/302/2'))!;
    expect(hop.error).toMatch(/^redirect-blocked: .*already crawled/);
    expect(s.counts.get('/fault/landing')).toBe(1);
  });

  it('stops at --max-time; a request whose token would come after the deadline is never started', async () => {
    const s = await site({ pages: 50 });
    const clock = new FakeClock(7_000_000);
    const crawl = new Crawl({
      seeds: [s.url],
      rate: 1,
      burst: 1,
      maxTimeMs: 2500,
      parsers: 0,
      ignoreRobots: true,
      clock,
    });
    await until(() => s.total() >= 1);
    await clock.advanceAsync(1000);
    await until(() => s.total() >= 2);
    await clock.advanceAsync(1000);
    await until(() => s.total() >= 3);
    // The next token comes at 3 s, after the 2.5 s deadline: the crawl ends now, without it.
    const summary = await crawl.done;
    expect(s.total()).toBe(3);
    expect(summary.stopReason).toBe('max-time');
    expect(summary.frontier.queued).toBeGreaterThan(0);
  });

  it('reports why it ended', async () => {
    const s = await site({ pages: 30 });
    expect((await run({ seeds: [s.url] })).summary.stopReason).toBe('done');
    expect((await run({ seeds: [s.url], maxPages: 5 })).summary.stopReason).toBe('max-pages');
  });

  it('at the --max-time deadline it stops like a first SIGINT: in-flight pages finish and are stored', async () => {
    const s = await site({ pages: 300, latencyMs: 40 });
    const { records, summary } = await run({ seeds: [s.url], maxTimeMs: 400, workers: 4 });
    expect(summary.stopReason).toBe('max-time');
    expect(records.length).toBeLessThan(300);
    expect(records.length).toBe([...pageHits(s).values()].reduce((a, b) => a + b, 0));
  });
});
