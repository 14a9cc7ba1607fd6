import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSite, type TestSite } from '../../src/testsite/server.js';
import { buildSite } from '../../src/testsite/site.js';

const agent = new Agent({ connections: 8, keepAliveTimeout: 1000 });
afterAll(() => agent.close());

async function get(url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') {
  const r = await request(url, { dispatcher: agent, headers, method });
  const body = Buffer.from(await r.body.arrayBuffer());
  const h = (k: string): string | undefined => {
    const v = r.headers[k];
    return Array.isArray(v) ? v.join(', ') : v;
  };
  return { status: r.statusCode, etag: h('etag'), lastModified: h('last-modified'), h, body };
}

const OPTS = { pages: 200, linksPerPage: 6, pageBytes: 1500, seed: 11 } as const;
const RECRAWL = { changeFraction: 0.1, goneFraction: 0.05, growFraction: 0.5 } as const;

describe('recrawl test site: validators and 304', () => {
  let s: TestSite;
  beforeAll(async () => {
    s = await startTestSite({ ...OPTS, recrawl: RECRAWL });
  });
  afterAll(() => s.close());

  it('serves generation 0 byte-identical to the plain site, with a strong ETag and a Last-Modified', async () => {
    const plain = buildSite(OPTS);
    for (const id of [0, 1, 57, 199]) {
      const r = await get(s.pageUrl(id));
      expect(r.status).toBe(200);
      expect(r.body.equals(plain.render(id))).toBe(true);
      expect(r.etag).toMatch(/^"[^"]+"$/); // strong: no W/ prefix
      expect(Number.isNaN(Date.parse(r.lastModified ?? ''))).toBe(false);
      expect(r.lastModified).toBe(new Date(Date.parse(r.lastModified!)).toUTCString()); // IMF-fixdate
    }
  });

  it('answers If-None-Match with the current tag (also weak form, in a list, or *) with a bodiless 304', async () => {
    const url = s.pageUrl(42);
    const { etag } = await get(url);
    for (const inm of [etag!, `W/${etag}`, `"nope", ${etag}`, '*']) {
      const r = await get(url, { 'if-none-match': inm });
      expect(r.status).toBe(304);
      expect(r.body.length).toBe(0);
      expect(r.etag).toBe(etag);
      expect(r.h('content-length')).toBeUndefined();
    }
    const head = await get(url, { 'if-none-match': etag! }, 'HEAD');
    expect(head.status).toBe(304);
    expect((await get(url, { 'if-none-match': '"other"' })).status).toBe(200);
  });

  it('answers If-Modified-Since not earlier than Last-Modified with 304, earlier or invalid with 200', async () => {
    const url = s.pageUrl(43);
    const { lastModified } = await get(url);
    const lm = Date.parse(lastModified!);
    expect((await get(url, { 'if-modified-since': lastModified! })).status).toBe(304);
    expect((await get(url, { 'if-modified-since': new Date(lm + 60_000).toUTCString() })).status).toBe(304);
    expect((await get(url, { 'if-modified-since': new Date(lm - 1000).toUTCString() })).status).toBe(200);
    expect((await get(url, { 'if-modified-since': 'not a date' })).status).toBe(200);
  });

  it('lets If-None-Match win over If-Modified-Since (RFC 9110 §13.2.2)', async () => {
    const url = s.pageUrl(44);
    const { etag, lastModified } = await get(url);
    const r1 = await get(url, { 'if-none-match': '"stale"', 'if-modified-since': lastModified! });
    expect(r1.status).toBe(200);
    const r2 = await get(url, {
      'if-none-match': etag!,
      'if-modified-since': 'Thu, 01 Jan 1970 00:00:00 GMT',
    });
    expect(r2.status).toBe(304);
  });
});

