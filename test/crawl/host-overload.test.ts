import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startCrawl } from '../helpers/crawl.js';

const LIMIT = 8;
const PAGES = 40;

let server: Server | null = null;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = null;
});

/**
 * A host that serves at most LIMIT requests at once and answers 503 (no Retry-After) to any
 * request beyond that. `/` links to PAGES leaf pages; pages take a few ms, so a burst overlaps.
 */
async function overloadableSite() {
  const stats = { active: 0, maxActive: 0, ok: 0, overloaded: 0 };
  server = createServer((req, res) => {
    if (stats.active >= LIMIT) {
      stats.overloaded++;
      res.writeHead(503, { 'content-type': 'text/plain' }).end('busy');
      return;
    }
    stats.active++;
    stats.maxActive = Math.max(stats.maxActive, stats.active);
    const body =
      req.url === '/'
        ? Array.from({ length: PAGES }, (_, i) => `<a href="/p/${i}">${i}</a>`).join('')
        : `<title>${req.url}</title>`;
    setTimeout(() => {
      stats.active--;
      stats.ok++;
      res.writeHead(200, { 'content-type': 'text/html' }).end(body);
    }, 50);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, stats };
}

describe('a host overloaded for a moment', () => {
  it('is not stalled: one burst of 503s is one backoff event and the host resumes at reduced concurrency', async () => {
    const site = await overloadableSite();
    const { crawl, records } = startCrawl({
      seeds: [site.url],
      hostConcurrency: 64,
      workers: 64,
      maxConnections: 64,
      retries: 20,
      ignoreRobots: true,
      depth: 1,
    });
    // The longest pause the host was given, as the crawl's metrics report it. Before the fix,
    // the first overloaded burst alone raised the backoff to its 300 s cap.
    let longestPauseMs = 0;
    const watch = setInterval(() => {
      for (const h of crawl.metrics.dashboardSnapshot().hosts)
        longestPauseMs = Math.max(longestPauseMs, h.backoffMs);
      if (longestPauseMs > 16_000) crawl.abort();
    }, 10);
    try {
      await crawl.done;
    } finally {
      clearInterval(watch);
    }
    // Halving 64 → 32 → 16 → 8 takes three events (pauses of 1, 2 and 4 s); a level above 5
    // (16 s) would mean responses of one burst were counted as separate events again.
    expect(longestPauseMs).toBeLessThanOrEqual(16_000);
    expect(records).toHaveLength(PAGES + 1);
    expect(records.filter((r) => r.error !== null)).toEqual([]);
    expect(site.stats.ok).toBe(PAGES + 1);
    // Each 503 was a request sent beyond what the host could take: with the cap halving per
    // event, the bursts shrink (at most 63 + 31 + 15 + a few from probing above 8 again).
    expect(site.stats.overloaded).toBeLessThanOrEqual(PAGES + 32 + 16 + 16);
  });
});
