import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SpaSite, startSpaSite } from '../../src/testsite/spa.js';
import { hasChromium, launchChromium, NO_CHROMIUM_MESSAGE } from '../helpers/chromium.js';

async function get(url: string): Promise<{ status: number; location: string | null; body: string }> {
  const r = await fetch(url, { redirect: 'manual' });
  return { status: r.status, location: r.headers.get('location'), body: await r.text() };
}

/** The state the client script exposes on `window.__spa`. */
interface SpaState {
  loadedAt: number;
  renderedAt: number;
  lateAt: number;
  renders: number;
  navigations: number;
  batches: number;
  ended: boolean;
}
/** A link's href and when it entered the DOM (performance.now() ms), recorded by ADDED_LINKS_JS. */
interface Added {
  href: string;
  t: number;
}
// The browser globals the functions evaluated in the page use (the project's lib is ES only).
declare const window: {
  __spa: SpaState;
  marker?: number;
  added: Added[];
  atLoad: unknown;
  scrollTo(x: number, y: number): void;
};
declare const document: {
  title: string;
  documentElement: { scrollHeight: number };
  querySelectorAll(selector: string): { length: number };
};
declare function addEventListener(type: string, listener: () => void): void;

/** An init script recording every link as it enters the DOM, from before the page's own script runs. */
const ADDED_LINKS_JS = `window.added = [];
new MutationObserver((ms) => {
  for (const m of ms)
    for (const n of m.addedNodes) {
      if (!(n instanceof Element)) continue;
      for (const a of [...(n.matches('a') ? [n] : []), ...n.querySelectorAll('a')])
        window.added.push({ href: a.getAttribute('href') ?? '', t: performance.now() });
    }
}).observe(document, { childList: true, subtree: true });`;

const spaState = (page: Page): Promise<SpaState> => page.evaluate(() => window.__spa);
const hrefs = (page: Page, sel = '#app a'): Promise<string[]> =>
  page.$$eval(sel, (as) => as.map((a) => a.getAttribute('href') ?? ''));

