import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetscapeCookie } from '../../src/crawl/fetch/cookies-txt.js';
import { SessionCookies } from '../../src/crawl/fetch/session-cookies.js';
import { BrowserPool, type Tab } from '../../src/crawl/render/browser-pool.js';
import { infiniteScroll } from '../../src/crawl/render/infinite-scroll.js';
import { RenderError } from '../../src/crawl/render/render-error.js';
import type { RenderResource, RenderWait } from '../../src/crawl/render/render-options.js';
import { type BrowserCookieJar, type RenderRequest, renderPage } from '../../src/crawl/render/render-page.js';
import { type SpaSite, startSpaSite } from '../../src/testsite/spa.js';
import { CHROMIUM_PATH, hasChromium, NO_CHROMIUM_MESSAGE } from '../helpers/chromium.js';

const LONG = 60_000; // generous: these tests never depend on speed
const never = new AbortController().signal;

/** The href attributes of the `<a>` elements of a serialized DOM, in order. */
function hrefs(html: string): string[] {
  return [...html.matchAll(/<a\b[^>]*\bhref="([^"]*)"/g)].map((m) => m[1]!);
}
function title(html: string): string | undefined {
  return /<title>([^<]*)<\/title>/.exec(html)?.[1];
}

/** A loopback server for the cases the spa site does not cover; counts requests per path. */
async function startServer(): Promise<{
  url: string;
  counts: Map<string, number>;
  requests: IncomingMessage[];
  close(): Promise<void>;
}> {
  const counts = new Map<string, number>();
  const requests: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    counts.set(path, (counts.get(path) ?? 0) + 1);
    requests.push(req);
    const html = (body: string, status = 200, extra: Record<string, string | string[]> = {}) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...extra });
      res.end(`<!doctype html><html><head><title>t</title></head><body>${body}</body></html>`);
    };
    switch (path) {
      case '/assets':
        return html(
          '<link rel="stylesheet" href="/s.css"><style>@font-face{font-family:F;src:url(/f.woff2)}' +
            'p{font-family:F}</style><p>text</p><img src="/i.png"><video src="/v.mp4" preload="auto"></video>',
        );
      case '/s.css':
        res.writeHead(200, { 'content-type': 'text/css' });
        return res.end('p{color:red}');
      case '/r1':
        res.writeHead(302, { location: '/r2' });
        return res.end();
      case '/r2':
        res.writeHead(301, { location: '/final' });
        return res.end();
      case '/final':
        return html('<p>final</p>', 200, { 'x-trawl-test': 'yes' });
      case '/missing':
        return html('<p>gone</p>', 404);
      case '/cookies':
        return html(`<p id="c">${String(req.headers.cookie ?? '')}</p>`, 200, {
          'set-cookie': ['srv=1; Path=/', 'kept=2; Path=/; Max-Age=3600; HttpOnly'],
        });
      case '/headers':
        return html(`<p id="h">${String(req.headers['x-extra'] ?? 'none')}</p>`);
      case '/never-settles':
        // The selector never matches; the page is otherwise complete.
        return html('<p>no such element</p>');
      case '/busy':
        // Fetches forever, one after the other: never quiet.
        return html(
          '<script>var n=0;function f(){fetch("/ping").then(function(){document.body.dataset.n=++n;f()})}f()</script>',
        );
      case '/ping':
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end('pong');
      case '/clock':
        // A clock: a timer chain forever, but quiet between ticks.
        return html(
          '<p id="t"></p><script>(function tick(){document.getElementById("t").textContent=Date.now();setTimeout(tick,300)})()</script>',
        );
      case '/slow-body':
        // The fetch settles at the headers; the body, read through a clone too, comes later.
        return html(
          '<title>Loading</title><script>fetch("/slow-json").then(function(r){var c=r.clone();' +
            'return r.json().then(function(d){document.title=d.title;return c.text()})' +
            '.then(function(t){document.body.dataset.len=t.length})})</script>',
        );
      case '/slow-json':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        setTimeout(() => res.end('{"title":"From the body"}'), 600);
        return;
      case '/hang':
        return; // never answered
      case '/auth':
        return html(`<p id="a">${String(req.headers.authorization ?? 'none')}</p>`);
      default:
        res.writeHead(404);
        return res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    counts,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** SessionCookies as renderPage's jar (what the engine wires). */
function jarOf(jar: SessionCookies): BrowserCookieJar {
  return { toBrowser: () => jar.exportAll(), fromBrowser: (list: NetscapeCookie[]) => jar.import(list) };
}

describe.skipIf(!hasChromium)(hasChromium ? 'renderPage (real Chromium)' : NO_CHROMIUM_MESSAGE, () => {
  let spa: SpaSite;
  let slow: SpaSite;
  let server: Awaited<ReturnType<typeof startServer>>;
  let pool: BrowserPool;

  beforeAll(async () => {
    [spa, slow, server] = await Promise.all([
      startSpaSite({ pages: 20 }),
      // The API answers long after `load`: a page read at `load` is still the empty shell.
      startSpaSite({ pages: 5, apiLatencyMs: 1500 }),
      startServer(),
    ]);
    pool = new BrowserPool({
      executablePath: CHROMIUM_PATH,
      browsers: 1,
      tabs: 2,
      recycleAfter: 0,
      userAgent: 'trawl-test',
    });
  });
  afterAll(async () => {
    await pool?.close();
    await Promise.all([spa?.close(), slow?.close(), server?.close()]);
  });

  async function render(
    url: string,
    over: Partial<RenderRequest> & { session?: string } = {},
    use?: (tab: Tab) => Promise<void>,
  ) {
    const tab = await pool.acquire(over.session ?? 's', never);
    try {
      const r = await renderPage(tab, {
        url,
        timeoutMs: LONG,
        wait: { kind: 'settled' },
        allow: new Set(),
        signal: never,
        ...over,
      });
      if (use) await use(tab);
      return r;
    } finally {
      await tab.release();
    }
  }
  const at = (site: SpaSite, path: string) => new URL(path, site.url).href;

  describe('wait strategies on the client-rendered site', () => {
    it('settled (default) has the script-set title and links of a generated page (XHR after load)', async () => {
      for (const path of ['/p/3', '/p/7']) {
        const want = spa.page(path)!;
        const r = await render(at(spa, path));
        expect(r.status).toBe(200);
        expect(title(r.html)).toBe(want.title);
        expect(hrefs(r.html)).toEqual(want.links);
        expect(r.waited).toBe('settled');
      }
    });

    it('settled waits for an API answer that arrives long after load, where load alone reads the shell', async () => {
      const want = slow.page('/p/2')!;
      const atLoad = await render(at(slow, '/p/2'), { wait: { kind: 'load' } });
      expect(atLoad.waited).toBe('load');
      expect(title(atLoad.html)).toBe('Loading…');
      expect(hrefs(atLoad.html)).toEqual([]);
      const settled = await render(at(slow, '/p/2'));
      expect(title(settled.html)).toBe(want.title);
      expect(hrefs(settled.html)).toEqual(want.links);
    });

    it('settled has /delayed’s late links (a timer after load)', async () => {
      const want = spa.page('/delayed')!;
      const r = await render(at(spa, '/delayed'));
      expect(hrefs(r.html)).toEqual(want.links);
      expect(hrefs(r.html)).toEqual(expect.arrayContaining([...want.lateLinks!]));
    });

    it('settled and networkidle have /chain’s content (sequential fetches after load)', async () => {
      const want = spa.page('/chain')!;
      for (const wait of [{ kind: 'settled' }, { kind: 'networkidle' }] as RenderWait[]) {
        const r = await render(at(spa, '/chain'), { wait });
        expect(title(r.html), wait.kind).toBe(want.title);
        expect(hrefs(r.html), wait.kind).toEqual(want.links);
        expect(r.waited).toBe(wait.kind);
      }
    });

    it('settled waits for a fetched body that arrives long after the headers (json() and a clone)', async () => {
      const r = await render(`${server.url}slow-body`);
      expect(r.waited).toBe('settled');
      expect(title(r.html)).toBe('From the body');
      expect(r.html).toContain('data-len="25"');
    });

    it('load and domcontentloaded return the document at that event', async () => {
      for (const kind of ['load', 'domcontentloaded'] as const) {
        const r = await render(at(spa, '/p/4'), { wait: { kind } });
        expect(r.status).toBe(200);
        expect(r.waited).toBe(kind);
        expect(r.html).toContain('<div id="app">');
      }
    });

    it('selector:CSS waits until a matching element is in the DOM', async () => {
      const want = slow.page('/p/3')!;
      const r = await render(at(slow, '/p/3'), { wait: { kind: 'selector', css: '#links a' } });
      expect(r.waited).toBe('selector');
      expect(hrefs(r.html)).toEqual(want.links);
    });

    it('settled takes the DOM as it is at the cap when a page never goes quiet (no error)', async () => {
      const r = await render(`${server.url}busy`, { timeoutMs: 4000 });
      expect(r.waited).toBe('settle-cap');
      expect(r.status).toBe(200);
      expect(r.html).toMatch(/data-n="\d+"/);
    });

    it('settled does not wait on a timer loop (a clock) that is quiet between ticks', async () => {
      const r = await render(`${server.url}clock`, { timeoutMs: LONG });
      expect(r.waited).toBe('settled');
    });

    it('a selector that never matches is a timeout RenderError', async () => {
      const err = await render(`${server.url}never-settles`, {
        wait: { kind: 'selector', css: '#never' },
        timeoutMs: 2000,
      }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RenderError);
      expect((err as RenderError).kind).toBe('timeout');
      expect((err as RenderError).retryable).toBe(false);
    });
  });

  describe('blocked resource types', () => {
    const assets = ['/i.png', '/s.css', '/f.woff2', '/v.mp4'];
    const hits = () => assets.map((p) => server.counts.get(p) ?? 0);

    it('blocks images, stylesheets, fonts and media by default: the server never sees them', async () => {
      const before = hits();
      const r = await render(`${server.url}assets`, { wait: { kind: 'load' }, session: 'blocked' });
      expect(r.status).toBe(200);
      expect(hits()).toEqual(before);
    });

    it('blocks in pages of a new context created concurrently with the first render', async () => {
      const before = hits();
      const [t1, t2] = await Promise.all([pool.acquire('fresh', never), pool.acquire('fresh', never)]);
      try {
        await Promise.all(
          [t1, t2].map((t) =>
            renderPage(t, {
              url: `${server.url}assets`,
              timeoutMs: LONG,
              wait: { kind: 'load' },
              allow: new Set(),
              signal: never,
            }),
          ),
        );
      } finally {
        await Promise.all([t1.release(), t2.release()]);
      }
      expect(hits()).toEqual(before);
    });

    it('lets the allowed types through', async () => {
      const before = hits();
      const allow = new Set<RenderResource>(['image', 'stylesheet', 'font']);
      await render(`${server.url}assets`, { wait: { kind: 'load' }, allow, session: 'allowed' });
      const after = hits();
      expect(after[0]).toBeGreaterThan(before[0]!); // image
      expect(after[1]).toBeGreaterThan(before[1]!); // stylesheet
      expect(after[2]).toBeGreaterThan(before[2]!); // font
      expect(after[3]).toBe(before[3]); // media still blocked
    });
  });

  describe('main document', () => {
    it('reports the final URL, status, headers and the redirect chain of a 302 → 301 → page', async () => {
      const r = await render(`${server.url}r1`, { wait: { kind: 'load' } });
      expect(r.finalUrl).toBe(`${server.url}final`);
      expect(r.status).toBe(200);
      expect(r.headers['x-trawl-test']).toBe('yes');
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.redirects).toEqual([`${server.url}r2`, `${server.url}final`]);
    });

    it('renders an error page with its status', async () => {
      const r = await render(`${server.url}missing`, { wait: { kind: 'load' } });
      expect(r.status).toBe(404);
      expect(r.redirects).toEqual([]);
      expect(r.html).toContain('gone');
    });

    it('sends the extra headers asked for, and only then', async () => {
      const withH = await render(`${server.url}headers`, {
        wait: { kind: 'load' },
        headers: { 'X-Extra': 'yes' },
      });
      expect(withH.html).toContain('<p id="h">yes</p>');
      const without = await render(`${server.url}headers`, { wait: { kind: 'load' } });
      expect(without.html).toContain('<p id="h">none</p>');
    });

    it('an Authorization header goes to the page’s own origin only, never to other hosts it loads from', async () => {
      const seen: (string | undefined)[] = [];
      const other = createServer((req, res) => {
        seen.push(req.headers.authorization);
        res.writeHead(200, { 'content-type': 'text/javascript', 'access-control-allow-origin': '*' });
        res.end('1');
      });
      await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
      const otherUrl = `http://localhost:${(other.address() as AddressInfo).port}/x.js`;
      try {
        const tab = await pool.acquire('auth', never);
        try {
          const r = await renderPage(tab, {
            url: `${server.url}auth`,
            timeoutMs: LONG,
            wait: { kind: 'load' },
            allow: new Set(),
            signal: never,
            headers: { Authorization: 'Bearer t0ken', 'X-Extra': 'e' },
          });
          expect(r.html).toContain('<p id="a">Bearer t0ken</p>');
          await tab.page.evaluate(`fetch(${JSON.stringify(otherUrl)}).then((r) => r.text())`);
          expect(seen).toEqual([undefined]);
        } finally {
          await tab.release();
        }
      } finally {
        await new Promise<void>((r) => {
          other.closeAllConnections();
          other.close(() => r());
        });
      }
    });

    it('a refused connection is a navigation RenderError', async () => {
      const closed = createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const { port } = closed.address() as AddressInfo;
      await new Promise<void>((r) => closed.close(() => r()));
      const err = await render(`http://127.0.0.1:${port}/`).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RenderError);
      expect((err as RenderError).kind).toBe('navigation');
      expect((err as RenderError).message).toContain('ERR_CONNECTION_REFUSED');
    });

    it('an abort ends the render at once with kind aborted', async () => {
      const ctl = new AbortController();
      const before = server.counts.get('/hang') ?? 0;
      const pending = render(`${server.url}hang`, { signal: ctl.signal });
      for (let i = 0; i < 600 && (server.counts.get('/hang') ?? 0) === before; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      ctl.abort(new Error('stop'));
      const err = await pending.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RenderError);
      expect((err as RenderError).kind).toBe('aborted');
    });
  });

  describe('cookies', () => {
    it('the jar’s cookies go into the context before navigation and the page’s come back after', async () => {
      const jar = new SessionCookies();
      jar.store(`${server.url}`, ['pre=x; Path=/', 'other=y; Path=/elsewhere']);
      const r = await render(`${server.url}cookies`, {
        wait: { kind: 'load' },
        cookies: jarOf(jar),
        session: 'c1',
      });
      expect(r.html).toContain('<p id="c">pre=x</p>');
      const back = Object.fromEntries(jar.cookiesFor(`${server.url}`).map((c) => [c.name, c]));
      expect(back.srv).toMatchObject({ value: '1', expires: null });
      expect(back.kept).toMatchObject({ value: '2', httpOnly: true });
      expect(back.kept!.expires).not.toBeNull();
      expect(back.pre).toMatchObject({ value: 'x' });
      expect(jar.header(`${server.url}elsewhere/a`)).toContain('other=y');
    });
  });

  describe('infiniteScroll', () => {
    it('scrolls /scroll until the list ends, loading every batch', async () => {
      const batches = spa.scroll.batches;
      let result: Awaited<ReturnType<typeof infiniteScroll>> | undefined;
      let html = '';
      await render(at(spa, '/scroll'), {}, async (tab) => {
        result = await infiniteScroll(tab.page, { idleMs: 1500 });
        html = await tab.page.content();
      });
      expect(result!.reason).toBe('no-new-content');
      expect(result!.scrolls).toBeGreaterThanOrEqual(batches.length - 1);
      expect(html.match(/class="item"/g)?.length).toBe(batches.length * spa.scroll.perBatch);
      expect(html).toContain('id="end"');
    });

    it('stops at maxScrolls with reason cap', async () => {
      let result: Awaited<ReturnType<typeof infiniteScroll>> | undefined;
      let html = '';
      await render(at(spa, '/scroll'), {}, async (tab) => {
        result = await infiniteScroll(tab.page, { maxScrolls: 2, idleMs: 1500 });
        html = await tab.page.content();
      });
      expect(result).toEqual({ scrolls: 2, reason: 'cap' });
      expect(html.match(/class="item"/g)?.length).toBe(3 * spa.scroll.perBatch);
    });
  });
});
