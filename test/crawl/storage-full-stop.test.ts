import { describe, expect, it } from 'vitest';
import { Crawl } from '../../src/crawl/crawler.js';
import type { Completion } from '../../src/crawl/frontier/frontier.js';
import { MemoryFrontier } from '../../src/crawl/frontier/memory-frontier.js';
import type { PageRecord } from '../../src/crawl/record.js';
import { useSites } from '../helpers/crawl.js';

const site = useSites();

/** A frontier whose disk fills up after `okBatches` stored batches (SQLite's SQLITE_FULL). */
class FillingFrontier extends MemoryFrontier {
  batches = 0;
  constructor(readonly okBatches: number) {
    super();
  }
  override complete(batch: readonly Completion[]): number {
    if (++this.batches > this.okBatches)
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    return super.complete(batch);
  }
}

describe('a full disk stops the crawl as a graceful stop does', () => {
  it('ends with stopReason storage-full and the error in the summary; the failed batch is not marked done', async () => {
    const s = await site({ pages: 200, latencyMs: 2 });
    const frontier = new FillingFrontier(2);
    const records: PageRecord[] = [];
    const crawl = new Crawl(
      {
        seeds: [s.url],
        rate: Number.POSITIVE_INFINITY,
        parsers: 0,
        workers: 4,
        onRecord: (r) => records.push(r),
      },
      { frontier },
    );
    const summary = await crawl.done;
    expect(summary.stopReason).toBe('storage-full');
    expect(summary.storageError?.message).toMatch(/database or disk is full/);
    // Only the batches before the failure were stored; the failing one was never marked done.
    expect(frontier.stats().done).toBe(records.length);
    expect(summary.pages).toBe(records.length);
    expect(records.length).toBeLessThan(200);
    // In-flight work drained: nothing was requested after the stop beyond what was in flight then.
    expect(s.total()).toBeLessThan(200);
  });

  it('rejects on any other store error (a bug, not a full disk)', async () => {
    const s = await site({ pages: 5 });
    const frontier = new MemoryFrontier();
    frontier.complete = () => {
      throw new Error('boom');
    };
    const crawl = new Crawl({ seeds: [s.url], rate: Number.POSITIVE_INFINITY, parsers: 0 }, { frontier });
    await expect(crawl.done).rejects.toThrow('boom');
  });
});