describe('spa site over plain HTTP', () => {
  let s: SpaSite;
  beforeAll(async () => {
    s = await startSpaSite({ pages: 30, seed: 3 });
  });
  afterAll(() => s.close());

  it('answers every route with the same app shell, which holds no links and little text', async () => {
    const bodies = new Set<string>();
    for (const p of s.pages) {
      const r = await get(new URL(p.path, s.url).href);
      expect(r.status, p.path).toBe(200);
      bodies.add(r.body);
    }
    expect(bodies.size).toBe(1);
    const shell = [...bodies][0]!;
    expect(shell).toContain('<div id="app"></div>');
    expect(shell).toMatch(/<noscript>[^<]*JavaScript[^<]*<\/noscript>/);
    expect(shell).toContain('<script src="/static/app.js"');
    expect(shell).not.toMatch(/<a\s/i);
    expect(shell).toContain('<title>Loading…</title>');
    expect((await get(`${s.url}nowhere`)).status).toBe(404);
  });

  it('lists the generated pages, the special pages and their targets, all reachable from /', () => {
    expect(s.pages.filter((p) => p.kind === 'page')).toHaveLength(30);
    const paths = new Set(s.pages.map((p) => p.path));
    expect(paths.size).toBe(s.pages.length);
    for (const sp of ['/delayed', '/scroll', '/chain', '/probe', '/delayed/1', '/chain/done'])
      expect(paths).toContain(sp);
    expect(s.page('/')!.links).toEqual(expect.arrayContaining(['/delayed', '/scroll', '/chain', '/probe']));
    const seen = new Set(['/']);
    const queue = ['/'];
    while (queue.length > 0) {
      for (const l of s.page(queue.shift()!)!.links) {
        if (!seen.has(l)) {
          seen.add(l);
          queue.push(l);
        }
      }
    }
    expect(seen).toEqual(paths);
  });

  it('serves each page data as JSON after the API latency', async () => {
    const r = await fetch(`${s.url}api/page?path=${encodeURIComponent('/p/4')}`);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(await r.json()).toEqual({ title: 'SPA page 4', links: s.page('/p/4')!.links });
    const late = (await (await fetch(`${s.url}api/page?path=%2Fdelayed`)).json()) as { late: unknown };
    expect(late.late).toEqual({ afterMs: 300, links: s.page('/delayed')!.lateLinks });
  });

  it('redirects the same-origin /go/secret to 0.0.0.0 and counts every /secret hit', async () => {
    const r = await get(`${s.url}go/secret?via=fetch`);
    expect(r.status).toBe(302);
    expect(r.location).toBe(`http://0.0.0.0:${s.port}/secret?via=redirect-fetch`);
    expect(r.location).toBe(s.probes.redirectTarget('fetch'));
    expect(s.probes.fetch).toEqual([
      `http://0.0.0.0:${s.port}/secret?via=v4`,
      `http://[::]:${s.port}/secret?via=v6`,
      '/go/secret?via=fetch',
    ]);
    expect(s.secretHits()).toBe(0);
    // Counting works, so a 0 after a guarded crawl means refused: hit it on purpose via 127.0.0.1.
    await get(`${s.url}secret?via=test`);
    expect(s.secretHits()).toBe(1);
    expect(s.counts.get('/secret?via=test')).toBe(1);
    s.reset();
    expect(s.secretHits()).toBe(0);
    expect(s.total()).toBe(0);
  });

  it('is deterministic from the seed', async () => {
    const a = await startSpaSite({ pages: 30, seed: 3 });
    const b = await startSpaSite({ pages: 30, seed: 4 });
    try {
      expect(a.pages).toEqual(s.pages);
      expect(b.pages.map((p) => p.links)).not.toEqual(s.pages.map((p) => p.links));
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('mixed spa site', () => {
  it('serves the configured fraction of pages as shells and the rest as plain HTML with the same links', async () => {
    const s = await startSpaSite({ pages: 200, seed: 5, mixed: 0.1 });
    try {
      expect(s.pages).toHaveLength(200);
      expect(s.pages.every((p) => p.kind === 'page')).toBe(true);
      let shells = 0;
      for (const p of s.pages) {
        const { body } = await get(new URL(p.path, s.url).href);
        const isShell = body.includes('<div id="app"></div>');
        expect(isShell, p.path).toBe(p.shell);
        if (isShell) {
          shells++;
          expect(body).not.toMatch(/<a\s/);
        } else {
          expect(body).toContain(`<title>${p.title}</title>`);
          expect([...body.matchAll(/<a href="([^"]+)"/g)].map((m) => m[1])).toEqual(p.links);
          expect(body).not.toContain('<script');
        }
      }
      expect(shells).toBe(20);
      expect(s.shellFraction).toBe(0.1);
      expect(s.page('/')!.shell).toBe(false);
      expect(s.page('/')!.links).not.toContain('/scroll');
      expect((await get(`${s.url}scroll`)).status).toBe(404);
    } finally {
      await s.close();
    }
  });
});

describe.skipIf(!hasChromium)(hasChromium ? 'spa site in Chromium' : NO_CHROMIUM_MESSAGE, () => {
  let browser: Browser;
  let s: SpaSite;
  let context: BrowserContext;
  let page: Page;
  beforeAll(async () => {
    browser = await launchChromium();
    s = await startSpaSite({ pages: 12, seed: 2 });
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });
  const fresh = async (): Promise<Page> => {
    await context?.close();
    context = await browser.newContext();
    page = await context.newPage();
    s.reset();
    return page;
  };

  it('renders every page with the script-set title and the expected links', async () => {
    await fresh();
    for (const p of s.pages.filter((x) => x.kind === 'page' || x.kind === 'target' || x.kind === 'probe')) {
      if (p.kind === 'probe')
        await page.route(
          (u) => u.hostname !== '127.0.0.1',
          (r) => r.abort(),
        );
      if (p.kind === 'probe') await page.route('**/go/secret*', (r) => r.abort());
      await page.goto(new URL(p.path, s.url).href);
      await page.waitForFunction(() => window.__spa.renders > 0);
      expect(await page.title(), p.path).toBe(p.title);
      expect(await hrefs(page), p.path).toEqual(p.links);
    }
    expect(s.secretHits()).toBe(0);
  });

  it('navigates client-side routes with pushState, without a document load', async () => {
    await fresh();
    await page.goto(s.url);
    await page.waitForFunction(() => document.title === 'SPA home');
    const target = s.page('/')!.links.find((l) => l.startsWith('/p/'))!;
    await page.evaluate(() => {
      window.marker = 42;
    });
    let loads = 0;
    page.on('load', () => loads++);
    await page.click(`#app a[href="${target}"]`);
    await page.waitForFunction((t) => document.title === t, s.page(target)!.title);
    expect(new URL(page.url()).pathname).toBe(target);
    expect(await hrefs(page)).toEqual(s.page(target)!.links);
    expect(await page.evaluate(() => window.marker)).toBe(42);
    expect((await spaState(page)).navigations).toBe(1);
    expect(loads).toBe(0);
    expect(s.counts.get(target)).toBeUndefined();
    expect(s.counts.get(`/api/page?path=${encodeURIComponent(target)}`)).toBe(1);
    await page.goBack();
    await page.waitForFunction(() => document.title === 'SPA home');
    expect(new URL(page.url()).pathname).toBe('/');
    expect(s.counts.get('/')).toBe(1);
  });

  it('inserts the delayed links only the configured delay after load', async () => {
    await fresh();
    await page.addInitScript(ADDED_LINKS_JS);
    const p = s.page('/delayed')!;
    await page.goto(new URL(p.path, s.url).href);
    await page.waitForFunction(() => window.__spa.lateAt >= 0);
    expect(await hrefs(page)).toEqual(p.links);
    const st = await spaState(page);
    const added = await page.evaluate(() => window.added);
    expect(added.map((a) => a.href)).toEqual(p.links);
    const late = added.filter((a) => p.lateLinks!.includes(a.href));
    expect(late).toHaveLength(3);
    for (const a of late) expect(a.t - st.loadedAt).toBeGreaterThanOrEqual(300 - 1);
    for (const a of added.filter((x) => !p.lateLinks!.includes(x.href))) expect(a.t).toBeLessThan(late[0]!.t);
  });

  it('loads one more batch per scroll to the bottom until the list ends', async () => {
    await fresh();
    await page.goto(`${s.url}scroll`);
    await page.waitForFunction(() => window.__spa.batches === 1);
    expect(await page.title()).toBe('Infinite scroll');
    expect(await hrefs(page)).toEqual(s.page('/scroll')!.links);
    expect([...s.counts.keys()].filter((k) => k.startsWith('/api/scroll'))).toEqual(['/api/scroll?batch=0']);
    for (let b = 2; b <= s.scroll.batches.length; b++) {
      await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
      await page.waitForFunction((want) => window.__spa.batches === want, b);
    }
    await page.waitForSelector('#end');
    expect((await spaState(page)).ended).toBe(true);
    expect(await hrefs(page, '#app li.item a')).toEqual(s.scroll.batches.flat());
    for (let b = 0; b < s.scroll.batches.length; b++) expect(s.counts.get(`/api/scroll?batch=${b}`)).toBe(1);
  });

  it('completes the chained-fetch page at networkidle, not at load', async () => {
    await fresh();
    await page.addInitScript(() => {
      addEventListener('load', () => {
        window.atLoad = {
          title: document.title,
          links: document.querySelectorAll('#app a').length,
        };
      });
    });
    const p = s.page('/chain')!;
    await page.goto(new URL(p.path, s.url).href, { waitUntil: 'networkidle' });
    expect(await page.title()).toBe(p.title);
    expect(await hrefs(page)).toEqual(p.links);
    expect(await page.evaluate(() => window.atLoad)).toEqual({
      title: 'Loading…',
      links: 0,
    });
    for (const step of [1, 2, 3]) expect(s.counts.get(`/api/chain/${step}`)).toBe(1);
  });

  it('has the probe page attempt 0.0.0.0, [::] and a same-origin redirect to 0.0.0.0', async () => {
    await fresh();
    const attempted: string[] = [];
    // Nothing leaves unrouted: loopback forms other than the site's own origin and the
    // redirecting URL (whose hop route() would not see) are aborted here.
    await page.route(
      (u) => u.host !== `127.0.0.1:${s.port}` || u.pathname === '/go/secret',
      (r) => {
        attempted.push(r.request().url());
        return r.abort();
      },
    );
    await page.goto(`${s.url}probe`);
    await page.waitForFunction(() => document.title === 'Probe');
    const want = [...s.probes.fetch, ...s.probes.frames].map((u) => new URL(u, s.url).href);
    await expect.poll(() => [...attempted].sort()).toEqual([...want].sort());
    expect(want).toContain(`http://0.0.0.0:${s.port}/secret?via=v4`);
    expect(want).toContain(`http://[::]:${s.port}/secret?via=v6`);
    expect(s.secretHits()).toBe(0);
    expect(s.counts.get('/go/secret?via=fetch')).toBeUndefined();
  });

  it('renders the shell pages of a mixed site like the plain ones', async () => {
    const m = await startSpaSite({ pages: 20, seed: 9, mixed: 0.25 });
    try {
      await fresh();
      const shells = m.pages.filter((p) => p.shell);
      expect(shells).toHaveLength(5);
      for (const p of shells) {
        await page.goto(new URL(p.path, m.url).href);
        await page.waitForFunction((t) => document.title === t, p.title);
        expect(await hrefs(page)).toEqual(p.links);
      }
    } finally {
      await m.close();
    }
  });
});
