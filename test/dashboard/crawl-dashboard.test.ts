import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Crawl } from '../../src/crawl/crawler.js';
import { CrawlMetrics } from '../../src/crawl/metrics/metrics.js';
import { startDashboard } from '../../src/dashboard/server.js';
import { stateDashboardSource } from '../../src/dashboard/state-source.js';
import { startTestSite } from '../../src/testsite/server.js';
import { hasChromium, launchChromium, NO_CHROMIUM_MESSAGE } from '../helpers/chromium.js';

// The few DOM names the in-browser callbacks touch (the project's TypeScript lib has no DOM).
declare const document: {
  getElementById(id: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): { length: number };
};
declare const MutationObserver: new (
  callback: () => void,
) => { observe(target: unknown, options: Record<string, boolean>): void };
/** Where the page records every text the pages counter showed (set up by the test). */
declare const shownCounts: string[];

interface Family {
  name: string;
  metrics: Array<{ value?: string; labels?: Record<string, string> }>;
}

function metricSum(families: Family[], name: string): number {
  const f = families.find((x) => x.name === name);
  return f ? f.metrics.reduce((a, m) => a + Number(m.value ?? 0), 0) : 0;
}

describe('metrics and dashboard on a real crawl', () => {
  it('/metrics parses as Prometheus text and agrees with the requests the site counted', async () => {
    const site = await startTestSite({ pages: 120, faults: { error500Paths: ['/p/7'] } });
    try {
      const crawl = new Crawl({
        seeds: [site.url],
        rate: Number.POSITIVE_INFINITY,
        parsers: 0,
        retries: 1,
        retryBaseMs: 1,
      });
      const dash = await startDashboard({ port: 0, metrics: crawl.metrics });
      try {
        const summary = await crawl.done;
        const text = await (await fetch(new URL('/metrics', dash.url))).text();
        const families = parsePrometheusTextFormat(text) as Family[];
        const robots = site.counts.get('/robots.txt') ?? 0;
        expect(metricSum(families, 'trawl_requests_total')).toBe(site.total() - robots);
        expect(metricSum(families, 'trawl_pages_stored_total')).toBe(120);
        expect(metricSum(families, 'trawl_retries_total')).toBe(1);
        expect(metricSum(families, 'trawl_errors_total')).toBe(1);
        // The summary reads the same counters.
        expect(summary.requests).toBe(site.total() - robots);
        expect(summary.pages).toBe(120);
        expect(summary.failed).toBe(1);
      } finally {
        await dash.close();
      }
    } finally {
      await site.close();
    }
  });

  it('`trawl dashboard <state>` shows a finished crawl from its state file', async () => {
    const site = await startTestSite({ pages: 30, faults: { error500Paths: ['/p/3'] } });
    const dir = mkdtempSync(join(tmpdir(), 'trawl-dash-'));
    try {
      const state = join(dir, 's.db');
      const summary = await new Crawl({
        seeds: [site.url],
        rate: Number.POSITIVE_INFINITY,
        parsers: 0,
        retries: 0,
        state,
      }).done;
      const { source, metrics } = stateDashboardSource(state);
      const snap = source();
      expect(snap.metrics.pagesStored).toBe(summary.pages);
      expect(snap.metrics.errors.total).toBe(summary.failed);
      expect(snap.metrics.frontier.done).toBe(30);
      expect(snap.pages.length).toBeGreaterThan(0);
      expect(snap.hosts[0]?.requests).toBe(30);
      metrics.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await site.close();
    }
  });

  describe.skipIf(!hasChromium)(`in Chromium ${hasChromium ? '' : NO_CHROMIUM_MESSAGE}`, () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('updates live while the crawl runs and ends on the summary numbers; page titles are text', async () => {
      // Few pages at a slow rate: the crawl lasts a few seconds and every page, the XSS-titled
      // one included, stays in the dashboard's list of latest pages.
      const site = await startTestSite({ pages: 15 });
      const xss = new URL('/fault/xss-title', site.url).href;
      // The dashboard is up and the page connected before the crawl starts, so the page cannot
      // miss the crawl however slowly this machine opens it: it sees the count go up from 0.
      const metrics = new CrawlMetrics();
      const dash = await startDashboard({ port: 0, metrics, intervalMs: 100 });
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(e.message));
      page.on('dialog', (d) => {
        problems.push(`dialog: ${d.message()}`);
        void d.dismiss();
      });
      try {
        await page.goto(dash.url);
        await page.waitForFunction(() => document.getElementById('conn')?.textContent === 'live');
        // Every text the counter shows from now on, in order (each SSE frame is a task of its own,
        // and the observer runs after each, so no value is skipped).
        await page.evaluate(() => {
          const el = document.getElementById('t-pages');
          const seen: string[] = [];
          (globalThis as unknown as { shownCounts: string[] }).shownCounts = seen;
          new MutationObserver(() => seen.push(el?.textContent ?? '')).observe(el, {
            childList: true,
            characterData: true,
            subtree: true,
          });
        });
        const crawl = new Crawl({ seeds: [site.url, xss], rate: 5, burst: 2, parsers: 0 }, { metrics });
        const summary = await crawl.done;
        await page.waitForFunction(
          (n) => document.getElementById('t-pages')?.textContent?.replace(/\D/g, '') === String(n),
          summary.pages,
        );
        // It updated live: between 0 and the end it showed counts in between (the crawl is rate
        // limited to 5 pages/s with a burst of 2, so it takes several frames to store 16 pages).
        const counts = (await page.evaluate(() => shownCounts)).map((t) => Number(t.replace(/\D/g, '')));
        expect(
          counts.some((n) => n > 0 && n < summary.pages),
          `counts shown: ${counts}`,
        ).toBe(true);
        const hostRows = await page.evaluate(() => document.querySelectorAll('#hosts tr').length);
        expect(hostRows).toBeGreaterThan(0);
        // The XSS page's title shows as characters, and no element was injected.
        const shown = await page.evaluate(() => document.querySelectorAll('#pages img').length);
        expect(shown).toBe(0);
        expect(await page.content()).toContain('&lt;img src=x onerror=alert(1)&gt;');
        expect(problems).toEqual([]);
      } finally {
        await page.close();
        await dash.close();
        await site.close();
        metrics.close();
      }
    });
  });
});
