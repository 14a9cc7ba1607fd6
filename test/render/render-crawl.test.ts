// Whole crawls with --render (issue 13) against the client-rendered test site (src/testsite/spa.ts)
// and Debian's Chromium: the same engine, frontier, dedup and records as a plain crawl.

import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WARCParser, type WARCRecord } from 'warcio';
import { distributedCrawl, joinCrawl } from '../../src/crawl/distributed-crawl.js';
import type { PageRecord } from '../../src/crawl/record.js';
import { type SpaSite, type SpaSiteOptions, startSpaSite } from '../../src/testsite/spa.js';
import { CHROMIUM_PATH, chromiumChildrenOf, hasChromium, NO_CHROMIUM_MESSAGE } from '../helpers/chromium.js';
import { startCrawl } from '../helpers/crawl.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const sites: SpaSite[] = [];
let redis: TestRedis | null = null;
afterEach(async () => {
  await Promise.all(sites.splice(0).map((s) => s.close()));
  await redis?.stop();
  redis = null;
});
async function site(opts: SpaSiteOptions): Promise<SpaSite> {
  const s = await startSpaSite(opts);
  sites.push(s);
  return s;
}

const pathOf = (r: PageRecord) => new URL(r.url).pathname;

// Enough static text that no page looks like an app shell: only a handler can tell it is empty.
const PROSE = `<p>${'A page with plenty of ordinary static text on it. '.repeat(20)}</p>`;

/**
 * A site for `--render auto`'s empty-handler trigger: `/` links three listings and an about
 * page; a listing's items arrive by fetch() after load; the about page has none at all.
 */
