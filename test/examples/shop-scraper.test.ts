/**
 * examples/scrapers/shop.ts against the shop test site: `trawl run` (the real CLI) and the
 * library's `crawl({ scraper, onItem })` push every product exactly once with every field equal
 * to the site's own catalog and nothing else, after submitting the search form as a POST (whose
 * handler checks the results); the CSV items output holds the same items.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { crawl } from '../../src/crawl/crawler.js';
import type { Item } from '../../src/crawl/frontier/frontier.js';
import type { PageRecord } from '../../src/crawl/record.js';
import { type ShopSite, type ShopSiteOptions, startShopSite } from '../../src/testsite/shop.js';
import { buildCatalog } from '../../src/testsite/shop-catalog.js';
import { cleanup, REPO_ROOT, readJsonl, runCli, tempDir } from '../helpers/cli.js';
import { parseCsv } from '../helpers/csv.js';
import {
  expectedProductItems,
  expectShopItems,
  SHOP_SCRAPER,
  searchLogPattern,
} from '../helpers/shop-items.js';

const sites = new Set<ShopSite>();
afterEach(async () => {
  await Promise.all([...sites].map((s) => s.close()));
  sites.clear();
  await cleanup();
});

/**
 * Not the default catalog: three listing pages per category, and four products listed in two
 * categories (the scraper's SKU dedup must push them once).
 */
const CATALOG = { seed: 3, products: 90, categories: 5, pageSize: 8 } as const;

async function shop(opts: ShopSiteOptions = {}): Promise<ShopSite> {
  const site = await startShopSite({ ...CATALOG, ...opts });
  sites.add(site);
  return site;
}

/** `http://127.0.0.1:PORT` (no trailing slash), the prefix of every URL of the site. */
const originOf = (site: ShopSite): string => site.url.replace(/\/$/, '');

/** The paths of every page the scraper must visit: home, every listing page, every product. */
function expectedPagePaths(site: ShopSite): string[] {
  const c = site.catalog;
  const listings = c.categories.flatMap((cat) =>
    Array.from({ length: cat.pages }, (_, i) => c.listingPath(cat.slug, i + 1)),
  );
  return ['/', ...listings, ...c.products.map((p) => p.path)];
}

/** Every product page was fetched once (no duplicate request for the products listed twice). */
function expectEachProductFetchedOnce(site: ShopSite): void {
  const twice = site.catalog.products
    .filter((p) => site.methodCounts.get(`GET ${p.path}`) !== 1)
    .map((p) => `${p.path} ×${site.methodCounts.get(`GET ${p.path}`) ?? 0}`);
  expect(twice, 'product pages not fetched exactly once').toEqual([]);
  expect(site.methodCounts.get('POST /search')).toBe(1);
  expect(site.methodCounts.get('GET /search'), 'the search must be a POST').toBeUndefined();
  expect(site.methodCounts.get('GET /cart'), 'robots.txt disallows /cart').toBeUndefined();
}

