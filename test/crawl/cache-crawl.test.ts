/**
 * --cache on real crawls: a replayed run answers every page from the cache (no request, no rate
 * token: it finishes at a rate of one request a minute), marks records `cached: true` and gives
 * the same pages; refresh never reads; rfc9111 replays fresh responses, revalidates stale ones
 * with their validators (a 304 keeps the stored body) and never stores no-store ones.
 */

import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Crawl } from '../../src/crawl/crawler.js';
import type { CrawlOptions } from '../../src/crawl/options.js';
import type { PageRecord } from '../../src/crawl/record.js';
import { startCrawl, useSites } from '../helpers/crawl.js';
import { useScratch } from '../helpers/scratch.js';

const site = useSites();
const scratch = useScratch('trawl-cache-crawl-');
const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

async function crawlAll(opts: Partial<CrawlOptions> & { seeds: string[] }): Promise<PageRecord[]> {
  const { crawl, records } = startCrawl(opts);
  await crawl.done;
  return records;
}

/** The parts of a record that do not depend on timing or on where the response came from. */
const content = (r: PageRecord) => ({
  url: r.url,
  status: r.status,
  title: r.title,
  links: r.links,
  bytes: r.bytes,
});
const byUrl = (a: { url: string }, b: { url: string }) => (a.url < b.url ? -1 : 1);
const pagePaths = (counts: Map<string, number>) => [...counts].filter(([p]) => p !== '/robots.txt');

describe('--cache', () => {
  it('replay: a second run makes no page request, takes no rate token, and stores the same pages', async () => {
    const s = await site({ pages: 50, linksPerPage: 4, pageBytes: 1500, seed: 3 });
    const cache = `${scratch.dir()}/cache`;
    const live = await crawlAll({ seeds: [s.url], cache });
    expect(live).toHaveLength(50);
    expect(live.some((r) => r.cached)).toBe(false);
    const before = pagePaths(s.counts);
    // One request a minute: a run that needed tokens for 50 pages could not end within the test.
    const replayed = await crawlAll({ seeds: [s.url], cache, rate: 1 / 60, burst: 1 });
    expect(pagePaths(s.counts)).toEqual(before);
    expect(replayed.every((r) => r.cached === true)).toBe(true);
    expect(replayed.map(content).sort(byUrl)).toEqual(live.map(content).sort(byUrl));
  });

  it('a page that would wait past the deadline for its rate token is left unstarted, not failed, with --cache', async () => {
    const s = await site({ pages: 20, linksPerPage: 3, pageBytes: 800, seed: 6 });
    const cache = `${scratch.dir()}/cache`;
    // One token now, the next a minute later: past --max-time, so no later page is admitted.
    const records = await crawlAll({ seeds: [s.url], cache, rate: 1 / 60, burst: 1, maxTimeMs: 2000 });
    expect(records.map((r) => [r.url, r.error])).toEqual([[s.url, null]]);
    expect(pagePaths(s.counts)).toEqual([['/', 1]]);
  });

  it('refresh: fetches every page again (and stores it), then replay serves what refresh stored', async () => {
    const s = await site({ pages: 20, linksPerPage: 3, pageBytes: 800, seed: 4 });
    const cache = `${scratch.dir()}/cache`;
    await crawlAll({ seeds: [s.url], cache });
    s.reset();
    const refreshed = await crawlAll({ seeds: [s.url], cache, cacheMode: 'refresh' });
    expect(refreshed.some((r) => r.cached)).toBe(false);
    expect(pagePaths(s.counts)).toHaveLength(20);
    s.reset();
    await crawlAll({ seeds: [s.url], cache, cacheMode: 'replay' });
    expect(pagePaths(s.counts)).toHaveLength(0);
  });

  it('rfc9111: replays a fresh page, revalidates a stale one (304 keeps the body), refetches no-store', async () => {
    const hits = new Map<string, number>();
    const conditional: string[] = [];
    const server = http.createServer((req, res) => {
      const path = req.url ?? '/';
      hits.set(path, (hits.get(path) ?? 0) + 1);
      const links = '<a href="/fresh">f</a><a href="/stale">s</a><a href="/nostore">n</a>';
      const page = (title: string) =>
        `<html><head><title>${title}</title></head><body>${links}</body></html>`;
      if (path === '/stale') {
        if (req.headers['if-none-match'] === '"v1"') {
          conditional.push(path);
          res.writeHead(304, { etag: '"v1"', 'cache-control': 'max-age=0' }).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'text/html', etag: '"v1"', 'cache-control': 'max-age=0' });
        res.end(page('stale'));
        return;
      }
      const cc = path === '/nostore' ? 'no-store' : path === '/robots.txt' ? 'no-store' : 'max-age=3600';
      res.writeHead(path === '/robots.txt' ? 404 : 200, { 'content-type': 'text/html', 'cache-control': cc });
      res.end(page(path));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const cache = `${scratch.dir()}/cache`;
    const seeds = [`${base}/fresh`];
    await crawlAll({ seeds, cache, cacheMode: 'rfc9111' });
    expect(Object.fromEntries([...hits].filter(([p]) => p !== '/robots.txt'))).toEqual({
      '/fresh': 1,
      '/stale': 1,
      '/nostore': 1,
    });
    const again = await crawlAll({ seeds, cache, cacheMode: 'rfc9111' });
    expect(Object.fromEntries([...hits].filter(([p]) => p !== '/robots.txt'))).toEqual({
      '/fresh': 1,
      '/stale': 2,
      '/nostore': 2,
    });
    expect(conditional).toEqual(['/stale']);
    const rec = (p: string) => again.find((r) => r.url === `${base}${p}`)!;
    expect(rec('/fresh').cached).toBe(true);
    expect(rec('/stale')).toMatchObject({ cached: true, status: 200, title: 'stale' });
    expect(rec('/nostore').cached).toBeUndefined();
  });

  it('refuses a cache that is a file, and an unknown mode, before any request', () => {
    const file = `${scratch.dir()}/file`;
    writeFileSync(file, 'x');
    const seeds = ['http://127.0.0.1:9/'];
    expect(() => new Crawl({ seeds, cache: file })).toThrow(/--cache .* is a file, not a directory/);
    expect(() => new Crawl({ seeds, cache: `${file}-dir`, cacheMode: 'forever' as never })).toThrow(
      /--cache-mode must be replay, refresh or rfc9111/,
    );
    expect(() => new Crawl({ seeds, cacheMode: 'replay' })).toThrow(/--cache-mode needs --cache/);
  });
});
