import { describe, expect, it } from 'vitest';
import type { Crawl } from '../../src/crawl/crawler.js';
import type { PageRecord } from '../../src/crawl/record.js';
import { formatSummary } from '../../src/crawl/summary.js';
import { startCrawl, useSites } from '../helpers/crawl.js';

const site = useSites();

/** `trawl_page_outcomes_total{outcome}` and `trawl_errors_total{kind}` as served at /metrics. */
async function served(
  crawl: Crawl,
): Promise<{ outcomes: Record<string, number>; errors: Record<string, number> }> {
  const text = await crawl.metrics.registry.metrics();
  const read = (name: string, label: string) =>
    Object.fromEntries(
      [...text.matchAll(new RegExp(`^${name}\\{${label}="([^"]+)"\\} (\\d+)$`, 'gm'))].map((m) => [
        m[1]!,
        Number(m[2]),
      ]),
    );
  return {
    outcomes: read('trawl_page_outcomes_total', 'outcome'),
    errors: read('trawl_errors_total', 'kind'),
  };
}

const kindOf = (r: PageRecord) => r.error?.split(':')[0] ?? null;

describe('summary, /metrics and records agree', () => {
  it('counts robots.txt refusals as skipped, not ok, everywhere', async () => {
    const s = await site({ pages: 30, robots: { body: 'User-agent: *\nDisallow: /p/1\n' } });
    const { crawl, records } = startCrawl({ seeds: [s.url] });
    const summary = await crawl.done;
    const refused = records.filter((r) => kindOf(r) === 'robots');
    expect(refused.length).toBeGreaterThan(0);
    expect(summary).toMatchObject({
      pages: records.length,
      ok: records.filter((r) => r.error === null).length,
      failed: 0,
      skipped: refused.length,
      skippedByKind: { robots: refused.length },
    });
    expect(crawl.metrics.snapshot().pages).toMatchObject({
      ok: summary.ok,
      failed: 0,
      skipped: refused.length,
    });
    expect((await served(crawl)).outcomes).toEqual({ ok: summary.ok, skipped: refused.length });
    expect(formatSummary(summary)).toContain(
      `(${summary.ok} ok, 0 failed, ${refused.length} skipped: robots ${refused.length})`,
    );
  });

  it('counts a failed sitemap as a sitemap error, not a failed page; failed pages by kind', async () => {
    const s = await site({ pages: 5, faults: { error500Paths: ['/p/1'] } });
    const { crawl, records } = startCrawl({
      seeds: [s.url],
      sitemaps: [`${s.url}missing-sitemap.xml`],
      retries: 0,
    });
    const summary = await crawl.done;
    const failed = records.filter((r) => r.error !== null);
    expect(failed.map(kindOf)).toEqual(['http']);
    expect(summary).toMatchObject({
      pages: records.length,
      ok: records.length - 1,
      failed: 1,
      failedByKind: { http: 1 },
      skipped: 0,
      sitemapErrors: 1,
    });
    const m = await served(crawl);
    expect(m.outcomes).toEqual({ ok: records.length - 1, failed: 1 });
    expect(m.errors).toEqual({ http: 1, sitemap: 1 });
  });

  it('says "rerun to resume" only for a crawl with a state file', async () => {
    const s = await site({ pages: 20 });
    const { crawl } = startCrawl({ seeds: [s.url], maxPages: 2 });
    crawl.stop();
    const summary = await crawl.done;
    expect(summary.resumable).toBe(false);
    expect(formatSummary({ ...summary, frontier: { ...summary.frontier, queued: 5 } })).not.toContain(
      'rerun',
    );
    expect(
      formatSummary({ ...summary, resumable: true, frontier: { ...summary.frontier, queued: 5 } }),
    ).toContain('rerun to resume');
  });
});