describe('examples/scrapers/shop.ts', () => {
  it('the catalog under test lists products in two categories and paginates', () => {
    const c = buildCatalog(CATALOG);
    expect(c.sharedSkus.length).toBeGreaterThanOrEqual(2);
    expect(c.categories.every((cat) => cat.pages >= 2)).toBe(true);
  });

  it('trawl run pushes every product exactly once with every field equal to the catalog', async () => {
    const site = await shop();
    const dir = tempDir('trawl-shop-');
    const items = join(dir, 'items.jsonl');
    const pages = join(dir, 'pages.jsonl');
    const r = await runCli(
      [
        'run',
        SHOP_SCRAPER,
        site.url,
        '--items',
        items,
        '--out',
        pages,
        '--no-state',
        '--rate',
        'inf',
        '--parsers',
        '2',
      ],
      { timeoutMs: 60_000 },
    );
    expect(r.timedOut, r.stderr).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    // The SEARCH handler ran on the POST's response and found the catalog's hits.
    expect(r.stderr).toMatch(searchLogPattern(site.catalog));

    const got = readJsonl(items);
    expect(got.bad).toEqual([]);
    expect(got.endsClean).toBe(true);
    // Checked against a catalog built here from the options alone, not the site's own object.
    expectShopItems(got.records, buildCatalog(CATALOG), originOf(site));

    // Page records: every page once, all fine, plus the search POST; no handler errors.
    const recs = readJsonl(pages).records;
    const origin = originOf(site);
    const want = [...expectedPagePaths(site).map((p) => `${origin}${p}`), `${origin}/search`].sort();
    expect(recs.map((x) => x.url as string).sort()).toEqual(want);
    expect(recs.filter((x) => x.status !== 200 || x.error !== null)).toEqual([]);
    expectEachProductFetchedOnce(site);
  }, 90_000);

  it('the library crawl({ scraper, onItem }) on the main thread gives the same items', async () => {
    const site = await shop();
    const pushed: Item[] = [];
    const pageUrls: string[] = [];
    const c = crawl({
      seeds: [site.url],
      scraper: resolve(REPO_ROOT, SHOP_SCRAPER),
      parsers: 0,
      rate: Number.POSITIVE_INFINITY,
      onItem: (item: Item, page: PageRecord) => {
        pushed.push(item);
        pageUrls.push(page.url);
      },
    });
    const summary = await c.done;
    expect(summary).toBeDefined();
    expectShopItems(pushed, buildCatalog(CATALOG), originOf(site));
    // Each item arrives with the page that pushed it.
    for (const [i, item] of pushed.entries()) expect(pageUrls[i]).toBe(item.url);
    expectEachProductFetchedOnce(site);
  }, 90_000);

  it('--cache: a second run of the scraper replays every page (the search POST included) with no request, and pushes the same items', async () => {
    const site = await shop();
    const cache = join(tempDir('trawl-shop-cache-'), 'cache');
    const run = async () => {
      const pushed: Item[] = [];
      const c = crawl({
        seeds: [site.url],
        scraper: resolve(REPO_ROOT, SHOP_SCRAPER),
        parsers: 0,
        rate: Number.POSITIVE_INFINITY,
        cache,
        onItem: (item: Item) => pushed.push(item),
      });
      await c.done;
      return pushed;
    };
    const live = await run();
    expectShopItems(live, buildCatalog(CATALOG), originOf(site));
    const before = new Map(site.methodCounts);
    const replayed = await run();
    // Only robots.txt went to the site again: every page, and the POST, came from the cache.
    const again = [...site.methodCounts].filter(([k, n]) => n !== before.get(k)).map(([k]) => k);
    expect(again).toEqual(['GET /robots.txt']);
    expectShopItems(replayed, buildCatalog(CATALOG), originOf(site));
  }, 90_000);

  it('--items FILE.csv holds the same items, one row each, under one header', async () => {
    const site = await shop();
    const dir = tempDir('trawl-shop-csv-');
    const items = join(dir, 'items.csv');
    const r = await runCli(['run', SHOP_SCRAPER, site.url, '--items', items, '--no-state', '--rate', 'inf'], {
      timeoutMs: 60_000,
    });
    expect(r.timedOut, r.stderr).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    const rows = parseCsv(readFileSync(items, 'utf8'));
    // Columns come from the first item: every item is a product, so every field is a column and
    // the `_extra` column stays empty.
    const want = expectedProductItems(buildCatalog(CATALOG), originOf(site));
    expect(rows[0]).toEqual([...Object.keys(want[0]!), '_extra']);
    // A CSV cell is text: a number as JavaScript prints it, null as an empty cell.
    const cell = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
    const wantRows = want.map((item) => [...Object.values(item).map(cell), '']);
    const bySku = (a: string[], b: string[]): number => a[1]!.localeCompare(b[1]!);
    expect(rows.slice(1).sort(bySku)).toEqual(wantRows);
  }, 90_000);
});
