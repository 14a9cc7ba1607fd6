import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { Crawl } from '../../src/crawl/crawler.js';
import type { Item } from '../../src/crawl/frontier/frontier.js';
import type { PageRecord } from '../../src/crawl/record.js';
import { listen, stopServer, trackSockets } from '../../src/testsite/listen.js';

// The engine's side of scrapers, through a real crawl of a loopback site with the scraper
// test/fixtures/scrapers/engine.ts: a failing handler is retried on a fresh response, a failed
// attempt's items never appear, POSTs are deduplicated by key, items go to the state in the same
// transaction as their page.

const SCRAPER = join(import.meta.dirname, '../fixtures/scrapers/engine.ts');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A site: / links to /item/1..3 and /item/bad; /item/2 is served broken once; /search echoes POSTs. */
async function startSite(): Promise<{ url: string; hits: Map<string, number> }> {
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const key = `${req.method} ${req.url} ${Buffer.concat(chunks).toString()}`.trim();
      const n = (hits.get(key) ?? 0) + 1;
      hits.set(key, n);
      const html = (body: string) => {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(`<!doctype html><title>t</title>${body}`);
      };
      if (req.url === '/robots.txt') return void res.writeHead(404).end();
      if (req.url === '/')
        return html(['1', '2', '3', 'bad'].map((i) => `<a class="item" href="/item/${i}">${i}</a>`).join(''));
      if (req.url === '/item/2' && n === 1) return html('<h1></h1>'); // broken once
      if (req.url === '/item/bad') return html('<h1>always broken</h1>');
      if (req.url?.startsWith('/item/')) return html(`<h1>Item ${req.url.slice(6)}</h1>`);
      if (req.url === '/search' && req.method === 'POST') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        return void res.end(`results for ${Buffer.concat(chunks).toString()}`);
      }
      res.writeHead(404).end();
    });
  });
  const sockets = trackSockets(server);
  const { origin } = await listen(server);
  cleanups.push(() => stopServer(server, sockets));
  return { url: `${origin}/`, hits };
}

function tmp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'trawl-scraper-crawl-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function run(seed: string, extra: Partial<ConstructorParameters<typeof Crawl>[0]> = {}) {
  const items: { item: Item; page: string }[] = [];
  const records: PageRecord[] = [];
  const crawl = new Crawl({
    seeds: [seed],
    scraper: SCRAPER,
    rate: Number.POSITIVE_INFINITY,
    retries: 2,
    retryBaseMs: 0, // no waiting between attempts: the test is about what is kept, not when
    onItem: (item, page) => items.push({ item, page: page.url }),
    onRecord: (r) => records.push(r),
    ...extra,
  });
  const summary = await crawl.done;
  return { items, records, summary };
}

describe('a scraper crawl', () => {
  for (const parsers of [0, 1]) {
    it(`retries a failing handler on a new response and keeps only the attempt that succeeded (parsers ${parsers})`, async () => {
      const site = await startSite();
      const { items, records, summary } = await run(site.url, { parsers });
      const byUrl = new Map(records.map((r) => [r.url, r]));
      // /item/2 failed once (broken page): fetched twice, stored once, its items once.
      expect(site.hits.get('GET /item/2')).toBe(2);
      expect(byUrl.get(`${site.url}item/2`)).toMatchObject({ error: null, attempts: 2 });
      const names = items.map((i) => i.item.name).filter(Boolean);
      expect(names.sort()).toEqual(
        ['Item 1', 'Item 1 (variant)', 'Item 2', 'Item 2 (variant)', 'Item 3', 'Item 3 (variant)'].sort(),
      );
      // /item/bad always throws: 1 + 2 retries, then a handler error and no items.
      expect(site.hits.get('GET /item/bad')).toBe(3);
      expect(byUrl.get(`${site.url}item/bad`)).toMatchObject({ error: 'handler: still broken', attempts: 3 });
      expect(items.filter((i) => i.page.endsWith('/item/bad'))).toEqual([]);
      expect(summary.failedByKind).toEqual({ handler: 1 });
      expect(summary.items).toBe(items.length);
    });
  }

  it('sends POSTs with their body, once per distinct key, to the handler of their label', async () => {
    const site = await startSite();
    const { items, records } = await run(site.url);
    expect(site.hits.get('POST /search q=a')).toBe(1);
    expect(site.hits.get('POST /search q=b')).toBe(1);
    const searches = items.filter((i) => i.item.search !== undefined).map((i) => i.item);
    expect(searches.sort((a, b) => String(a.search).localeCompare(String(b.search)))).toEqual([
      { search: 'a', answer: 'results for q=a', method: 'POST' },
      { search: 'b', answer: 'results for q=b', method: 'POST' },
    ]);
    // Two records for the one URL /search: one per request.
    expect(records.filter((r) => r.url === `${site.url}search`)).toHaveLength(2);
  });

  it('stores items in the state with their page, and in the --items file, each once', async () => {
    const site = await startSite();
    const dir = tmp();
    const state = join(dir, 'state.db');
    const itemsFile = join(dir, 'items.jsonl');
    const { items } = await run(site.url, { state, items: itemsFile, out: join(dir, 'pages.jsonl') });
    const lines = readFileSync(itemsFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Item);
    expect(lines).toEqual(items.map((i) => i.item));
    const db = new Database(state, { readonly: true });
    try {
      const rows = db.prepare('SELECT url, label, item FROM items ORDER BY rowid').all() as {
        url: string;
        label: string | null;
        item: string;
      }[];
      expect(rows.map((r) => JSON.parse(r.item))).toEqual(lines);
      expect(new Set(rows.filter((r) => r.url.includes('/item/')).map((r) => r.label))).toEqual(
        new Set(['ITEM']),
      );
      // Every item's page is a stored, successful page.
      const done = db.prepare('SELECT url FROM results WHERE error = 0').pluck().all() as string[];
      const doneUrls = new Set(done.map((k) => (k.startsWith('POST ') ? k.split(' ')[1]! : k)));
      for (const r of rows) expect(doneUrls.has(r.url)).toBe(true);
    } finally {
      db.close();
    }
  });
});
