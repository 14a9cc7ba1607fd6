import { createReadStream, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  crawlSitemaps,
  isUnderSitemapLocation,
  parseSitemap,
  type SitemapEntry,
  SitemapTooLargeError,
} from '../../src/crawl/sitemap/sitemap.js';
import { startTestSite, type TestSite } from '../../src/testsite/server.js';
import { conformancePath, readConformanceJson } from '../helpers/conformance.js';

interface ExpectedFile {
  file: string;
  type: 'urlset' | 'sitemapindex' | 'text' | 'robots.txt';
  entries?: Array<Record<string, string>>;
  entries_lenient?: Array<Record<string, string>>;
}
interface Expected {
  files: ExpectedFile[];
  location_scope: { sitemap_url: string; cases: Array<{ url: string; in_scope: boolean }> };
}

const expected = readConformanceJson<Expected>('sitemaps', 'expected.json');

async function collect(src: AsyncIterable<Uint8Array>, url = 'test:'): Promise<SitemapEntry[]> {
  const out: SitemapEntry[] = [];
  for await (const e of parseSitemap(src, { url })) out.push(e);
  return out;
}

async function* chunksOf(buf: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

/** expected.json spells priority as text ("0.8"); we return numbers. */
function asExpected(e: SitemapEntry): Record<string, string> {
  const { kind: _kind, priority, ...rest } = e;
  return priority === undefined ? { ...rest } : { ...rest, priority: String(priority) };
}
function normalizeExpected(x: Record<string, string>): Record<string, string> {
  return x.priority === undefined ? x : { ...x, priority: String(Number(x.priority)) };
}

describe('sitemap: conformance files', () => {
  const files = expected.files.filter((f) => f.type !== 'robots.txt');
  it('covers every file in the folder, edge/ included', () => {
    expect(files.length).toBe(16);
    expect(files.filter((f) => f.file.startsWith('edge/')).length).toBe(5);
  });
  it.each(files.map((f) => [f.file, f] as const))('%s', async (_name, f) => {
    const want = (f.entries ?? f.entries_lenient)!.map(normalizeExpected);
    const kind = f.type === 'sitemapindex' ? 'sitemap' : 'url';
    const whole = await collect(createReadStream(conformancePath('sitemaps', f.file)));
    expect(whole.map(asExpected)).toEqual(want);
    expect(whole.every((e) => e.kind === kind)).toBe(true);
    // The same bytes in 3-byte chunks: entities, tags, BOM and gzip headers split anywhere.
    const bytes = readFileSync(conformancePath('sitemaps', f.file));
    expect((await collect(chunksOf(bytes, 3))).map(asExpected)).toEqual(want);
  });
  it('applies the protocol location rule', () => {
    const { sitemap_url, cases } = expected.location_scope;
    for (const c of cases)
      expect([c.url, isUnderSitemapLocation(sitemap_url, c.url)]).toEqual([c.url, c.in_scope]);
  });
});

describe('sitemap: parser details', () => {
  const enc = (s: string) => chunksOf(Buffer.from(s), 1 << 16);

  it('ignores extension elements even when they are named loc (image sitemaps)', async () => {
    const xml = `<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
      xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
      <url><loc>https://a.example/page</loc><image:image><image:loc>https://a.example/i.jpg</image:loc></image:image></url>
    </urlset>`;
    expect(await collect(enc(xml))).toEqual([{ kind: 'url', loc: 'https://a.example/page' }]);
  });
  it('accepts a prefixed sitemap namespace and no namespace at all', async () => {
    const a = `<sm:sitemapindex xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9"><sm:sitemap><sm:loc>https://a.example/s1.xml</sm:loc></sm:sitemap></sm:sitemapindex>`;
    expect(await collect(enc(a))).toEqual([{ kind: 'sitemap', loc: 'https://a.example/s1.xml' }]);
    const b = '<urlset><url><loc>https://a.example/x</loc><priority>1.0</priority></url></urlset>';
    expect(await collect(enc(b))).toEqual([{ kind: 'url', loc: 'https://a.example/x', priority: 1 }]);
  });
  it('ignores <url> in an index, <sitemap> in a urlset, and garbage', async () => {
    expect(
      await collect(enc('<sitemapindex><url><loc>https://a.example/x</loc></url></sitemapindex>')),
    ).toEqual([]);
    expect(await collect(enc('<urlset><sitemap><loc>https://a.example/x</loc></sitemap></urlset>'))).toEqual(
      [],
    );
    expect(await collect(enc('<html><body><a href="https://a.example/">x</a></body></html>'))).toEqual([]);
    expect(await collect(enc(''))).toEqual([]);
    expect(await collect(enc('not a url\nftp://a.example/x\n  https://a.example/ok  \r\n'))).toEqual([
      { kind: 'url', loc: 'https://a.example/ok' },
    ]);
  });
  it('rejects a loc longer than 2048 characters', async () => {
    const long = `https://a.example/${'x'.repeat(2100)}`;
    expect(await collect(enc(`<urlset><url><loc>${long}</loc></url></urlset>`))).toEqual([]);
  });
  it('throws SitemapTooLargeError past maxBytes, after yielding what came before', async () => {
    const xml = `<urlset>${'<url><loc>https://a.example/x</loc></url>'.repeat(5000)}</urlset>`;
    const got: SitemapEntry[] = [];
    await expect(async () => {
      for await (const e of parseSitemap(chunksOf(Buffer.from(xml), 4096), { url: 'x', maxBytes: 50_000 }))
        got.push(e);
    }).rejects.toBeInstanceOf(SitemapTooLargeError);
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThan(5000);
  });
  it('gunzips by magic bytes and also when told to', async () => {
    const gz = gzipSync('https://a.example/1\nhttps://a.example/2\n');
    expect((await collect(chunksOf(gz, 5))).map((e) => e.loc)).toEqual([
      'https://a.example/1',
      'https://a.example/2',
    ]);
    const out: string[] = [];
    for await (const e of parseSitemap(chunksOf(gz, 1), { url: 'x', gzip: true })) out.push(e.loc);
    expect(out).toHaveLength(2);
  });
});

describe('sitemap: streaming and backpressure', () => {
  const ENTRY = (i: number) =>
    `<url><loc>https://big.example/page/${i}</loc><lastmod>2024-01-01</lastmod><changefreq>daily</changefreq><priority>0.5</priority></url>\n`;

  /** A lazily generated sitemap of about `bytes` bytes in 64 KiB chunks; `pulled` counts chunks handed out. */
  function generated(bytes: number) {
    const state = { pulled: 0, produced: 0, finished: false, entries: 0 };
    async function* gen(): AsyncGenerator<Uint8Array> {
      try {
        yield Buffer.from(
          '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n',
        );
        let buf = '';
        while (state.produced < bytes) {
          buf += ENTRY(state.entries++);
          if (buf.length >= 65_536) {
            state.pulled++;
            state.produced += buf.length;
            yield Buffer.from(buf);
            buf = '';
          }
        }
        yield Buffer.from(`${buf}</urlset>\n`);
      } finally {
        state.finished = true;
      }
    }
    return { state, source: gen() };
  }

  it('parses a ~50 MB sitemap incrementally with bounded memory', async () => {
    const { state, source } = generated(50 * 1024 * 1024);
    const heapBefore = process.memoryUsage().heapUsed;
    let count = 0;
    let producedAtFirst = -1;
    let maxHeap = 0;
    for await (const e of parseSitemap(source, { url: 'big', maxBytes: 64 * 1024 * 1024 })) {
      if (count === 0) producedAtFirst = state.produced;
      if (e.loc !== `https://big.example/page/${count}`)
        throw new Error(`out of order at ${count}: ${e.loc}`);
      count++;
      if (count % 20_000 === 0) maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed);
    }
    expect(count).toBe(state.entries);
    expect(producedAtFirst).toBeLessThan(200_000); // the first entry came out after ~one chunk, not 50 MB
    // Holding 50 MB of text (UTF-16 in V8: 100 MB) or 400k entries would blow far past this.
    expect(maxHeap - heapBefore).toBeLessThan(60 * 1024 * 1024);
  });

  it('stops pulling the source while the consumer is not reading', async () => {
    const { state, source } = generated(20 * 1024 * 1024);
    const gen = parseSitemap(source, { url: 'big' });
    for (let i = 0; i < 10; i++) await gen.next();
    const pulled = state.pulled;
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(state.pulled).toBe(pulled);
    expect(pulled).toBeLessThanOrEqual(2);
    await gen.return(undefined);
    expect(state.finished).toBe(true); // early return releases the source
  });

  it('applies backpressure through gunzip as well', async () => {
    const xml = Buffer.concat([
      Buffer.from('<urlset>'),
      Buffer.from(Array.from({ length: 100_000 }, (_, i) => ENTRY(i)).join('')),
      Buffer.from('</urlset>'),
    ]);
    const gz = gzipSync(xml);
    let pulled = 0;
    async function* src(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < gz.length; i += 1024) {
        pulled++;
        yield gz.subarray(i, i + 1024);
      }
    }
    const gen = parseSitemap(src(), { url: 'gz' });
    for (let i = 0; i < 10; i++) await gen.next();
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    const total = Math.ceil(gz.length / 1024);
    expect(pulled).toBeLessThan(total / 2);
    await gen.return(undefined);
  });
});

