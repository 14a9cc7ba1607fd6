import { afterEach, describe, expect, it } from 'vitest';
import { type CapacitySite, startCapacitySite } from '../../src/testsite/capacity.js';
import { startCrawl } from '../helpers/crawl.js';

const C = 8;
const PAGES = 500;
/** Server admissions after which the crawl must have settled. */
const SETTLE = 150;

let site: CapacitySite | null = null;
afterEach(async () => {
  await site?.close();
  site = null;
});

describe('--auto-throttle on a loopback capacity host (C = 8, 20 ms base latency)', () => {
  it.each([503, 429] as const)(
    'refusing with %i: settles at ≤ C concurrent requests with < 1 % error responses, and stores every page exactly once',
    async (status) => {
      site = await startCapacitySite({ capacity: C, baseLatencyMs: 20, pages: PAGES, rejectStatus: status });
      const { crawl, records } = startCrawl({
        seeds: [site.url],
        autoThrottle: true,
        hostConcurrency: 64,
        workers: 64,
        maxConnections: 64,
        retries: 20,
        ignoreRobots: true,
      });
      const summary = await crawl.done;

      // Every page once, none failed: the 503s were retried, not lost.
      expect(records).toHaveLength(PAGES);
      expect(new Set(records.map((r) => r.url)).size).toBe(PAGES);
      expect(records.filter((r) => r.error !== null || r.status !== 200)).toEqual([]);
      expect(summary.ok).toBe(PAGES);

      // What the server saw, from its own log: after the first SETTLE admissions, fewer than 1 % of
      // the arrivals found C requests already in flight (a refusal, logged as C + 1 in flight). The
      // throttle may still try C + 1 now and then (ever more rarely: each failed try doubles the
      // wait before the next), as the host's slowdown near C, seen through the crawl's own
      // overhead, is too small a warning on its own.
      const log = site.decisions;
      let admitted = 0;
      const settleAt = log.findIndex((d) => d.inFlight <= C && ++admitted === SETTLE);
      expect(settleAt).toBeGreaterThan(0);
      const after = log.slice(settleAt + 1);
      expect(after.length).toBeGreaterThanOrEqual(PAGES - SETTLE);
      const refused = after.filter((d) => d.status === status);
      expect(refused.length / after.length).toBeLessThan(0.01);
      expect(after.filter((d) => d.inFlight <= C).length / after.length).toBeGreaterThan(0.99);
      // Fewer refusals in all than the first overloaded burst of the fixed cap (64 − 8 = 56).
      expect(site.rejected).toBeLessThan(56);

      // The throttle's state reached the metrics the dashboard reads.
      const row = crawl.metrics.dashboardSnapshot().hosts.find((h) => site!.url.includes(h.host));
      expect(row?.throttle?.limit).toBeGreaterThanOrEqual(1);
      expect(row?.throttle?.limit).toBeLessThanOrEqual(64);
    },
    15_000,
  );
});