describe('recrawl test site: generations', () => {
  let s: TestSite;
  beforeAll(async () => {
    s = await startTestSite({ ...OPTS, recrawl: RECRAWL });
  });
  afterAll(() => s.close());

  it('changes, removes and adds exactly the declared pages, and a conditional sweep finds exactly those', async () => {
    const before = new Map<number, { etag: string; lastModified: string; body: Buffer }>();
    for (let id = 0; id < OPTS.pages; id++) {
      const r = await get(s.pageUrl(id));
      before.set(id, { etag: r.etag!, lastModified: r.lastModified!, body: r.body });
    }
    const d = s.advance();
    expect(d.generation).toBe(1);
    expect(s.generations!.generation).toBe(1);
    // Exact counts: round(0.05 × 199) gone, round(0.1 × 190) changed, round(0.5 × 19) added.
    expect(d.gone404.length + d.gone410.length).toBe(10);
    expect(d.gone404.length).toBe(5);
    expect(d.gone410.length).toBe(5);
    expect(d.changed.length).toBe(19);
    expect(d.added.length).toBe(10);
    expect(d.added).toEqual(Array.from({ length: 10 }, (_, i) => OPTS.pages + i));
    expect(d.gone404).not.toContain(0);
    expect(d.gone410).not.toContain(0);

    const seen = {
      notModified: [] as number[],
      changed: [] as number[],
      g404: [] as number[],
      g410: [] as number[],
    };
    for (let id = 0; id < OPTS.pages; id++) {
      const old = before.get(id)!;
      const r = await get(s.pageUrl(id), { 'if-none-match': old.etag });
      if (r.status === 304) seen.notModified.push(id);
      else if (r.status === 404) seen.g404.push(id);
      else if (r.status === 410) seen.g410.push(id);
      else {
        expect(r.status).toBe(200);
        expect(r.etag).not.toBe(old.etag);
        expect(r.body.equals(old.body)).toBe(false);
        expect(Date.parse(r.lastModified!)).toBeGreaterThan(Date.parse(old.lastModified));
        // The same old date as If-Modified-Since also says "modified".
        expect((await get(s.pageUrl(id), { 'if-modified-since': old.lastModified })).status).toBe(200);
        seen.changed.push(id);
      }
    }
    expect(seen.changed).toEqual(d.changed);
    expect(seen.g404).toEqual(d.gone404);
    expect(seen.g410).toEqual(d.gone410);
    expect(seen.notModified.length).toBe(OPTS.pages - 10 - 19);

    // Every new page is linked from a changed page and served with validators.
    for (const id of d.added) {
      const parent = s.generations!.parentOf(id)!;
      expect(d.changed).toContain(parent);
      const pr = await get(s.pageUrl(parent));
      expect(pr.body.toString()).toContain(`href="/p/${id}"`);
      const r = await get(s.pageUrl(id));
      expect(r.status).toBe(200);
      expect(r.body.toString()).toContain(`<title>Page ${id}</title>`);
      expect((await get(s.pageUrl(id), { 'if-none-match': r.etag! })).status).toBe(304);
    }
  });

  it('keeps gone pages gone and records every generation in history', async () => {
    const d1 = s.generations!.diff(1);
    const d2 = s.advance();
    expect(s.generations!.history).toEqual([d1, d2]);
    for (const id of d1.gone404) expect((await get(s.pageUrl(id))).status).toBe(404);
    for (const id of d1.gone410) expect((await get(s.pageUrl(id))).status).toBe(410);
    // Nothing gone is changed or removed again; new pages of generation 1 may change now.
    const gone1 = new Set([...d1.gone404, ...d1.gone410]);
    for (const id of [...d2.changed, ...d2.gone404, ...d2.gone410]) expect(gone1.has(id)).toBe(false);
    expect(Math.min(...d2.added)).toBe(OPTS.pages + d1.added.length);
  });

  it('updates the sitemap: gone pages leave it, new pages join it, changed pages get a later lastmod', async () => {
    const g = s.generations!;
    const xml = (await get(`${s.url}sitemap.xml`)).body.toString();
    const locs = [...xml.matchAll(/<loc>[^<]*?(\/(?:p\/\d+)?)<\/loc><lastmod>([^<]+)</g)].map((m) => [
      m[1]!,
      m[2]!,
    ]);
    expect(locs.map(([p]) => p)).toEqual(g.liveIds().map((id) => g.pathOf(id)));
    const d2 = g.diff(2);
    for (const id of d2.changed) {
      const lm = locs.find(([p]) => p === g.pathOf(id))![1];
      expect(Date.parse(lm)).toBe(g.lastModifiedOf(id));
      expect(Date.parse(lm)).toBe(Date.parse((await get(s.pageUrl(id))).lastModified!));
    }
    const txt = (await get(`${s.url}sitemap.txt`)).body.toString().trim().split('\n');
    expect(txt.length).toBe(g.liveIds().length);
  });
});

describe('recrawl test site: determinism and default off', () => {
  it('gives the same pages, tags and diffs when started at generation 2 as when advanced twice', async () => {
    const a = await startTestSite({ ...OPTS, recrawl: RECRAWL });
    const b = await startTestSite({ ...OPTS, recrawl: { ...RECRAWL, generation: 2 } });
    try {
      a.advance();
      a.advance();
      expect(b.generations!.history).toEqual(a.generations!.history);
      const ids = [
        ...a.generations!.diff(2).changed.slice(0, 5),
        ...a.generations!.diff(1).added.slice(0, 3),
      ];
      for (const id of ids) {
        const ra = await get(a.pageUrl(id));
        const rb = await get(b.pageUrl(id));
        expect(rb.etag).toBe(ra.etag);
        expect(rb.lastModified).toBe(ra.lastModified);
        expect(rb.body.equals(ra.body)).toBe(true);
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('sends no validators and ignores conditional headers without the recrawl option', async () => {
    const s = await startTestSite(OPTS);
    try {
      const r = await get(s.pageUrl(3), {
        'if-none-match': '*',
        'if-modified-since': new Date().toUTCString(),
      });
      expect(r.status).toBe(200);
      expect(r.etag).toBeUndefined();
      expect(r.lastModified).toBeUndefined();
      expect(r.body.equals(buildSite(OPTS).render(3))).toBe(true);
      expect(() => s.advance()).toThrow(/recrawl/);
    } finally {
      await s.close();
    }
  });
});