async function startEmptyHandlerSite() {
  const counts = new Map<string, number>();
  const page = (body: string) =>
    `<!doctype html><html><head><title>t</title></head><body>${PROSE}${body}</body></html>`;
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const list = /^\/list\/(\d)$/.exec(path);
    const api = /^\/api\/list\/(\d)$/.exec(path);
    let body: string;
    let type = 'text/html; charset=utf-8';
    if (path === '/') {
      body = page(
        '<a class="list" href="/list/1">1</a> <a class="list" href="/list/2">2</a> ' +
          '<a class="list" href="/list/3">3</a> <a class="about" href="/about">about</a>',
      );
    } else if (path === '/about') {
      body = page('<h1>About</h1>');
    } else if (list) {
      body = page(
        `<ul id="items"></ul><script>fetch('/api/list/${list[1]}').then(function (r) { return r.json(); })` +
          ".then(function (d) { document.getElementById('items').innerHTML = d.map(function (t) { return '<li class=\"item\">' + t + '</li>'; }).join(''); });</script>",
      );
    } else if (api) {
      type = 'application/json';
      body = JSON.stringify([`item ${api[1]}a`, `item ${api[1]}b`]);
    } else if (path === '/robots.txt') {
      type = 'text/plain';
      body = '';
    } else {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': type }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    counts,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Every record's path, checking that none is stored twice. */
function paths(records: PageRecord[]): string[] {
  const list = records.map(pathOf);
  expect(new Set(list).size).toBe(list.length);
  return list.sort();
}

describe.skipIf(!hasChromium)(
  `crawling a client-rendered site ${hasChromium ? '' : NO_CHROMIUM_MESSAGE}`,
  () => {
    it('a plain crawl finds only the app shell: no links, the placeholder title', async () => {
      const s = await site({ pages: 20 });
      const { crawl, records } = startCrawl({ seeds: [s.url] });
      await crawl.done;
      expect(paths(records)).toEqual(['/']);
      expect(records[0]!.title).toBe('Loading…');
      expect(records[0]!.links).toEqual([]);
      expect(records[0]!.rendered).toBeUndefined();
    });

    it('--render finds every page exactly once, with the titles and links the script set', async () => {
      const s = await site({ pages: 30 });
      const { crawl, records } = startCrawl({
        seeds: [s.url],
        render: 'always',
        chromium: CHROMIUM_PATH,
        tabs: 4,
        workers: 8,
      });
      const summary = await crawl.done;
      expect(paths(records)).toEqual(s.pages.map((p) => p.path).sort());
      for (const r of records) {
        const want = s.page(pathOf(r))!;
        expect(r.status, r.url).toBe(200);
        expect(r.error, r.url).toBeNull();
        expect(r.rendered, r.url).toBe(true);
        expect(r.title, r.url).toBe(want.title);
        // Every link the settled page shows (late links and the chain's included) is in the record.
        const links = new Set(r.links.map((l) => new URL(l).pathname));
        for (const l of want.links) expect(links.has(l), `${r.url} -> ${l}`).toBe(true);
      }
      // Each page was navigated to once, by the browser: no plain GET of a page first.
      for (const p of s.pages) expect(s.counts.get(p.path), p.path).toBe(1);
      expect(summary.render?.pages).toBe(records.length);
      expect(summary.render?.byReason).toEqual({ always: records.length });
    });

    it('--warc archives each rendered document once (as served, before scripts), with the scripts and API calls it loaded', async () => {
      const s = await site({ pages: 8 });
      const warc = join(tmpdir(), `trawl-render-warc-${process.pid}-${Date.now()}.warc.gz`);
      try {
        const { crawl, records } = startCrawl({
          seeds: [s.url],
          render: 'always',
          chromium: CHROMIUM_PATH,
          tabs: 2,
          warc,
        });
        await crawl.done;
        expect(records.length).toBe(s.pages.length);
        const pageUrls = new Set(records.map((r) => r.url));
        const docs = new Map<string, string[]>();
        const loaded = new Set<string>();
        for await (const r of new WARCParser([readFileSync(warc)])) {
          const rec = r as WARCRecord;
          if (rec.warcType !== 'response') {
            await rec.readFully();
            continue;
          }
          const uri = rec.warcTargetURI!;
          const body = Buffer.from(await rec.readFully(true)).toString('utf8');
          loaded.add(new URL(uri).pathname);
          if (!pageUrls.has(uri)) continue;
          docs.set(uri, [...(docs.get(uri) ?? []), body]);
          expect(rec.httpHeaders?.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
        }
        // Each page's document once, as the server sent it: the app shell, not the rendered DOM.
        expect([...docs.keys()].sort()).toEqual([...pageUrls].sort());
        for (const [uri, bodies] of docs) expect(bodies, uri).toHaveLength(1);
        const shell = await (await fetch(s.url)).text();
        expect(docs.get(s.url)).toEqual([shell]);
        expect(loaded.has('/static/app.js')).toBe(true);
        expect(loaded.has('/api/page')).toBe(true);
      } finally {
        rmSync(warc, { force: true });
      }
    });

    it('a page that never matches the selector wait is its render: timeout error, retried, and the crawl ends', async () => {
      const s = await site({ pages: 3 });
      const { crawl, records } = startCrawl({
        seeds: [s.url],
        render: 'always',
        chromium: CHROMIUM_PATH,
        renderWait: { kind: 'selector', css: '#never-there' },
        renderTimeoutMs: 2000,
        retries: 1,
      });
      const summary = await crawl.done;
      expect(records).toHaveLength(1);
      expect(records[0]!.error).toMatch(/^render: timeout: /);
      expect(records[0]!.attempts).toBe(2);
      expect(summary.stopReason).toBe('done');
    });

    it("a page's script cannot reach an address the guard refuses, and the refusals are counted", async () => {
      const s = await site({ pages: 5 });
      const { crawl, records } = startCrawl({ seeds: [s.url], render: 'always', chromium: CHROMIUM_PATH });
      const summary = await crawl.done;
      expect(s.secretHits()).toBe(0);
      const probe = records.find((r) => pathOf(r) === '/probe')!;
      expect(probe.error).toBeNull();
      expect(probe.title).toBe(s.page('/probe')!.title);
      // fetch() to 0.0.0.0 and [::] (http: forwarded requests), and the same-origin /go/secret hops
      // (via fetch and via an iframe) whose 302 leads to 0.0.0.0: each refused by the guard.
      expect(summary.render!.refused).toBeGreaterThanOrEqual(s.probes.fetch.length + s.probes.frames.length);
    });

    it('a Chromium SIGKILLed mid-crawl is relaunched and the crawl completes, every page exactly once', async () => {
      const s = await site({ pages: 40 });
      const { crawl, records } = startCrawl({
        seeds: [s.url],
        render: 'always',
        chromium: CHROMIUM_PATH,
        tabs: 4,
        workers: 8,
      });
      // Kill the browser while pages are being rendered: some stored, most not yet.
      while (records.length < 5) await new Promise((r) => setTimeout(r, 10));
      const killed = chromiumChildrenOf(process.pid);
      expect(killed.length).toBeGreaterThan(0);
      for (const pid of killed) process.kill(pid, 'SIGKILL');
      const summary = await crawl.done;
      expect(paths(records)).toEqual(s.pages.map((p) => p.path).sort());
      for (const r of records) {
        expect(r.error, r.url).toBeNull();
        expect(r.title, r.url).toBe(s.page(pathOf(r))!.title);
      }
      expect(summary.render!.browsers.crashes).toBeGreaterThanOrEqual(1);
      expect(summary.render!.browsers.launches).toBeGreaterThanOrEqual(2);
    });

    it('distributed: a worker joining a rendered crawl renders too, and every page is stored once', async () => {
      redis = await startRedis();
      const s = await site({ pages: 24 });
      const records: PageRecord[] = [];
      const common = { rate: Number.POSITIVE_INFINITY, parsers: 0, retryBaseMs: 1, tabs: 2, workers: 4 };
      const first = await distributedCrawl({
        redis: redis.url,
        name: 'spa',
        seeds: [s.url],
        render: 'always',
        chromium: CHROMIUM_PATH,
        ...common,
        onRecord: (r) => records.push(r),
      });
      // The worker is started without --render: it adopts the crawl's rendering from Redis.
      const worker = await joinCrawl({
        redis: redis.url,
        name: 'spa',
        ...common,
        onRecord: (r) => records.push(r),
      });
      const [a, b] = await Promise.all([first.done, worker.done]);
      expect(paths(records)).toEqual(s.pages.map((p) => p.path).sort());
      for (const r of records) {
        expect(r.rendered, r.url).toBe(true);
        expect(r.title, r.url).toBe(s.page(pathOf(r))!.title);
      }
      expect(a.pages + b.pages).toBe(s.pages.length);
    });

    it("a scraper's handler gets the rendered DOM as $, and the open page to scroll (parsers 0)", async () => {
      const s = await site({ pages: 12, scroll: { batches: 4, perBatch: 5 } });
      const items: Record<string, unknown>[] = [];
      const { crawl, records } = startCrawl({
        seeds: [s.url],
        scraper: join(import.meta.dirname, '../fixtures/scrapers/render.ts'),
        render: 'always',
        chromium: CHROMIUM_PATH,
        parsers: 0,
        onItem: (item) => items.push(item),
      });
      await crawl.done;
      expect(paths(records)).toEqual(s.pages.map((p) => p.path).sort());
      const pages = items.filter((i) => i.kind === 'page');
      expect(pages).toHaveLength(records.length - 1);
      for (const i of pages) {
        expect(i.title).toBe(s.page(new URL(i.url as string).pathname)!.title);
        expect(i.hasPage).toBe(true);
      }
      // Every batch of the list, scrolled in by the handler through the open page.
      const scroll = items.find((i) => i.kind === 'scroll')!;
      expect(scroll.reason).toBe('no-new-content');
      expect(scroll.items).toEqual(s.scroll.batches.flat());
    });

    it("a redirect hop out of scope is the page's redirect-blocked error, as in a plain crawl", async () => {
      // B, another host (127.0.0.2: out of the default host scope, same loopback class for the guard).
      const b = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<title>elsewhere</title>');
      });
      await new Promise<void>((r) => b.listen(0, '127.0.0.2', r));
      const bUrl = `http://127.0.0.2:${(b.address() as AddressInfo).port}/x`;
      const a = createServer((req, res) => {
        if (req.url === '/go') res.writeHead(302, { location: bUrl }).end();
        else if (req.url === '/')
          res.writeHead(200, { 'content-type': 'text/html' }).end('<title>home</title><a href="/go">go</a>');
        else res.writeHead(404).end();
      });
      await new Promise<void>((r) => a.listen(0, '127.0.0.1', r));
      const seed = `http://127.0.0.1:${(a.address() as AddressInfo).port}/`;
      try {
        const byMode = new Map<string, PageRecord[]>();
        for (const render of ['off', 'always'] as const) {
          const { crawl, records } = startCrawl({
            seeds: [seed],
            ignoreRobots: true,
            ...(render === 'off' ? {} : { render, chromium: CHROMIUM_PATH }),
          });
          await crawl.done;
          byMode.set(render, records);
        }
        for (const [mode, records] of byMode) {
          expect(paths(records), mode).toEqual(['/', '/go']);
          const go = records.find((r) => pathOf(r) === '/go')!;
          expect(go.error, mode).toMatch(/redirect to http:\/\/127\.0\.0\.2:\d+\/x refused: out of scope/);
          expect(go.title, mode).toBeNull();
        }
      } finally {
        await new Promise<void>((r) => a.close(() => r()));
        await new Promise<void>((r) => b.close(() => r()));
      }
    });

    it('--render auto renders a page whose handler found nothing on it plain, and handles it again', async () => {
      const s = await startEmptyHandlerSite();
      const items: Record<string, unknown>[] = [];
      const { crawl, records } = startCrawl({
        seeds: [s.url],
        scraper: join(import.meta.dirname, '../fixtures/scrapers/empty-handler.ts'),
        render: 'auto',
        chromium: CHROMIUM_PATH,
        onItem: (item) => items.push(item),
      });
      const summary = await crawl.done;
      expect(paths(records)).toEqual(['/', '/about', '/list/1', '/list/2', '/list/3']);
      for (const r of records) {
        expect(r.error, r.url).toBeNull();
        // The home page's handler found the links plain: it is not rendered.
        expect(r.rendered === true, r.url).toBe(pathOf(r) !== '/');
      }
      // Every listing's items once, from the rendered page; none from the empty plain pass.
      expect(items.map((i) => `${i.list} ${i.item}`).sort()).toEqual(
        [1, 2, 3].flatMap((n) => [`/list/${n} item ${n}a`, `/list/${n} item ${n}b`]),
      );
      // Plain first, then the browser: two GETs of each page found empty, one of the home page.
      expect(s.counts.get('/')).toBe(1);
      for (const p of ['/about', '/list/1', '/list/2', '/list/3']) expect(s.counts.get(p), p).toBe(2);
      expect(summary.render!.byReason).toEqual({ 'empty-handler': 4 });
      expect(summary.render!.afterPlain).toBe(4);
      await s.close();
    });

    it('--render auto renders only the app shells of a mixed site, and learns nothing wrong', async () => {
      const s = await site({ pages: 60, mixed: 0.2 });
      const { crawl, records } = startCrawl({
        seeds: [s.url],
        render: 'auto',
        chromium: CHROMIUM_PATH,
        workers: 8,
      });
      const summary = await crawl.done;
      expect(paths(records)).toEqual(s.pages.map((p) => p.path).sort());
      for (const r of records) {
        const want = s.page(pathOf(r))!;
        expect(r.title, r.url).toBe(want.title);
        expect(r.rendered === true, r.url).toBe(want.shell);
      }
      const shells = s.pages.filter((p) => p.shell).length;
      expect(summary.render!.pages).toBe(shells);
      expect(summary.render!.afterPlain).toBe(shells);
    });
  },
);
