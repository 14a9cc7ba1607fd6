import { createGunzip } from 'node:zlib';
import { Parser } from 'htmlparser2';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRobots } from '../../src/crawl/robots/robots.js';
import { parseSitemap } from '../../src/crawl/sitemap/sitemap.js';
import { FAULT_ENDPOINTS, FAULT_TEXT } from '../../src/testsite/faults.js';
import { startTestSite, type TestSite } from '../../src/testsite/server.js';
import { buildSite } from '../../src/testsite/site.js';

const agent = new Agent({ connections: 16, keepAliveTimeout: 1000 });
afterAll(() => agent.close());

async function get(url: string, opts: { bodyTimeout?: number; signal?: AbortSignal } = {}) {
  const r = await request(url, { dispatcher: agent, ...opts });
  const body = Buffer.from(await r.body.arrayBuffer());
  return { status: r.statusCode, headers: r.headers, body };
}

/** Title text and hrefs as an HTML parser sees them. */
function parseHtml(html: string): { title: string; hrefs: string[] } {
  let title = '';
  let inTitle = false;
  const hrefs: string[] = [];
  const p = new Parser({
    onopentag(name, attrs) {
      if (name === 'title') inTitle = true;
      if (name === 'a' && attrs.href !== undefined) hrefs.push(attrs.href);
    },
    ontext(t) {
      if (inTitle) title += t;
    },
    onclosetag(name) {
      if (name === 'title') inTitle = false;
    },
  });
  p.write(html);
  p.end();
  return { title, hrefs };
}

/**
 * windows-1252 per the WHATWG Encoding Standard. Not TextDecoder: Node 20's decodes 0x80–0x9F
 * as C1 controls (ISO-8859-1), not as € “ ” etc.
 */
function decode1252(b: Buffer): string {
  const high = [
    0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d,
    0x17d, 0x8f, 0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a,
    0x153, 0x9d, 0x17e, 0x178,
  ];
  return Array.from(b, (x) => String.fromCharCode(x >= 0x80 && x < 0xa0 ? high[x - 0x80]! : x)).join('');
}

