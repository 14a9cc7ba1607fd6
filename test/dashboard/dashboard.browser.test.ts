import { mkdir } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Clock, systemClock } from '../../src/conc/clock.js';
import { CrawlMetrics } from '../../src/crawl/metrics/metrics.js';
import { type Dashboard, startDashboard } from '../../src/dashboard/server.js';
import { hasChromium, launchChromium, NO_CHROMIUM_MESSAGE } from '../helpers/chromium.js';

// The callbacks given to page.evaluate run in Chromium. The project's TypeScript lib has no DOM
// (it is a Node package), so the little of it those callbacks touch is declared here, module-scoped.
interface BrowserElement {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  innerHTML: string;
  childNodes: { length: number };
  firstChild: { nodeType: number } | null;
  querySelector(selector: string): BrowserElement | null;
  toDataURL(): string;
}
declare const document: {
  body: BrowserElement;
  getElementById(id: string): BrowserElement | null;
  querySelectorAll(selector: string): Iterable<BrowserElement> & { length: number };
};

const XSS = '<img src=x onerror=alert(1)>';
const HOSTS = ['books.test', 'news.test', 'shop.test', 'slow.test'];
const SCREENSHOT = 'test-artifacts/dashboard.png';

/**
 * Writes two minutes of history, then starts a background loop that reports a plausible crawl
 * through CrawlMetrics every 20 ms, advancing the metrics' simulated clock by 20 ms each time:
 * requests on
 * four hosts with mixed statuses and latencies, stored pages (one in ten titled with an XSS
 * payload, so it stays among the latest pages), errors carrying markup, retries, queue depths,
 * backoff and robots states. Returns a stop function.
 */
