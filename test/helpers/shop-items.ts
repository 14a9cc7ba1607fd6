/**
 * What examples/scrapers/shop.ts must push for a shop catalog, computed from the catalog alone
 * (src/testsite/shop-catalog.ts), and the check that a list of pushed items is exactly that:
 * every product once with every field right, nothing else.
 */
import { expect } from 'vitest';
import type { ShopCatalog } from '../../src/testsite/shop-catalog.js';

/** The scraper's search query (SEARCH_QUERY in examples/scrapers/shop.ts). */
export const SHOP_SEARCH_QUERY = 'oak';

/** The scraper's path, relative to the repository root (the CLI children's working directory). */
export const SHOP_SCRAPER = 'examples/scrapers/shop.ts';

/** The product items the scraper must push, by ascending SKU. `origin` has no trailing slash. */
export function expectedProductItems(catalog: ShopCatalog, origin: string): Record<string, unknown>[] {
  return catalog.products.map((p) => ({
    url: `${origin}${p.path}`,
    sku: p.sku,
    name: p.name,
    price: p.price,
    currency: p.currency,
    availability: p.availability,
    stock: p.stockCount,
    rating: p.rating,
    reviewCount: p.reviewCount,
    brand: p.brand,
    description: p.description,
    category: p.categories[0],
  }));
}

/** The stderr line the scraper's SEARCH handler logs for the catalog's search results. */
export function searchLogPattern(catalog: ShopCatalog): RegExp {
  return new RegExp(`search "${SHOP_SEARCH_QUERY}": ${catalog.search(SHOP_SEARCH_QUERY).length} results`);
}

/**
 * Asserts that `items` are exactly the scraper's output for `catalog`: each product once (no SKU
 * twice, none missing), every field equal to the catalog's, nothing more.
 */
export function expectShopItems(
  items: readonly Record<string, unknown>[],
  catalog: ShopCatalog,
  origin: string,
): void {
  const counts = new Map<unknown, number>();
  for (const i of items) counts.set(i.sku, (counts.get(i.sku) ?? 0) + 1);
  expect(
    [...counts].filter(([, n]) => n > 1).map(([s]) => s),
    'products pushed more than once',
  ).toEqual([]);
  const want = expectedProductItems(catalog, origin);
  expect(
    want.filter((w) => !counts.has(w.sku)).map((w) => w.sku),
    'products never pushed',
  ).toEqual([]);
  const bySku = (a: Record<string, unknown>, b: Record<string, unknown>): number =>
    String(a.sku).localeCompare(String(b.sku));
  expect([...items].sort(bySku)).toEqual(want);
}