describe('test site: pages and graph', () => {
  let s: TestSite;
  beforeAll(async () => {
    s = await startTestSite({ pages: 300, linksPerPage: 6, pageBytes: 3000, seed: 7 });
  });
  afterAll(() => s.close());

  it('reaches every page by following links, at exactly the advertised BFS depths', async () => {
    const depth = new Map<string, number>([[s.url, 0]]);
    let frontier = [s.url];
    const kinds = { external: 0, mailto: 0, javascript: 0, fragment: 0, dotdot: 0, dot: 0 };
    while (frontier.length > 0) {
      const next: string[] = [];
      await Promise.all(
        frontier.map(async (u) => {
          const r = await get(u);
          expect(r.status).toBe(200);
          const { title, hrefs } = parseHtml(r.body.toString('utf8'));
          const id = s.site.idOfPath(new URL(u).pathname)!;
          expect(title).toBe(`Page ${id}`);
          expect(new Set(hrefs).size).toBeLessThan(hrefs.length); // duplicates present
          for (const h of hrefs) {
            if (h.startsWith('http://example.invalid') || h.startsWith('https://www.example.invalid'))
              kinds.external++;
            if (h.startsWith('mailto:')) kinds.mailto++;
            if (h.startsWith('javascript:')) kinds.javascript++;
            if (h.includes('#')) kinds.fragment++;
            if (h.startsWith('../')) kinds.dotdot++;
            if (h.startsWith('./')) kinds.dot++;
            const abs = new URL(h, u);
            if (abs.origin !== new URL(s.url).origin) continue;
            abs.hash = '';
            if (!depth.has(abs.href)) {
              depth.set(abs.href, depth.get(u)! + 1);
              next.push(abs.href);
            }
          }
        }),
      );
      frontier = next;
    }
    expect(depth.size).toBe(300);
    for (let id = 0; id < 300; id++) expect(depth.get(s.pageUrl(id))).toBe(s.site.depthOf(id));
    expect(s.site.maxDepth).toBeGreaterThanOrEqual(3);
    for (const v of Object.values(kinds)) expect(v).toBeGreaterThan(0);
    expect(s.total()).toBe(300);
    expect(s.counts.get('/p/299')).toBe(1);
    expect(s.requestTimes).toHaveLength(300);
  });

  it('has depths that a BFS over linksOf agrees with, and idsWithin', () => {
    const site = buildSite({ pages: 1000, linksPerPage: 20, seed: 3 });
    const d = new Array<number>(1000).fill(-1);
    d[0] = 0;
    const q = [0];
    for (let i = 0; i < q.length; i++) {
      for (const t of site.linksOf(q[i]!)) {
        if (d[t] === -1) {
          d[t] = d[q[i]!]! + 1;
          q.push(t);
        }
      }
    }
    expect(Array.from(site.depths)).toEqual(d);
    expect(site.idsWithin(1)).toEqual(Array.from({ length: 11 }, (_, i) => i)); // branching 10
    expect(() => site.depthOf(1000)).toThrow(RangeError);
  });

  it('is deterministic: same options give byte-identical pages, another seed does not', async () => {
    const t = await startTestSite({ pages: 300, linksPerPage: 6, pageBytes: 3000, seed: 7 });
    const u = await startTestSite({ pages: 300, linksPerPage: 6, pageBytes: 3000, seed: 8 });
    try {
      for (const id of [0, 1, 150, 299]) {
        const a = await get(s.pageUrl(id));
        const b = await get(t.pageUrl(id));
        expect(a.body.equals(b.body)).toBe(true);
        expect(Math.abs(a.body.length - 3000)).toBeLessThan(200);
      }
      expect((await get(u.pageUrl(150))).body.equals((await get(s.pageUrl(150))).body)).toBe(false);
    } finally {
      await t.close();
      await u.close();
    }
  });

  it('answers 404 for unknown paths and out-of-range pages, and resets counters', async () => {
    expect((await get(`${s.url}p/300`)).status).toBe(404);
    expect((await get(`${s.url}nope?x=1`)).status).toBe(404);
    expect(s.counts.get('/nope?x=1')).toBe(1);
    s.reset();
    expect(s.total()).toBe(0);
    expect(s.counts.size).toBe(0);
    expect(s.requestTimes).toHaveLength(0);
  });

  it('describes itself', () => {
    expect(s.describe()).toContain('300 pages');
    expect(s.describe()).toContain(s.url);
  });
});

describe('test site: robots.txt and sitemaps', () => {
  it('serves a default robots.txt that allows all and lists the sitemap', async () => {
    const s = await startTestSite({ pages: 30 });
    try {
      const r = await get(`${s.url}robots.txt`);
      const robots = parseRobots(`${s.url}robots.txt`, r.body.toString());
      expect(robots.isAllowed(s.pageUrl(5), 'trawl')).toBe(true);
      expect(robots.sitemaps()).toEqual([`${s.url}sitemap.xml`]);
      const locs: string[] = [];
      const sm = await request(`${s.url}sitemap.xml`, { dispatcher: agent });
      for await (const e of parseSitemap(sm.body, { url: 'x' })) locs.push(e.loc);
      expect(locs).toEqual(Array.from({ length: 30 }, (_, i) => s.pageUrl(i)));
      const txt = (await get(`${s.url}sitemap.txt`)).body.toString().trim().split('\n');
      expect(txt).toEqual(locs);
    } finally {
      await s.close();
    }
  });
  it('serves a sitemap index with gzipped children for large sites', async () => {
    const s = await startTestSite({ pages: 95, sitemap: { perFile: 20 } });
    try {
      const idx = (await get(`${s.url}sitemap.xml`)).body.toString();
      expect(idx).toContain('<sitemapindex');
      expect(idx).toContain('/sitemaps/1.xml.gz');
      const gz = await get(`${s.url}sitemaps/1.xml.gz`);
      expect(gz.body[0]).toBe(0x1f);
      expect((await get(`${s.url}sitemaps/1.xml`)).status).toBe(404);
      expect((await get(`${s.url}sitemaps/5.xml`)).status).toBe(404);
    } finally {
      await s.close();
    }
  });
  it('serves configured robots bodies, statuses and resets', async () => {
    const s = await startTestSite({
      pages: 5,
      robots: { body: 'User-agent: *\nDisallow: /p/\nSitemap: {origin}/x.xml\n' },
    });
    const t = await startTestSite({ pages: 5, robots: { status: 503 } });
    const u = await startTestSite({ pages: 5, robots: { reset: true } });
    try {
      const body = (await get(`${s.url}robots.txt`)).body.toString();
      expect(body).toContain(`Sitemap: ${s.url}x.xml`);
      expect((await get(`${t.url}robots.txt`)).status).toBe(503);
      await expect(get(`${u.url}robots.txt`)).rejects.toThrow();
    } finally {
      await Promise.all([s.close(), t.close(), u.close()]);
    }
  });
});

