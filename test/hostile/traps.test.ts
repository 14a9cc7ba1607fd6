/**
 * Every crawler trap of shared/conformance/crawler-traps.json that can be met over HTTP, served
 * by the test site under /trap/ (src/testsite/traps.ts): a crawl seeded at the trap, with the
 * default options (only the rate lifted), ends by itself, and each test shows which guard ended it
 * by the count of requests the server saw and the shape of what was (not) fetched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Crawl } from '../../src/crawl/crawler.js';
import type { CrawlOptions } from '../../src/crawl/options.js';
import type { PageRecord } from '../../src/crawl/record.js';
import {
  checkTraps,
  maxConsecutiveRepeats,
  pathSegments,
  QueryVariantGuard,
} from '../../src/crawl/url/traps.js';
import { startTestSite, type TestSite } from '../../src/testsite/server.js';
import { TRAP_ENTRIES, TRAP_ROBOTS, TRAP_SESSION_PAGES } from '../../src/testsite/traps.js';
import { readConformanceJson } from '../helpers/conformance.js';

let site: TestSite;
beforeAll(async () => {
  site = await startTestSite({ pages: 10, robots: { body: TRAP_ROBOTS } });
});
afterAll(async () => {
  await site.close();
});

/** Crawls from one trap entry with default options (rate lifted) and returns what happened. */
async function crawlTrap(path: string, opts: Partial<CrawlOptions> = {}) {
  site.reset();
  const records: PageRecord[] = [];
  const crawl = new Crawl({
    seeds: [new URL(path, site.url).href],
    rate: Number.POSITIVE_INFINITY,
    ...opts,
    onRecord: (r) => records.push(r),
  });
  const summary = await crawl.done;
  return { records, summary };
}

/** Requests the server saw whose raw URL (path + query) starts with `prefix`. */
function hits(prefix: string): number {
  let n = 0;
  for (const [url, c] of site.counts) if (url.startsWith(prefix)) n += c;
  return n;
}

/** Distinct raw URLs the server saw that start with `prefix`. */
function urls(prefix: string): string[] {
  return [...site.counts.keys()].filter((u) => u.startsWith(prefix));
}