function simulateCrawl(m: CrawlMetrics, clock: SimulatedClock): () => void {
  let i = 0;
  const tick = (batch: number): void => {
    for (let k = 0; k < batch; k++, i++) {
      const host = HOSTS[i % HOSTS.length]!;
      const slow = host === 'slow.test';
      const status = i % 23 === 0 ? 503 : i % 11 === 0 ? 404 : 200;
      const ms = (slow ? 400 : 20) + ((i * 37) % 90) + (i % 50 === 0 ? 900 : 0);
      m.setInFlight(5 + (i % 7));
      m.setQueueDepth('frontier', 500 + ((i * 13) % 300));
      m.setQueueDepth('fetch', i % 20);
      m.setQueueDepth('parse', i % 6);
      m.setQueueDepth('store', i % 3);
      m.setOpenConnections(8 + (i % 5), 20);
      m.setLimiterTokens((i % 10) / 2);
      m.requestFinished(host, status, ms, 2000 + ((i * 7919) % 30_000));
      m.parseTime(0.3 + (i % 5) / 10);
      const url = `http://${host}/item/${i}`;
      if (status === 503) {
        m.retry(host, '503');
        m.error('http', host, `${url}?q=${XSS}`, `503 Service Unavailable ${XSS}`);
        m.setHostState(host, { backoffUntil: clock.now() + 3000 });
      }
      const title = i % 10 === 0 ? XSS : `Item ${i} — ${host}`;
      m.pageStored({
        url,
        status,
        title: status === 200 ? title : null,
        error: status === 200 ? null : `http: ${status}`,
        host,
      });
      if (i % 50 === 49) m.storeTime(3, 50);
    }
    for (const [n, host] of HOSTS.entries()) {
      m.setHostState(host, { rate: n + 1, robots: n === 3 ? 'pending' : 'ok' });
    }
    // One host under --auto-throttle, its limit cut by a 503 two seconds ago.
    m.setHostState(HOSTS[0]!, {
      throttle: {
        limit: 6,
        delayMs: 0,
        reason: '503',
        changedAt: clock.ms - 2000,
        latencyMs: 41,
        baseLatencyMs: 28,
      },
    });
    m.setFrontier({ queued: 800, leased: 12, done: i, failed: Math.floor(i / 23), seen: 800 + i });
  };
  // Two minutes of history first (a ramp-up with a wobble), so the charts have a shape.
  for (let s = 0; s < 120; s++) {
    for (let q = 0; q < 10; q++) {
      clock.ms += 100;
      tick(Math.round(Math.min(s, 30) * (1 + 0.3 * Math.sin(s / 6))));
    }
  }
  // Live: simulated time moves only here, 20 ms per batch of 8 requests. However long this busy
  // machine stalls the loop, every completed second of the metrics' clock holds 50 batches.
  const timer = setInterval(() => {
    clock.ms += 20;
    tick(8);
  }, 20);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * The metrics' time: simulated, moved on only by simulateCrawl, so the per-second series hold
 * exactly the requests simulated in each second and none is empty because the test stalled.
 */
interface SimulatedClock extends Clock {
  ms: number;
}

function simulatedClock(startMs: number): SimulatedClock {
  const clock: SimulatedClock = {
    ms: startMs,
    now: () => clock.ms,
    setTimeout: systemClock.setTimeout,
    clearTimeout: systemClock.clearTimeout,
  };
  return clock;
}

describe.skipIf(!hasChromium)(hasChromium ? 'dashboard in Chromium' : NO_CHROMIUM_MESSAGE, () => {
  let metrics: CrawlMetrics;
  let stop: () => void;
  let dash: Dashboard;
  let browser: Browser;

  beforeAll(async () => {
    const clock = simulatedClock(Date.now() - 121_000);
    metrics = new CrawlMetrics({ clock });
    stop = simulateCrawl(metrics, clock);
    dash = await startDashboard({ port: 0, metrics });
    browser = await launchChromium();
  });

  afterAll(async () => {
    stop?.();
    await browser?.close();
    await dash?.close();
    metrics?.close();
  });

  /** Opens a page that records console errors, page errors and dialogs. */
  async function open(): Promise<{ page: Page; problems: string[]; dialogs: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const problems: string[] = [];
    const dialogs: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    return { page, problems, dialogs };
  }

  const read = (page: Page) =>
    page.evaluate(() => {
      const chart = document.getElementById('chart-requests')!;
      const canvas = chart.querySelector('canvas');
      const hostCells = [...document.querySelectorAll('#hosts tbody tr')].map((tr) => [
        tr.dataset.host ?? '',
        tr.querySelector('td.requests')?.textContent ?? '',
      ]);
      const throttles = [...document.querySelectorAll('#hosts tbody tr')].map((tr) => [
        tr.dataset.host ?? '',
        tr.querySelector('td.throttle')?.textContent ?? '',
      ]);
      return {
        updates: Number(document.body.dataset.updates ?? 0),
        points: Number(chart.dataset.points ?? 0),
        last: chart.dataset.last ?? '',
        latencyPoints: Number(document.getElementById('chart-latency')!.dataset.points ?? 0),
        pixels: canvas === null ? '' : canvas.toDataURL(),
        hosts: Object.fromEntries(hostCells) as Record<string, string>,
        throttles: Object.fromEntries(throttles) as Record<string, string>,
        requests: document.getElementById('t-requests')!.textContent,
      };
    });

  it('loads without console errors and updates charts and the host table live', async () => {
    const { page, problems, dialogs } = await open();
    const res = await page.goto(dash.url);
    expect(res?.status()).toBe(200);
    await expect.poll(() => page.textContent('#conn'), { timeout: 10_000 }).toBe('live');
    // The charts get a point per completed second.
    await page.waitForFunction(
      () => Number(document.getElementById('chart-requests')?.dataset.points ?? 0) >= 2,
      null,
      {
        timeout: 10_000,
      },
    );
    const first = await read(page);
    expect(first.latencyPoints).toBe(first.points);
    expect(Object.keys(first.hosts).sort()).toEqual([...HOSTS].sort());
    // The auto-throttle column: limit, delay, why and when it last changed; '–' when off.
    expect(first.throttles[HOSTS[0]!]).toBe('limit 6 · delay 0 ms · 503, 2s ago (latency 41/28 ms)');
    expect(first.throttles[HOSTS[1]!]).toBe('–');
    // Every simulated second holds requests (see simulateCrawl), so the newest point is positive.
    expect(Number(first.last)).toBeGreaterThan(0);
    // Wait for the next second's point to land in the chart and for the host counts to grow.
    await page.waitForFunction(
      (n) => Number(document.getElementById('chart-requests')?.dataset.points ?? 0) > n,
      first.points,
      {
        timeout: 10_000,
      },
    );
    const second = await read(page);
    expect(second.updates).toBeGreaterThan(first.updates);
    expect(second.points).toBeGreaterThan(first.points);
    expect(second.pixels).not.toBe(first.pixels); // the canvas was redrawn with the new data
    expect(second.requests).not.toBe(first.requests);
    for (const host of HOSTS) {
      const before = Number(first.hosts[host]!.replaceAll(',', ''));
      const after = Number(second.hosts[host]!.replaceAll(',', ''));
      expect(after, host).toBeGreaterThan(before);
    }
    // The page shows the same totals the metrics hold (within the frames in between).
    const shown = Number((await page.textContent('#t-requests'))!.replaceAll(',', ''));
    expect(shown).toBeLessThanOrEqual(metrics.snapshot().requests.total);
    expect(shown).toBeGreaterThan(0);
    expect(problems).toEqual([]);
    expect(dialogs).toEqual([]);

    await mkdir('test-artifacts', { recursive: true });
    // A test artifact only: the README's picture comes from a real crawl
    // (scripts/dashboard-screenshot.ts), never from these simulated metrics.
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    await page.close();
  });

  it('renders a page title, URL and error text full of markup as plain text', async () => {
    const { page, problems, dialogs } = await open();
    await page.goto(dash.url);
    await page.waitForFunction(
      (xss) => [...document.querySelectorAll('#pages td.title')].some((td) => td.textContent === xss),
      XSS,
      { timeout: 10_000 },
    );
    await page.waitForFunction(() => document.querySelectorAll('#errors tbody tr').length > 0, null, {
      timeout: 10_000,
    });
    const dom = await page.evaluate((xss) => {
      const titles = [...document.querySelectorAll('#pages td.title')].filter((td) => td.textContent === xss);
      const messages = [...document.querySelectorAll('#errors td.msg')].filter((td) =>
        td.textContent?.includes(xss),
      );
      const urls = [...document.querySelectorAll('#errors td.url')].filter((td) =>
        td.textContent?.includes(xss),
      );
      return {
        titles: titles.length,
        titleChildren: titles.map(
          (td) => td.childNodes.length === 1 && td.firstChild?.nodeType === 3 /* TEXT_NODE */,
        ),
        messages: messages.length,
        urls: urls.length,
        imgs: document.querySelectorAll('img').length,
        html: titles[0]?.innerHTML ?? '',
      };
    }, XSS);
    expect(dom.titles).toBeGreaterThan(0);
    expect(dom.titleChildren.every(Boolean)).toBe(true);
    expect(dom.messages).toBeGreaterThan(0);
    expect(dom.urls).toBeGreaterThan(0);
    expect(dom.imgs).toBe(0);
    expect(dom.html).toBe('&lt;img src=x onerror=alert(1)&gt;');
    expect(dialogs).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('works behind a token: the page, its assets and the event stream all pass', async () => {
    const guarded = await startDashboard({ port: 0, metrics, requireToken: true });
    try {
      const { page, problems } = await open();
      const denied = await page.goto(`http://127.0.0.1:${guarded.port}/`);
      expect(denied?.status()).toBe(401);
      problems.length = 0; // the 401 itself logs a resource error
      const ok = await page.goto(guarded.url);
      expect(ok?.status()).toBe(200);
      await page.waitForFunction(() => Number(document.body.dataset.updates ?? 0) >= 2, null, {
        timeout: 10_000,
      });
      expect(await page.textContent('#conn')).toBe('live');
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      await guarded.close();
    }
  });
});