describe('sitemap: crawlSitemaps', () => {
  let site: TestSite;
  let agent: Agent;
  const fetchFn = async (url: string): Promise<AsyncIterable<Uint8Array>> => {
    const r = await request(url, { dispatcher: agent });
    if (r.statusCode !== 200) {
      await r.body.dump();
      throw new Error(`HTTP ${r.statusCode} for ${url}`);
    }
    return r.body;
  };
  beforeAll(async () => {
    site = await startTestSite({ pages: 250, sitemap: { perFile: 40 } });
    agent = new Agent({ connections: 4 });
  });
  afterAll(async () => {
    await agent.close();
    await site.close();
  });

  it('follows the test site index (with .xml.gz children) to every page', async () => {
    const got: string[] = [];
    for await (const p of crawlSitemaps([`${site.url}sitemap.xml`], fetchFn)) {
      expect(p.depth).toBe(1);
      got.push(p.loc);
    }
    const all = Array.from({ length: 250 }, (_, i) => site.pageUrl(i));
    expect(got).toEqual(all);
    expect(site.counts.get('/sitemaps/1.xml.gz')).toBe(1);
  });
  it('skips out-of-scope pages and honours maxDepth', async () => {
    const odd = (u: string) => /\/p\/\d*[13579]$/.test(u);
    const got: string[] = [];
    for await (const p of crawlSitemaps([`${site.url}sitemap.xml`], fetchFn, {
      inScope: odd,
      followSitemap: () => true,
    })) {
      got.push(p.loc);
    }
    expect(got).toHaveLength(125);
    expect(got.every(odd)).toBe(true);
    const none: string[] = [];
    for await (const p of crawlSitemaps([`${site.url}sitemap.xml`], fetchFn, { maxDepth: 0 }))
      none.push(p.loc);
    expect(none).toEqual([]);
  });
  it('reads the text sitemap', async () => {
    const got: string[] = [];
    for await (const p of crawlSitemaps([`${site.url}sitemap.txt`], fetchFn)) got.push(p.loc);
    expect(got).toHaveLength(250);
  });
  it('fetches each sitemap once through index loops and reports failures', async () => {
    const docs: Record<string, string> = {
      'https://l.example/a.xml':
        '<sitemapindex><sitemap><loc>https://l.example/b.xml</loc></sitemap><sitemap><loc>https://l.example/a.xml#x</loc></sitemap><sitemap><loc>https://l.example/missing.xml</loc></sitemap></sitemapindex>',
      'https://l.example/b.xml':
        '<sitemapindex><sitemap><loc>https://l.example/a.xml</loc></sitemap><sitemap><loc>https://l.example/c.xml</loc></sitemap></sitemapindex>',
      'https://l.example/c.xml': '<urlset><url><loc>https://l.example/page</loc></url></urlset>',
    };
    const fetched: string[] = [];
    const errors: string[] = [];
    const fetchDoc = async (url: string) => {
      fetched.push(url);
      const d = docs[url];
      if (d === undefined) throw new Error('404');
      return chunksOf(Buffer.from(d), 16);
    };
    const got: Array<{ loc: string; depth: number }> = [];
    for await (const p of crawlSitemaps(['https://l.example/a.xml'], fetchDoc, {
      onError: (u) => errors.push(u),
    })) {
      got.push({ loc: p.loc, depth: p.depth });
    }
    expect(got).toEqual([{ loc: 'https://l.example/page', depth: 2 }]);
    expect(fetched.sort()).toEqual([
      'https://l.example/a.xml',
      'https://l.example/b.xml',
      'https://l.example/c.xml',
      'https://l.example/missing.xml',
    ]);
    expect(errors).toEqual(['https://l.example/missing.xml']);
  });
  it('defuses the test site gzip bomb with maxBytes', async () => {
    const errors: unknown[] = [];
    const got: unknown[] = [];
    for await (const p of crawlSitemaps([`${site.url}fault/gzip-bomb/64`], fetchFn, {
      maxBytes: 8 * 1024 * 1024,
      onError: (_u, e) => errors.push(e),
    })) {
      got.push(p);
    }
    expect(got).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(SitemapTooLargeError);
  });
});