describe('test site: faults', () => {
  let s: TestSite;
  beforeAll(async () => {
    s = await startTestSite({
      pages: 200,
      linksPerPage: 4,
      faults: {
        error500Rate: 0.2,
        error500Paths: ['/p/3'],
        tooManyRequests: { paths: ['/p/4'], times: 2, retryAfter: 3 },
        unavailable: { paths: ['/p/5'], times: 1, retryAfter: 'http-date' },
        slow: { paths: ['/p/6'], delayMs: 5_000 },
        trickle: { paths: ['/p/7'], intervalMs: 50 },
        reset: { paths: ['/p/8'] },
        link: true,
      },
    });
  });
  afterAll(() => s.close());

  it('picks 500 pages among leaves only, deterministically, and serves 500 paths', async () => {
    expect(s.errorPages.length).toBeGreaterThan(5);
    for (const id of s.errorPages) expect(s.site.branching * id + 1).toBeGreaterThanOrEqual(200);
    const again = await startTestSite({ pages: 200, linksPerPage: 4, faults: { error500Rate: 0.2 } });
    expect(again.errorPages).toEqual(s.errorPages);
    await again.close();
    expect((await get(s.pageUrl(s.errorPages[0]!))).status).toBe(500);
    expect((await get(s.pageUrl(3))).status).toBe(500);
    expect((await get(s.pageUrl(3))).status).toBe(500);
  });
  it('answers 429 with Retry-After seconds for the first k requests, then 200', async () => {
    const a = await get(s.pageUrl(4));
    const b = await get(s.pageUrl(4));
    const c = await get(s.pageUrl(4));
    expect([a.status, b.status, c.status]).toEqual([429, 429, 200]);
    expect(a.headers['retry-after']).toBe('3');
    expect(parseHtml(c.body.toString()).title).toBe('Page 4');
  });
  it('answers 503 with an HTTP-date Retry-After, then 200; built-in 429/503 endpoints too', async () => {
    const a = await get(s.pageUrl(5));
    expect(a.status).toBe(503);
    expect(Number.isNaN(Date.parse(String(a.headers['retry-after'])))).toBe(false);
    expect((await get(s.pageUrl(5))).status).toBe(200);
    const e = [];
    for (let i = 0; i < 3; i++) e.push((await get(`${s.url}fault/429/2/7`)).status);
    expect(e).toEqual([429, 429, 200]);
    const d = await get(`${s.url}fault/503/1/date`);
    expect(d.status).toBe(503);
    expect(String(d.headers['retry-after'])).toMatch(/GMT$/);
  });
  it('holds slow responses past a client timeout', async () => {
    await expect(get(s.pageUrl(6), { signal: AbortSignal.timeout(100) })).rejects.toThrow();
    await expect(get(`${s.url}fault/slow/5000`, { signal: AbortSignal.timeout(100) })).rejects.toThrow();
  });
  it('trickles bodies one byte at a time', async () => {
    const r = await request(s.pageUrl(7), { dispatcher: agent, bodyTimeout: 1000 });
    expect(r.statusCode).toBe(200);
    const it = r.body[Symbol.asyncIterator]();
    const first = await it.next();
    const second = await it.next();
    expect((first.value as Buffer).length).toBe(1);
    expect((second.value as Buffer).length).toBe(1);
    r.body.destroy();
  });
  it('resets the connection mid-body', async () => {
    await expect(get(s.pageUrl(8))).rejects.toThrow();
    await expect(get(`${s.url}fault/reset`)).rejects.toThrow();
  });
  it('redirects through chains of each status and loops', async () => {
    for (const code of [301, 302, 307, 308]) {
      let url = `${s.url}fault/redirect/${code}/3`;
      const seen: number[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await get(url);
        seen.push(r.status);
        if (r.status !== code) break;
        url = new URL(String(r.headers.location), url).href;
      }
      expect(seen).toEqual([code, code, code, 200]);
      expect(url).toBe(`${s.url}fault/landing`);
    }
    const a = await get(`${s.url}fault/loop/a`);
    const b = await get(new URL(String(a.headers.location), s.url).href);
    expect([a.status, b.status, b.headers.location]).toEqual([302, 302, '/fault/loop/a']);
  });
  it('serves non-HTML bodies and big bodies', async () => {
    const png = await get(`${s.url}fault/png`);
    expect(png.headers['content-type']).toBe('image/png');
    expect(png.body.subarray(1, 4).toString()).toBe('PNG');
    const pdf = await get(`${s.url}fault/pdf`);
    expect(pdf.headers['content-type']).toBe('application/pdf');
    expect(pdf.body.subarray(0, 5).toString()).toBe('%PDF-');
    const big = await get(`${s.url}fault/big/3`);
    expect(big.body.length).toBe(3 * 1024 * 1024);
    expect(big.headers['content-length']).toBe(String(3 * 1024 * 1024));
  });
  it('serves a gzip bomb: a small body that inflates a thousandfold', async () => {
    const r = await request(`${s.url}fault/gzip-bomb/64`, { dispatcher: agent });
    expect(r.headers['content-encoding']).toBe('gzip');
    const compressed = Number(r.headers['content-length']);
    expect(compressed).toBeLessThan(200 * 1024);
    let inflated = 0;
    const gunzip = createGunzip();
    r.body.pipe(gunzip);
    for await (const chunk of gunzip) inflated += (chunk as Buffer).length;
    expect(inflated).toBe(64 * 1024 * 1024);
  });
  it('serves wrong and meta-only charsets', async () => {
    const w = await get(`${s.url}fault/charset/win1252`);
    expect(w.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(w.body)).toThrow();
    expect(parseHtml(decode1252(w.body)).title).toBe(FAULT_TEXT.win1252Title);
    const c = await get(`${s.url}fault/charset/meta-1251`);
    expect(c.headers['content-type']).toBe('text/html');
    expect(c.body.toString('latin1')).toContain('<meta charset="windows-1251">');
    expect(parseHtml(new TextDecoder('windows-1251').decode(c.body)).title).toBe(FAULT_TEXT.cp1251Title);
    const j = await get(`${s.url}fault/charset/meta-sjis`);
    expect(j.body.toString('latin1')).toContain('<meta charset="shift_jis">');
    expect(parseHtml(new TextDecoder('shift_jis').decode(j.body)).title).toBe(FAULT_TEXT.sjisTitle);
  });
  it('escapes a script-like title so its text is the literal string', async () => {
    const x = (await get(`${s.url}fault/xss-title`)).body.toString();
    expect(x).not.toContain('<img');
    expect(parseHtml(x).title).toBe(FAULT_TEXT.xssTitle);
  });
  it('links every fault endpoint from the home page when asked', async () => {
    const { hrefs } = parseHtml((await get(s.url)).body.toString());
    for (const f of FAULT_ENDPOINTS) expect(hrefs).toContain(f);
  });
});

describe('test site: accounting', () => {
  it('measures peak concurrency and connections, with latency', async () => {
    const s = await startTestSite({ pages: 20, latencyMs: 300 });
    const a = new Agent({ connections: 8 });
    try {
      await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          request(s.pageUrl(i), { dispatcher: a }).then((r) => r.body.dump()),
        ),
      );
      expect(s.maxConcurrent).toBe(8);
      expect(s.connections).toBe(8);
      expect(s.total()).toBe(8);
      expect(s.requestTimes).toHaveLength(8);
    } finally {
      await a.close();
      await s.close();
    }
  });
  it('closes promptly with slow and trickling responses pending', async () => {
    const s = await startTestSite({ pages: 5, faults: { slow: { paths: ['/'], delayMs: 60_000 } } });
    const pending = request(s.url, { dispatcher: agent }).catch((e: unknown) => e);
    const trickling = request(`${s.url}fault/trickle/10000`, { dispatcher: agent });
    await trickling;
    while (s.total() < 2) await new Promise((r) => setTimeout(r, 5));
    await s.close();
    expect(await pending).toBeInstanceOf(Error);
  });
});
