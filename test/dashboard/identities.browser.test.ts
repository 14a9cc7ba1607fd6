import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/conc/clock.js';
import type { ProxyStat } from '../../src/crawl/fetch/proxy-pool.js';
import { CrawlMetrics } from '../../src/crawl/metrics/metrics.js';
import { type Dashboard, startDashboard } from '../../src/dashboard/server.js';
import { hasChromium, launchChromium, NO_CHROMIUM_MESSAGE } from '../helpers/chromium.js';

// The callbacks given to page.evaluate run in Chromium; the project's TypeScript lib has no DOM,
// so the little of it they touch is declared here.
interface BrowserElement {
  hidden: boolean;
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  innerHTML: string;
  childNodes: { length: number };
  firstChild: { nodeType: number } | null;
  querySelector(selector: string): BrowserElement | null;
  querySelectorAll(selector: string): Iterable<BrowserElement> & { length: number };
}
declare const document: {
  body: BrowserElement;
  getElementById(id: string): BrowserElement | null;
  querySelector(selector: string): BrowserElement | null;
  querySelectorAll(selector: string): Iterable<BrowserElement> & { length: number };
};

const T0 = 1_700_000_000_000;
const XSS_PROXY = 'http://<script>alert(1)</script><img src=x onerror=alert(2)>:8080';

const stat = (display: string, requests: number, errors: number, until: number | null): ProxyStat => ({
  display,
  requests,
  errors,
  state: until === null ? 'up' : 'backoff',
  until,
  lastError: null,
});

describe.skipIf(!hasChromium)(hasChromium ? 'identities on the dashboard' : NO_CHROMIUM_MESSAGE, () => {
  let browser: Browser;
  const closers: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const c of closers.reverse()) await c();
    await browser?.close();
  });

  async function serve(m: CrawlMetrics): Promise<Dashboard> {
    const d = await startDashboard({ port: 0, metrics: m, intervalMs: 100 });
    closers.push(
      () => d.close(),
      () => m.close(),
    );
    return d;
  }

  /** Opens the dashboard and waits for `frames` rendered snapshots; records errors and dialogs. */
  async function open(d: Dashboard, frames = 1): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('dialog', (dlg) => {
      problems.push(`dialog: ${dlg.message()}`);
      void dlg.dismiss();
    });
    await page.goto(d.url);
    await page.waitForFunction((n) => Number(document.body.dataset.updates ?? 0) >= n, frames, {
      timeout: 10_000,
    });
    return { page, problems };
  }

  const read = (page: Page) =>
    page.evaluate(() => {
      const rows = [...document.querySelectorAll('#proxies tbody tr')].map((tr) =>
        [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''),
      );
      const first = document.querySelector('#proxies td.proxy');
      return {
        identitiesHidden: document.getElementById('identities')!.hidden,
        tableHidden: document.getElementById('proxies')!.hidden,
        bannerHidden: document.getElementById('proxies-down')!.hidden,
        banner: document.getElementById('proxies-down')!.textContent,
        sessions: document.getElementById('sessions')!.textContent,
        rows,
        proxyHtml: first?.innerHTML ?? '',
        proxyIsText: first !== null && first.childNodes.length === 1 && first.firstChild?.nodeType === 3,
        proxyData: first === null ? '' : (document.querySelector('#proxies tbody tr')!.dataset.proxy ?? ''),
        scripts: document.querySelectorAll('script').length,
        imgs: document.querySelectorAll('img').length,
      };
    });

  it('shows no identities panel and no banner for a crawl that reported none', async () => {
    const d = await serve(new CrawlMetrics({ clock: new FakeClock(T0) }));
    const { page, problems } = await open(d);
    const shown = await read(page);
    expect(shown.identitiesHidden).toBe(true);
    expect(shown.bannerHidden).toBe(true);
    expect(shown.rows).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows the sessions line without a proxy table for a crawl with sessions only', async () => {
    const m = new CrawlMetrics({ clock: new FakeClock(T0) });
    m.setIdentities({ proxies: [], proxiesDown: false, sessions: { live: 4, created: 7, retired: 3 } });
    const d = await serve(m);
    const { page, problems } = await open(d);
    const shown = await read(page);
    expect(shown.identitiesHidden).toBe(false);
    expect(shown.tableHidden).toBe(true);
    expect(shown.sessions).toBe('sessions: 4 live / 7 created / 3 retired');
    expect(shown.bannerHidden).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('renders the proxy table with markup in a display as text, and the all-down banner while down', async () => {
    const clock = new FakeClock(T0);
    const m = new CrawlMetrics({ clock });
    m.setIdentities({
      proxies: [stat(XSS_PROXY, 1234, 5, T0 + 2500), stat('socks5://127.0.0.1:1080', 7, 1, T0 + 9000)],
      proxiesDown: true,
      sessions: { live: 2, created: 3, retired: 1 },
    });
    const d = await serve(m);
    const { page, problems } = await open(d);
    const down = await read(page);
    expect(down.identitiesHidden).toBe(false);
    expect(down.tableHidden).toBe(false);
    expect(down.bannerHidden).toBe(false);
    expect(down.banner).toBe('all proxies down — waiting');
    expect(down.rows).toEqual([
      [XSS_PROXY, '1,234', '5', 'backoff', '2.5 s'],
      ['socks5://127.0.0.1:1080', '7', '1', 'backoff', '9.0 s'],
    ]);
    expect(down.proxyIsText).toBe(true);
    expect(down.proxyHtml).toBe(
      'http://&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;:8080',
    );
    expect(down.proxyData).toBe(XSS_PROXY);
    expect(down.imgs).toBe(0);
    // The page's own two script tags (uPlot and page.js), none from the display.
    expect(down.scripts).toBe(2);
    expect(down.sessions).toBe('sessions: 2 live / 3 created / 1 retired');

    // One proxy comes back: the banner goes, its row says up with no wait.
    m.setIdentities({
      proxies: [stat(XSS_PROXY, 1240, 5, null), stat('socks5://127.0.0.1:1080', 7, 1, T0 + 9000)],
      proxiesDown: false,
      sessions: { live: 2, created: 3, retired: 1 },
    });
    await page.waitForFunction(() => document.getElementById('proxies-down')!.hidden, null, {
      timeout: 10_000,
    });
    const up = await read(page);
    expect(up.rows[0]).toEqual([XSS_PROXY, '1,240', '5', 'up', '–']);
    expect(problems).toEqual([]);
    await page.close();
  });
});
