import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/conc/clock.js';
import { Crawl } from '../../src/crawl/crawler.js';
import { MemoryFrontier } from '../../src/crawl/frontier/memory-frontier.js';
import { HostTable } from '../../src/crawl/politeness/host-table.js';
import type { PageRecord } from '../../src/crawl/record.js';
import { SqliteFrontier } from '../../src/crawl/state/sqlite-frontier.js';
import { openState } from '../../src/crawl/state/state-db.js';
import { type MultiHostSite, startMultiHostSite } from '../../src/testsite/multi-host.js';
import { useSites } from '../helpers/crawl.js';
import { useScratch } from '../helpers/scratch.js';

const INF = Number.POSITIVE_INFINITY;
const scratch = useScratch('trawl-host-wakes-');
const site = useSites();

describe('HostTable.readyAt', () => {
  const policy = { rate: 2, burst: 1, concurrency: 2, maxPages: 3, maxBackoffMs: 60_000 };

  it('says now, a time, or Infinity, and ready agrees with it', () => {
    const clock = new FakeClock(1_000);
    const t = new HostTable(policy, clock);
    const s = t.get('a');
    expect(t.readyAt(s, 1_000)).toBe(INF); // robots.txt pending
    t.setRobots(s, 'ok');
    expect(t.readyAt(s, 1_000)).toBe(1_000);
    expect(t.ready(s, 1_000)).toBe(true);
    t.take(s, 1_000);
    // Under the cap of 2, but the bucket (2/s, burst 1) has its next token at 1,500.
    expect(t.readyAt(s, 1_000)).toBe(1_500);
    expect(t.ready(s, 1_499)).toBe(false);
    expect(t.readyAt(s, 1_499)).toBeCloseTo(1_500, 6);
    expect(t.readyAt(s, 1_499)).toBeGreaterThan(1_499);
    expect(t.ready(s, 1_500)).toBe(true);
    t.take(s, 1_500);
    expect(t.readyAt(s, 1_500)).toBe(INF); // cap full: only a finish frees it
    t.finish(s, false);
    expect(t.readyAt(s, 1_500)).toBe(2_000);
    t.finish(s, false);
    // A pause wins over an earlier token (and this 503 halves the cap to 1).
    clock.advance(500);
    t.throttle(s, 5_000); // at 1,500: paused until 6,500
    expect(t.readyAt(s, 2_100)).toBe(6_500);
    expect(t.ready(s, 6_499)).toBe(false);
    expect(t.ready(s, 6_500)).toBe(true);
  });

  it('says Infinity while the page budget is used up, until a page finishes without a record', () => {
    const t = new HostTable({ ...policy, rate: INF, maxPages: 2 }, new FakeClock(0));
    const s = t.get('a', 'ok');
    t.take(s, 0);
    t.finish(s, true);
    t.take(s, 0);
    expect(t.readyAt(s, 0)).toBe(INF); // 1 stored + 1 reserved: none left, though under the cap
    t.finish(s, false);
    expect(t.readyAt(s, 0)).toBe(0);
  });

  it('tells mayGo of a finish, a settled robots.txt and a grown cap, and of nothing else', () => {
    const clock = new FakeClock(0);
    const told: string[] = [];
    const t = new HostTable({ ...policy, concurrency: 4, maxPages: INF, backoffBaseMs: 10 }, clock, (h) =>
      told.push(h),
    );
    const s = t.get('a');
    t.setRobots(s, 'allow-all');
    expect(told).toEqual(['a']);
    t.applyCrawlDelay(s, 1);
    t.take(s, 0);
    t.throttle(s, null, 0); // cap 4 → 2
    expect(s.concurrencyCap).toBe(2);
    expect(told).toEqual(['a']);
    t.finish(s, true);
    expect(told).toEqual(['a', 'a']);
    clock.set(100);
    t.succeeded(s, 50); // 1 of 2 successes towards +1
    expect(told).toHaveLength(2);
    t.succeeded(s, 60); // cap 2 → 3
    expect(s.concurrencyCap).toBe(3);
    expect(told).toHaveLength(3);
  });

  it('tells mayGo when an auto-throttle raises the cap', () => {
    const clock = new FakeClock(0);
    let told = 0;
    const t = new HostTable(
      { ...policy, concurrency: 8, maxPages: INF, autoThrottle: true },
      clock,
      () => told++,
    );
    const s = t.get('a', 'ok');
    expect(s.concurrencyCap).toBe(1);
    t.take(s, 0);
    clock.set(20);
    t.succeeded(s, 0, 20); // a window of 1 at limit 1: slow start doubles it
    expect(s.concurrencyCap).toBeGreaterThan(1);
    expect(told).toBe(1);
  });
});