describe('crawler traps end by themselves', () => {
  it('covers every trap of crawler-traps.json that HTTP can carry', () => {
    const { traps } = readConformanceJson<{ traps: { id: string }[] }>('crawler-traps.json');
    const served = new Set(TRAP_ENTRIES.map((e) => e.id));
    for (const t of traps) expect(served, t.id).toContain(t.id);
  });

  it('infinite calendar (query form): the query-variant cap (default 1000) ends it', async () => {
    const { records } = await crawlTrap('/trap/calendar?date=2025-03-15');
    // Six links per day reach millions of days within depth 100: only the cap can stop at 1000.
    expect(hits('/trap/calendar?')).toBeGreaterThanOrEqual(1000);
    expect(hits('/trap/calendar?')).toBeLessThanOrEqual(1001);
    expect(records.length).toBe(hits('/trap/calendar?'));
    expect(Math.max(...records.map((r) => r.depth))).toBeLessThan(100);
  });

  it('infinite calendar (path form): --depth (default 100) ends it', async () => {
    const { records } = await crawlTrap('/trap/calendar/2025/03/15');
    // Previous/next day from the seed: 100 days each way plus the seed.
    expect(records.length).toBe(201);
    expect(hits('/trap/calendar/')).toBe(201);
    expect(Math.max(...records.map((r) => r.depth))).toBe(100);
  });

  it('endless pagination: --depth ends both the query and the path form', async () => {
    const a = await crawlTrap('/trap/pages?page=1');
    expect(hits('/trap/pages')).toBe(201);
    expect(Math.max(...a.records.map((r) => r.depth))).toBe(100);
    const b = await crawlTrap('/trap/list/page/1/');
    expect(hits('/trap/list/')).toBe(201);
    expect(b.records.length).toBe(201);
  });

  it('session ids in URLs: stripping them fetches each of the 20 pages once', async () => {
    const { records } = await crawlTrap('/trap/session/0');
    expect(records.length).toBe(TRAP_SESSION_PAGES);
    expect(hits('/trap/session/')).toBe(TRAP_SESSION_PAGES);
    for (const u of urls('/trap/session/')) expect(u).toMatch(/^\/trap\/session\/\d+$/);
  });

  it('session ids: without stripping the same pages are fetched again and again', async () => {
    await crawlTrap('/trap/session/0', { stripSessionIds: false, maxPages: 120 });
    expect(hits('/trap/session/')).toBeGreaterThan(100); // bounded only by --max-pages here
  });

  it('tracking parameters: utm_* and fbclid are stripped, each page fetched once', async () => {
    await crawlTrap('/trap/tracking/0');
    expect(hits('/trap/tracking/')).toBe(TRAP_SESSION_PAGES);
  });

  it('relative-link explosion (/a/a/a/, /foo/bar/foo/bar/): the repeated-segment rules end it', async () => {
    const { records } = await crawlTrap('/trap/rel/');
    const fetched = urls('/trap/rel/');
    expect(fetched.length).toBeLessThan(100);
    for (const u of fetched) {
      expect(maxConsecutiveRepeats(u)).toBeLessThanOrEqual(3);
      expect(checkTraps(`http://h${u}`)).toBeNull();
    }
    // The guard did refuse links: some page links /a/a/a/a/ that was never requested.
    const refused = records.flatMap((r) => r.links).filter((l) => checkTraps(l) !== null);
    expect(refused.some((l) => l.endsWith('/a/a/a/a/'))).toBe(true);
    expect(refused.some((l) => /(foo\/bar\/.*){4}/.test(l))).toBe(true);
  });

  it('soft 404 with relative links: the segment-occurrence rule ends it', async () => {
    await crawlTrap('/trap/soft404/start');
    const fetched = urls('/trap/soft404/');
    // Words over {x, y} with each letter at most 3 times: 70 paths at most.
    expect(fetched.length).toBeLessThanOrEqual(70);
    for (const u of fetched) {
      const segs = pathSegments(u);
      expect(segs.filter((s) => s === 'x').length).toBeLessThanOrEqual(3);
    }
  });

  it('faceted navigation: the query-variant cap ends it', async () => {
    await crawlTrap('/trap/facets');
    expect(hits('/trap/facets')).toBeGreaterThanOrEqual(1000);
    expect(hits('/trap/facets')).toBeLessThanOrEqual(1001);
  });

  it('per-request tokens: the query-variant cap ends it', async () => {
    await crawlTrap('/trap/dynamic');
    expect(hits('/trap/dynamic')).toBeGreaterThanOrEqual(1000);
    expect(hits('/trap/dynamic')).toBeLessThanOrEqual(1001);
  });

  it('--max-query-variants and --max-pages-per-host change where such a trap stops', async () => {
    await crawlTrap('/trap/calendar?date=2025-03-15', { maxQueryVariants: 50 });
    expect(hits('/trap/calendar?')).toBeLessThanOrEqual(51);
    expect(hits('/trap/calendar?')).toBeGreaterThanOrEqual(50);
    const { records } = await crawlTrap('/trap/dynamic', { maxPagesPerHost: 30 });
    expect(hits('/trap/dynamic')).toBe(30);
    expect(records.filter((r) => r.error === null).length).toBe(30);
    // The rest of the leased URLs are recorded as skipped, so the crawl could end.
    expect(records.every((r) => r.error === null || r.error.startsWith('skipped: max-pages-per-host'))).toBe(
      true,
    );
  });

  it('growing URL: the URL-length cap (2048) ends it', async () => {
    const { records } = await crawlTrap('/trap/grow?q=start');
    const fetched = urls('/trap/grow');
    expect(fetched.length).toBeLessThan(40);
    for (const u of fetched) expect(u.length).toBeLessThan(2048);
    const longest = records.flatMap((r) => r.links).reduce((m, l) => Math.max(m, l.length), 0);
    expect(longest).toBeGreaterThan(2048); // the link that was refused
  });

  it('deep paths: --max-path-depth (default 32) ends it', async () => {
    await crawlTrap('/trap/deep/');
    const fetched = urls('/trap/deep/');
    expect(Math.max(...fetched.map((u) => pathSegments(u).length))).toBe(32);
    expect(fetched.length).toBe(31); // /trap/deep/ has 2 segments, then one more per page
  });

  it('redirect loops and endless redirect chains become the page error', async () => {
    const a = await crawlTrap('/trap/redirect/self');
    expect(a.records).toHaveLength(1);
    expect(a.records[0]!.error).toMatch(/^redirect-loop:/);
    expect(hits('/trap/redirect/self')).toBe(1);
    const b = await crawlTrap('/trap/redirect/grow?n=1');
    expect(b.records[0]!.error).toMatch(/^too-many-redirects:/);
    expect(hits('/trap/redirect/grow')).toBe(11); // the first request and 10 hops
  });

  it('an endless body: the body cap ends the request', async () => {
    const { records } = await crawlTrap('/trap/endless');
    expect(records).toHaveLength(1);
    expect(records[0]!.error).toMatch(/^too-large:/);
    expect(hits('/trap/endless')).toBe(1);
  });

  it('wildcard hostnames: host scope keeps the crawl on the seed host', async () => {
    const { records } = await crawlTrap('/trap/hosts');
    expect(records).toHaveLength(1);
    expect(records[0]!.links.length).toBe(4);
    expect(records[0]!.links.every((l) => new URL(l).hostname.endsWith('.localhost'))).toBe(true);
    expect(site.total()).toBe(2); // robots.txt and the seed
  });

  it('robots.txt honeypot: the disallowed link is recorded, never requested', async () => {
    const { records } = await crawlTrap('/trap/honeypot/');
    expect(hits('/trap/honeypot/secret')).toBe(0);
    const secret = records.find((r) => r.url.endsWith('/trap/honeypot/secret/'));
    expect(secret?.error).toMatch(/^robots:/);
  });
});

describe('QueryVariantGuard', () => {
  it('admits the first N distinct queries of a path, repeats of them, and query-less URLs', () => {
    const g = new QueryVariantGuard(3);
    for (const q of ['a=1', 'a=2', 'a=3']) expect(g.admit(`http://h/p?${q}`)).toBeNull();
    expect(g.admit('http://h/p?a=2')).toBeNull();
    expect(g.admit('http://h/p?a=4')).toMatch(/^trap: more than 3 query variants of http:\/\/h\/p/);
    expect(g.admit('http://h/p')).toBeNull();
    expect(g.admit('http://h/q?a=4')).toBeNull();
    expect(g.admit('http://h/p?a=1#frag')).toBeNull();
    expect(g.variants('http://h/p?x')).toBe(3);
    expect(g.refused).toBe(1);
    expect(new QueryVariantGuard(Number.POSITIVE_INFINITY).admit('http://h/p?a')).toBeNull();
    expect(() => new QueryVariantGuard(0)).toThrow(RangeError);
  });
});
