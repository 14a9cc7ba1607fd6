import { selectAll, selectOne } from 'css-select';
import type { AnyNode, Element } from 'domhandler';
import { hasChildren, isText } from 'domhandler';
import { parseDocument } from 'htmlparser2';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ShopSite, startShopSite } from '../../src/testsite/shop.js';
import { buildCatalog } from '../../src/testsite/shop-catalog.js';
import { planShopFaults } from '../../src/testsite/shop-faults.js';
import { SITES } from '../../src/testsite/sites.js';
import { cleanup, spawnCli } from '../helpers/cli.js';

const agent = new Agent({ connections: 8, keepAliveTimeout: 1000 });
afterAll(() => agent.close());

async function get(url: string) {
  const r = await request(url, { dispatcher: agent });
  return { status: r.statusCode, headers: r.headers, body: await r.body.text() };
}

async function post(url: string, form: Record<string, string>) {
  const r = await request(url, {
    dispatcher: agent,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: r.statusCode, headers: r.headers, body: await r.body.text() };
}

function text(n: AnyNode): string {
  if (isText(n)) return n.data;
  return hasChildren(n) ? n.children.map(text).join('') : '';
}

/** A parsed page with CSS helpers (entities decoded, as a scraper sees it). */
function dom(html: string) {
  const doc = parseDocument(html);
  const all = (sel: string): Element[] => selectAll<AnyNode, Element>(sel, doc);
  const one = (sel: string): Element | null => selectOne<AnyNode, Element>(sel, doc);
  return {
    all,
    one,
    text: (sel: string): string | undefined => {
      const e = one(sel);
      return e === null ? undefined : text(e).trim();
    },
    attrs: (sel: string, attr: string): string[] => all(sel).map((e) => e.attribs[attr] ?? ''),
  };
}

/** Walks a category's listing by its `<link rel=next>`, checking every page against the catalog. */
async function walkCategory(site: ShopSite, slug: string): Promise<string[]> {
  const cat = site.catalog.category(slug)!;
  const seen: string[] = [];
  let path: string | undefined = cat.path;
  let n = 1;
  while (path !== undefined) {
    expect(path).toBe(site.catalog.listingPath(slug, n));
    const r = await get(site.urlOf(path));
    expect(r.status).toBe(200);
    const d = dom(r.body);
    const expected = site.catalog.listing(slug, n);
    expect(d.attrs('a.product-link', 'href')).toEqual(expected.map((p) => p.path));
    expect(d.attrs('li.product', 'data-sku')).toEqual(expected.map((p) => p.sku));
    expect(d.all('a.product-link').map((e) => text(e))).toEqual(expected.map((p) => p.name));
    const headNext = d.attrs('head link[rel=next]', 'href');
    const bodyNext = d.attrs('a.next[rel=next]', 'href');
    if (n < cat.pages) {
      expect(headNext).toEqual([site.catalog.listingPath(slug, n + 1)]);
      expect(bodyNext).toEqual(headNext);
      if (n < cat.pages - 1) expect(expected).toHaveLength(site.catalog.pageSize);
    } else {
      expect(headNext).toEqual([]);
      expect(bodyNext).toEqual([]);
    }
    if (n > 1)
      expect(d.attrs('head link[rel=prev]', 'href')).toEqual([site.catalog.listingPath(slug, n - 1)]);
    seen.push(...expected.map((p) => p.sku));
    path = headNext[0];
    n++;
  }
  expect(n - 1).toBe(cat.pages);
  return seen;
}

describe('shop site: catalog and listings', () => {
  let site: ShopSite;
  beforeAll(async () => {
    site = await startShopSite({ seed: 3, products: 45, categories: 4, pageSize: 7 });
  });
  afterAll(() => site.close());

  it('links exactly each listing page’s products and the next page, and pagination ends', async () => {
    expect(site.catalog.categories).toHaveLength(4);
    for (const cat of site.catalog.categories) {
      expect(cat.pages).toBeGreaterThan(1);
      expect(await walkCategory(site, cat.slug)).toEqual(cat.skus);
    }
  });

  it('answers 404 past the last page and for a page number that is not a positive integer', async () => {
    const cat = site.catalog.categories[0]!;
    for (const q of [`?page=${cat.pages + 1}`, '?page=0', '?page=abc', '?page=-1', '?page=1.5']) {
      expect((await get(site.urlOf(`${cat.path}${q}`))).status).toBe(404);
    }
    expect((await get(site.urlOf('/category/nope'))).status).toBe(404);
    expect((await get(site.urlOf('/product/nope'))).status).toBe(404);
    expect((await get(site.urlOf('/product/%E0%A4%A'))).status).toBe(404);
    expect((await get(site.urlOf(`${cat.path}?page=1`))).body).toBe((await get(site.urlOf(cat.path))).body);
  });

  it('lists the shared products in both of their categories, so a scraper must dedup by SKU', async () => {
    const shared = site.catalog.sharedSkus;
    expect(shared.length).toBe(2); // floor(45 / 20)
    const listed = new Map<string, string[]>();
    for (const cat of site.catalog.categories) {
      for (const sku of await walkCategory(site, cat.slug))
        listed.set(sku, [...(listed.get(sku) ?? []), cat.slug]);
    }
    expect(listed.size).toBe(site.catalog.products.length);
    for (const p of site.catalog.products) {
      expect(listed.get(p.sku)).toEqual(p.categories);
      expect(p.categories.length).toBe(shared.includes(p.sku) ? 2 : 1);
    }
    const twice = [...listed].filter(([, cats]) => cats.length === 2).map(([sku]) => sku);
    expect(twice.sort()).toEqual([...shared].sort());
  });

  it('links every category from the home page and serves robots.txt and a sitemap of every page', async () => {
    const home = dom((await get(site.url)).body);
    expect(home.attrs('ul.category-list a', 'href')).toEqual(site.catalog.categories.map((c) => c.path));
    expect(home.attrs('form.search', 'method')).toEqual(['post']);
    expect(home.attrs('form.search', 'action')).toEqual(['/search']);
    expect(home.attrs('form.search input', 'name')).toEqual(['q']);
    const robots = await get(site.urlOf('/robots.txt'));
    expect(robots.body).toContain('Disallow: /cart');
    expect(robots.body).toContain(`Sitemap: ${site.urlOf('/sitemap.xml')}`);
    const sm = await get(site.urlOf('/sitemap.xml'));
    const locs = [...sm.body.matchAll(/<loc>([^<]+)<\/loc>/g)].map((m) => m[1]);
    expect(locs).toEqual(
      ['/', ...site.catalog.categories.map((c) => c.path), ...site.catalog.products.map((p) => p.path)].map(
        (p) => site.urlOf(p),
      ),
    );
  });

  it('is deterministic: the same seed gives the same catalog and identical listing bytes', async () => {
    const again = await startShopSite({ seed: 3, products: 45, categories: 4, pageSize: 7 });
    try {
      expect(again.catalog.products).toEqual(site.catalog.products);
      const path = site.catalog.listingPath(site.catalog.categories[1]!.slug, 2);
      expect((await get(again.urlOf(path))).body).toBe((await get(site.urlOf(path))).body);
    } finally {
      await again.close();
    }
    expect(buildCatalog({ seed: 4, products: 45 }).products.map((p) => p.name)).not.toEqual(
      site.catalog.products.map((p) => p.name),
    );
  });
});

describe('shop site: product pages', () => {
  let site: ShopSite;
  beforeAll(async () => {
    site = await startShopSite();
  });
  afterAll(() => site.close());

  it('covers every variant a scraper must handle in the default catalog', () => {
    const ps = site.catalog.products;
    expect(ps).toHaveLength(60);
    expect(ps.some((p) => p.stockCount === 0 && p.availability === 'OutOfStock')).toBe(true);
    expect(ps.some((p) => p.stockCount === null && p.availability === 'InStock')).toBe(true);
    expect(ps.some((p) => (p.stockCount ?? 0) > 0 && p.availability === 'InStock')).toBe(true);
    expect(ps.some((p) => p.rating === null && p.reviewCount === 0)).toBe(true);
    expect(ps.some((p) => p.priceText.includes(','))).toBe(true);
    expect(ps.some((p) => p.name.includes('&'))).toBe(true);
    expect(ps.some((p) => p.name.includes('"'))).toBe(true);
    expect(ps.some((p) => [...p.name].some((ch) => ch.codePointAt(0)! > 0x7f))).toBe(true);
    expect(new Set(ps.map((p) => p.currency)).size).toBe(3);
    expect(new Set(ps.map((p) => p.sku)).size).toBe(60);
    expect(new Set(ps.map((p) => p.slug)).size).toBe(60);
  });

  it('shows on every product page visible fields and a JSON-LD Product equal to the catalog entry', async () => {
    const origin = site.url.slice(0, -1);
    for (const p of site.catalog.products) {
      const r = await get(site.urlOf(p.path));
      expect(r.status).toBe(200);
      const d = dom(r.body);
      expect(d.all('h1').map((e) => text(e))).toEqual([p.name]);
      expect(d.text('.price .amount')).toBe(p.priceText);
      expect(d.text('.price .amount')!.replaceAll(',', '')).toBe(p.price);
      expect(Number(p.price) * 100).toBeCloseTo(p.priceCents, 6);
      expect(d.text('.price .currency')).toBe(p.currency);
      expect(d.text('dd.sku')).toBe(p.sku);
      expect(d.text('dd.brand')).toBe(p.brand);
      expect(d.text('dd.stock')).toBe(p.stockText);
      expect(d.text('p.description')).toBe(p.description);
      if (p.rating === null) {
        expect(d.one('dd.rating.no-reviews')).not.toBeNull();
        expect(d.one('.rating-value')).toBeNull();
      } else {
        expect(Number(d.text('.rating-value'))).toBe(p.rating);
        expect(Number(d.text('.review-count'))).toBe(p.reviewCount);
      }
      const scripts = d.all('script[type="application/ld+json"]');
      expect(scripts).toHaveLength(1);
      const ld = JSON.parse(text(scripts[0]!)) as Record<string, unknown>;
      const expected: Record<string, unknown> = {
        '@context': 'https://schema.org',
        '@type': 'Product',
        name: p.name,
        sku: p.sku,
        url: `${origin}${p.path}`,
        description: p.description,
        brand: { '@type': 'Brand', name: p.brand },
        offers: {
          '@type': 'Offer',
          url: `${origin}${p.path}`,
          price: p.price,
          priceCurrency: p.currency,
          availability: `https://schema.org/${p.availability}`,
          ...(p.stockCount === null
            ? {}
            : { inventoryLevel: { '@type': 'QuantitativeValue', value: p.stockCount } }),
        },
      };
      if (p.rating !== null) {
        expected.aggregateRating = {
          '@type': 'AggregateRating',
          ratingValue: p.rating,
          reviewCount: p.reviewCount,
          bestRating: 5,
          worstRating: 1,
        };
      }
      expect(ld).toEqual(expected);
    }
    // Each product page was fetched once and served once: the accounting a scraper test relies on.
    for (const p of site.catalog.products) {
      expect(site.counts.get(p.path)).toBe(1);
      expect(site.served.get(p.path)).toBe(1);
      expect(site.methodCounts.get(`GET ${p.path}`)).toBe(1);
    }
  });
});

describe('shop site: search', () => {
  let site: ShopSite;
  beforeAll(async () => {
    site = await startShopSite();
  });
  afterAll(() => site.close());

  const skusOf = (html: string): string[] => dom(html).attrs('li.product', 'data-sku');

  it('answers a POSTed query with exactly the matching products', async () => {
    for (const q of ['skillet', 'SKILLET', 'salt & pepper', '12"', 'trw-10007', 'Crème']) {
      const expected = site.catalog.search(q).map((p) => p.sku);
      expect(expected.length).toBeGreaterThan(0);
      const r = await post(site.urlOf('/search'), { q });
      expect(r.status).toBe(200);
      expect(skusOf(r.body)).toEqual(expected);
      expect(dom(r.body).text('p.result-count')).toBe(
        `${expected.length} result${expected.length === 1 ? '' : 's'}`,
      );
    }
    expect(site.catalog.search('skillet').every((p) => p.name.toLowerCase().includes('skillet'))).toBe(true);
    for (const q of ['no such thing', '', '   ']) {
      const r = await post(site.urlOf('/search'), { q });
      expect(r.status).toBe(200);
      expect(skusOf(r.body)).toEqual([]);
      expect(dom(r.body).one('p.no-results')).not.toBeNull();
    }
    expect(site.methodCounts.get('POST /search')).toBe(9);
  });

  it('refuses the search without a POST: 405, Allow: POST, no results', async () => {
    for (const path of ['/search', '/search?q=skillet']) {
      const servedBefore = site.served.get(path);
      const r = await get(site.urlOf(path));
      expect(r.status).toBe(405);
      expect(r.headers.allow).toBe('POST');
      expect(skusOf(r.body)).toEqual([]);
      expect(site.served.get(path)).toBe(servedBefore);
      expect(site.methodCounts.get(`GET ${path}`)).toBe(1);
    }
    const other = await post(site.urlOf('/'), { q: 'kettle' });
    expect(other.status).toBe(405);
    expect(other.headers.allow).toBe('GET, HEAD');
  });

  it('answers 413 to a search body over the limit', async () => {
    const r = await post(site.urlOf('/search'), { q: 'x'.repeat(70 * 1024) });
    expect(r.status).toBe(413);
  });
});

describe('shop site: faults', () => {
  const faults = { error500Rate: 0.05, flakyRate: 0.2, slowRate: 0.1, slowMs: 150 };
  let site: ShopSite;
  beforeAll(async () => {
    site = await startShopSite({
      seed: 5,
      faults: {
        ...faults,
        tooManyRequests: { paths: ['/category/garden'], times: 2, retryAfter: 3 },
        error500Paths: ['/cart'],
      },
    });
  });
  afterAll(() => site.close());

  it('picks exact, disjoint, seed-determined sets of product pages', () => {
    const { broken, flaky, slow } = site.faults;
    expect([broken.length, flaky.length, slow.length]).toEqual([3, 12, 6]);
    const all = [...broken, ...flaky, ...slow];
    expect(new Set(all).size).toBe(all.length);
    const paths = new Set(site.catalog.products.map((p) => p.path));
    for (const p of all) expect(paths.has(p)).toBe(true);
    expect(planShopFaults(buildCatalog({ seed: 5 }), faults).picks).toEqual(site.faults);
    expect(planShopFaults(buildCatalog({ seed: 6 }), faults).picks.flaky).not.toEqual(flaky);
    expect(planShopFaults(buildCatalog({ seed: 5 }), {}).picks).toEqual({ broken: [], flaky: [], slow: [] });
  });

  it('answers 500 to a flaky product page once, then the normal page; again after reset()', async () => {
    const path = site.faults.flaky[0]!;
    const first = await get(site.urlOf(path));
    expect(first.status).toBe(500);
    const second = await get(site.urlOf(path));
    expect(second.status).toBe(200);
    const sku = dom(second.body).text('dd.sku');
    expect(site.catalog.bySku(sku!)!.path).toBe(path);
    expect(site.counts.get(path)).toBe(2);
    expect(site.served.get(path)).toBe(1);
    site.reset();
    expect((await get(site.urlOf(path))).status).toBe(500);
    expect((await get(site.urlOf(path))).status).toBe(200);
  });

  it('answers 500 every time to a broken product page and to an error500Paths path', async () => {
    for (const path of [site.faults.broken[0]!, '/cart']) {
      for (let i = 0; i < 3; i++) expect((await get(site.urlOf(path))).status).toBe(500);
    }
  });

  it('answers 429 with Retry-After for the first requests of a tooManyRequests path', async () => {
    const a = await get(site.urlOf('/category/garden'));
    const b = await get(site.urlOf('/category/garden?page=2'));
    const c = await get(site.urlOf('/category/garden'));
    expect([a.status, b.status, c.status]).toEqual([429, 429, 200]);
    expect(a.headers['retry-after']).toBe('3');
  });

  it('delays a slow product page by slowMs', async () => {
    const started = performance.now();
    const r = await get(site.urlOf(site.faults.slow[0]!));
    expect(r.status).toBe(200);
    // Timers never fire early by more than a millisecond's rounding.
    expect(performance.now() - started).toBeGreaterThanOrEqual(149);
  });

  it('answers other pages while a slow page is pending', async () => {
    const s = await startShopSite({ seed: 5, faults: { slowRate: 0.5, slowMs: 600_000 } });
    try {
      const ac = new AbortController();
      let settled = false;
      const slow = request(s.urlOf(s.faults.slow[0]!), { dispatcher: agent, signal: ac.signal }).then(
        () => (settled = true),
        () => (settled = true),
      );
      const normal = s.catalog.products.find((p) => !s.faults.slow.includes(p.path))!;
      expect((await get(s.urlOf(normal.path))).status).toBe(200);
      expect(settled).toBe(false);
      ac.abort();
      await slow;
    } finally {
      await s.close();
    }
  });

  it('serves the demo site’s /fault/ endpoints', async () => {
    expect((await get(site.urlOf('/fault/500'))).status).toBe(500);
    const r = await get(site.urlOf('/fault/redirect/302/1'));
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe('/fault/landing');
  });
});

describe('shop site: serve-demo --site shop', () => {
  afterEach(cleanup);

  it('is in the serve-demo registry', async () => {
    const s = await SITES.shop!({ host: '127.0.0.1', port: 0, pages: 200, latencyMs: 0 });
    try {
      expect(s.describe()).toContain('60 products in 4 categories');
      expect((await get(s.url)).body).toContain('Trawl Shop');
    } finally {
      await s.close();
    }
  });

  it('serves the shop from the CLI until SIGINT', async () => {
    const cli = spawnCli(['serve-demo', '--site', 'shop', '--port', '0']);
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      cli.child.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /serving the shop site at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m !== null) resolve(m[1]!);
      });
      void cli.exited.then((r) => reject(new Error(`exited early: ${r.stderr}`)));
    });
    const catalog = buildCatalog({ seed: 1 });
    const p = catalog.products[0]!;
    const page = await get(new URL(p.path, url).href);
    expect(page.status).toBe(200);
    expect(dom(page.body).text('dd.sku')).toBe(p.sku);
    cli.kill('SIGINT');
    const res = await cli.exited;
    expect(res.code).toBe(0);
  });

  it('refuses an unknown site with exit 2 naming the known ones', async () => {
    const res = await spawnCli(['serve-demo', '--site', 'nope', '--port', '0']).exited;
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/unknown site "nope" \(known: .*shop/);
  });
});