/** A frontier that counts the hosts its wake brought back (the engine's events reaching it). */
function counting<F extends MemoryFrontier | SqliteFrontier>(f: F): F & { woken: number } {
  const c = f as F & { woken: number };
  c.woken = 0;
  const wake = f.wake.bind(f);
  c.wake = (host: string) => {
    const back = wake(host);
    if (back) c.woken++;
    return back;
  };
  return c;
}

describe('the engine wakes every host it set aside', () => {
  let multi: MultiHostSite | undefined;
  afterEach(async () => {
    await multi?.close();
    multi = undefined;
  });

  it.each([
    ['memory', () => counting(new MemoryFrontier())],
    [
      'sqlite',
      () =>
        counting(
          new SqliteFrontier(openState(path.join(scratch.dir(), 'w.state'), { create: true, name: 'w' })),
        ),
    ],
  ])('a polite crawl over many hosts stores every page once (%s frontier)', async (_name, make) => {
    // Host 1 has a Crawl-delay, host 2 no robots.txt (404), and every host takes one request at a
    // time: hosts wait for robots.txt, for their one slot and for their bucket, so they are set
    // aside and woken (or come due) again and again.
    multi = await startMultiHostSite({
      hosts: 5,
      pagesPerHost: 12,
      linksPerPage: 4,
      crossHostLinks: 0.3,
      robots: (h) =>
        h === 1 ? { body: 'User-agent: *\nCrawl-delay: 0.02\n' } : h === 2 ? { status: 404 } : {},
    });
    const frontier = make();
    const records: PageRecord[] = [];
    const crawl = new Crawl(
      {
        seeds: [multi.url],
        scope: 'any',
        allowPrivate: true,
        rate: INF,
        parsers: 0,
        retries: 2,
        retryBaseMs: 1,
        hostRate: 200,
        hostBurst: 1,
        hostConcurrency: 1,
        workers: 8,
        onRecord: (r) => records.push(r),
      },
      { frontier },
    );
    const summary = await crawl.done;
    expect(summary.stopReason).toBe('done');
    const urls = records.map((r) => r.url).sort();
    expect(urls).toEqual(multi.pageUrls().sort()); // every page, once
    expect(records.filter((r) => r.error !== null)).toEqual([]);
    for (const h of multi.hosts)
      for (const [p, n] of h.counts) if (p !== '/robots.txt' && !p.startsWith('/sitemap')) expect(n).toBe(1);
    expect(frontier.woken).toBeGreaterThan(0);
    expect(frontier.blockedHosts()).toEqual([]);
  });

  it('fails a crawl that misses a wake (under test) instead of hanging', async () => {
    const s = await site({ pages: 6 });
    // A frontier that drops every wake: the one host, blocked on robots.txt or on its one slot,
    // never comes back.
    const frontier = new MemoryFrontier();
    frontier.wake = () => false;
    const crawl = new Crawl(
      { seeds: [s.url], rate: INF, parsers: 0, hostConcurrency: 1, onRecord: () => {} },
      { frontier },
    );
    await expect(crawl.done).rejects.toThrow(/missed Frontier\.wake/);
  });
});
