/**
 * `--recrawl` in distributed mode (issue 14): two processes on one crawl through a real
 * redis-server crawl the generations test site, the site moves one generation, and a recrawl pass
 * by two processes finds exactly the changed, gone and new pages, asks each known page once with
 * its validators, exports each pass's records (`trawl export --redis`), honours --changed-only and
 * --recrawl-after, and a sitemap lastmod forces a page under auto.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Crawl } from '../../src/crawl/crawler.js';
import { distributedCrawl, joinCrawl } from '../../src/crawl/distributed-crawl.js';
import type { PageRecord } from '../../src/crawl/record.js';
import { exportRedis } from '../../src/crawl/redis/export.js';
import { formatRedisStatus, readRedisStatus } from '../../src/crawl/redis/redis-status.js';
import { useSites } from '../helpers/crawl.js';
import { expectChanges, idOf } from '../helpers/recrawl.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const site = useSites();
const SITE = { pages: 120, linksPerPage: 5, pageBytes: 1200, seed: 5 } as const;
const RECRAWL = { changeFraction: 0.1, goneFraction: 0.05, growFraction: 0.5 } as const;

let redis: TestRedis;
beforeEach(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  await redis.stop();
});

/** A pass by two processes (the one that starts it and a joined worker); the records both stored. */
async function pass(seed: string, extra: Record<string, unknown> = {}): Promise<PageRecord[]> {
  const common = { redis: redis.url, allowPrivate: true, rate: Number.POSITIVE_INFINITY, depth: 100 };
  const records: PageRecord[] = [];
  const first = await distributedCrawl({ ...common, seeds: [seed], name: 'r', ...extra });
  const second = await joinCrawl({ ...common, name: 'r' });
  const collect = async (c: Crawl) => {
    for await (const r of c) records.push(r);
  };
  await Promise.all([collect(first), collect(second), first.done, second.done]);
  return records;
}

/** The current pass's records as `trawl export --redis` writes them. */
async function exported(): Promise<PageRecord[]> {
  const file = join(redis.dir, `export-${Math.random().toString(36).slice(2)}.jsonl`);
  await exportRedis(redis.client(), 'r', file);
  const text = readFileSync(file, 'utf8').trim();
  return text === '' ? [] : text.split('\n').map((l) => JSON.parse(l) as PageRecord);
}

describe('distributed --recrawl', () => {
  it('finds exactly the changed, gone and new pages, asking each known page once with its validators', async () => {
    const s = await site({ ...SITE, recrawl: RECRAWL });
    const first = await pass(s.url);
    expect(first).toHaveLength(SITE.pages);
    expect(first.every((r) => r.change === undefined)).toBe(true);
    expect(await exported()).toHaveLength(SITE.pages);

    const diff = s.advance();
    s.reset();
    const again = await pass(s.url, { recrawl: true });
    expectChanges(again, diff, SITE.pages);
    expect(again).toHaveLength(SITE.pages + diff.added.length);
    // Each page asked once in the pass.
    for (const r of again) expect(s.counts.get(new URL(r.url).pathname), r.url).toBe(1);
    const kept = again.find((r) => r.change === 'unchanged')!;
    const before = first.find((r) => r.url === kept.url)!;
    expect(kept.title).toBe(before.title);
    expect(kept.links).toEqual(before.links);
    // The export holds this pass's records.
    const pass1 = await exported();
    expect(pass1.map((r) => r.url).sort()).toEqual(again.map((r) => r.url).sort());
    expect(pass1.find((r) => r.url === kept.url)?.change).toBe('unchanged');
    const status = await readRedisStatus(redis.client(), 'r');
    expect(status?.recrawl).toMatchObject({ pass: 1, after: 0, changedOnly: false });
    expect(formatRedisStatus(status!, 'here')).toMatch(/recrawl {2}pass 1, started .* \(every page\)/);

    // --changed-only with nothing changed since: every known page answers 304, none is listed
    // but the gone ones, and a page fetched within --recrawl-after is not asked at all.
    s.reset();
    const third = await pass(s.url, { recrawl: true, changedOnly: true });
    expect(third.filter((r) => r.change !== 'unchanged' && r.change !== 'gone')).toEqual([]);
    expect((await exported()).map((r) => r.change).sort()).toEqual(
      third.filter((r) => r.change === 'gone').map(() => 'gone'),
    );
    s.reset();
    const fourth = await pass(s.url, { recrawl: true, recrawlAfter: 3_600_000 });
    expect(fourth).toEqual([]);
    expect(s.total()).toBe(0);
  });

  it('--recrawl-after auto: intervals kept per page, and a sitemap lastmod later than the fetch forces a visit', async () => {
    const s = await site({ ...SITE, pages: 40, recrawl: { ...RECRAWL, goneFraction: 0, growFraction: 0 } });
    const sitemaps = [`${s.url}sitemap.xml`];
    await pass(s.url, { sitemaps });
    const c = redis.client();
    // Every page fetched on 2024-12-31 with a ten-year interval: none is due by its interval.
    const age = async (meta: (m: Record<string, unknown>) => void) => {
      for (const [id, v] of Object.entries(await c.hgetall('trawl:{r}:ver'))) {
        const nl = v.indexOf('\n');
        const m = JSON.parse(v.slice(nl + 1)) as Record<string, unknown>;
        meta(m);
        await c.hset('trawl:{r}:ver', id, `${v.slice(0, nl)}\n${JSON.stringify(m)}`);
      }
    };
    await age((m) => {
      m.t = Date.UTC(2024, 11, 31);
      m.i = 10 * 365 * 86_400_000;
    });
    const diff = s.advance();
    expect(diff.changed.length).toBeGreaterThan(0);
    const again = await pass(s.url, { recrawl: true, recrawlAfter: 'auto' });
    expect(again.map((r) => idOf(r.url)).sort((a, b) => a - b)).toEqual([...diff.changed]);
    expect(again.every((r) => r.change === 'changed')).toBe(true);

    // With intervals of one day due again: a changed page's halves, an unchanged one's doubles.
    await age((m) => {
      m.t = Date.now() - 2 * 86_400_000;
      m.i = 86_400_000;
    });
    const next = s.advance();
    await pass(s.url, { recrawl: true, recrawlAfter: 'auto' });
    const interval = async (id: number) => {
      const v = (await c.hget('trawl:{r}:ver', s.pageUrl(id)))!;
      return (JSON.parse(v.slice(v.indexOf('\n') + 1)) as { i: number }).i;
    };
    const unchanged = Array.from({ length: 40 }, (_, i) => i).find(
      (i) => i > 0 && !next.changed.includes(i),
    )!;
    expect(await interval(next.changed[0]!)).toBe(43_200_000);
    expect(await interval(unchanged)).toBe(172_800_000);
  });

  it('refuses a recrawl of a crawl Redis does not hold, before any request', async () => {
    const s = await site({ ...SITE, pages: 5 });
    await expect(
      distributedCrawl({ redis: redis.url, allowPrivate: true, seeds: [s.url], name: 'none', recrawl: true }),
    ).rejects.toThrow(/--recrawl: no crawl named "none"/);
    expect(s.total()).toBe(0);
    expect(await redis.client().exists('trawl:{none}:pass', 'trawl:{none}:seen')).toBe(0);
  });
});
