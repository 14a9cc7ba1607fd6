/**
 * The HTML (and robots.txt / sitemap) of the shop test site, rendered from a
 * {@link ShopCatalog}. Pure functions of the catalog and the site origin, so the same catalog
 * gives byte-identical pages. The markup a scraper relies on:
 * - listing: `li.product[data-sku] > a.product-link[href]`, pagination as `<link rel="next">` /
 *   `<link rel="prev">` in head and `a.next[rel=next]` / `a.prev[rel=prev]` in `nav.pagination`;
 * - product: `h1` (name), `.price .amount` (price with thousands commas) and `.price .currency`,
 *   `dd.sku`, `dd.stock` (stock text), `.rating-value` and `.review-count` (or `dd.rating.no-reviews`),
 *   and one `<script type="application/ld+json">` schema.org Product.
 */
import type { ShopCatalog, ShopProduct } from './shop-catalog.js';
import { escapeHtml } from './site.js';

const SHOP = 'Trawl Shop';

/** Links and form at the top of every page: home, every category, the cart, the search form. */
function header(catalog: ShopCatalog): string {
  const cats = catalog.categories
    .map((c) => `<a class="category-link" href="${escapeHtml(c.path)}">${escapeHtml(c.name)}</a>`)
    .join(' ');
  return (
    `<header><a class="home" href="/">${SHOP}</a> <nav class="categories">${cats}</nav> ` +
    `<a class="cart" href="/cart">Cart</a>\n` +
    `<form class="search" method="post" action="/search"><input type="search" name="q" placeholder="Search">` +
    `<button type="submit">Search</button></form></header>\n`
  );
}

function page(catalog: ShopCatalog, title: string, head: string, body: string): Buffer {
  return Buffer.from(
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} — ${SHOP}</title>\n` +
      `${head}</head><body>\n${header(catalog)}<main>\n${body}</main></body></html>\n`,
  );
}

function productItem(p: ShopProduct): string {
  return (
    `<li class="product" data-sku="${escapeHtml(p.sku)}"><a class="product-link" href="${escapeHtml(p.path)}">` +
    `${escapeHtml(p.name)}</a> <span class="price">${p.priceText} ${p.currency}</span></li>\n`
  );
}

/** The home page: the categories and the search form. */
export function renderHome(catalog: ShopCatalog, extraLinks: readonly string[] = []): Buffer {
  const cats = catalog.categories
    .map((c) => `<li><a href="${escapeHtml(c.path)}">${escapeHtml(c.name)}</a> (${c.skus.length})</li>`)
    .join('\n');
  const extra =
    extraLinks.length === 0
      ? ''
      : `<ul class="extra">${extraLinks.map((h) => `<li><a href="${escapeHtml(h)}">${escapeHtml(h)}</a></li>`).join('')}</ul>\n`;
  return page(catalog, 'Home', '', `<h1>${SHOP}</h1>\n<ul class="category-list">\n${cats}\n</ul>\n${extra}`);
}

/**
 * Listing page `n` of a category, or undefined when the category or page does not exist. Page 1
 * of an empty category exists (no products, no next).
 */
export function renderListing(catalog: ShopCatalog, slug: string, n: number): Buffer | undefined {
  const cat = catalog.category(slug);
  if (cat === undefined || !Number.isInteger(n) || n < 1 || n > cat.pages) return undefined;
  const items = catalog.listing(slug, n).map(productItem).join('');
  const prev = n > 1 ? catalog.listingPath(slug, n - 1) : undefined;
  const next = n < cat.pages ? catalog.listingPath(slug, n + 1) : undefined;
  let head = `<link rel="canonical" href="${escapeHtml(catalog.listingPath(slug, n))}">\n`;
  if (prev !== undefined) head += `<link rel="prev" href="${escapeHtml(prev)}">\n`;
  if (next !== undefined) head += `<link rel="next" href="${escapeHtml(next)}">\n`;
  const nav =
    `<nav class="pagination">` +
    (prev !== undefined ? `<a class="prev" rel="prev" href="${escapeHtml(prev)}">Previous</a> ` : '') +
    `<span class="page-number">Page ${n} of ${cat.pages}</span>` +
    (next !== undefined ? ` <a class="next" rel="next" href="${escapeHtml(next)}">Next</a>` : '') +
    `</nav>\n`;
  return page(
    catalog,
    n === 1 ? cat.name : `${cat.name} — page ${n}`,
    head,
    `<h1>${escapeHtml(cat.name)}</h1>\n<ul class="products">\n${items}</ul>\n${nav}`,
  );
}

/**
 * The schema.org Product object of a product page. `offers.price` is the plain decimal string,
 * `offers.inventoryLevel` is present only when the page shows a count (or 0 when out of stock),
 * `aggregateRating` only when the product has reviews.
 */
export function productJsonLd(p: ShopProduct, origin: string): Record<string, unknown> {
  const offers: Record<string, unknown> = {
    '@type': 'Offer',
    url: `${origin}${p.path}`,
    price: p.price,
    priceCurrency: p.currency,
    availability: `https://schema.org/${p.availability}`,
  };
  if (p.stockCount !== null) offers.inventoryLevel = { '@type': 'QuantitativeValue', value: p.stockCount };
  const ld: Record<string, unknown> = {
    '@context': 'https://schema.org',
    '@type': 'Product',
    name: p.name,
    sku: p.sku,
    url: `${origin}${p.path}`,
    description: p.description,
    brand: { '@type': 'Brand', name: p.brand },
    offers,
  };
  if (p.rating !== null) {
    ld.aggregateRating = {
      '@type': 'AggregateRating',
      ratingValue: p.rating,
      reviewCount: p.reviewCount,
      bestRating: 5,
      worstRating: 1,
    };
  }
  return ld;
}

/** A product page (the JSON-LD's `<` are written `\u003c` so no value can close the script). */
export function renderProduct(catalog: ShopCatalog, p: ShopProduct, origin: string): Buffer {
  const ld = JSON.stringify(productJsonLd(p, origin)).replace(/</g, '\\u003c');
  const main = catalog.category(p.categories[0]!)!;
  const rating =
    p.rating === null
      ? `<dd class="rating no-reviews">No reviews yet</dd>`
      : `<dd class="rating"><span class="rating-value">${p.rating.toFixed(1)}</span> out of 5 ` +
        `(<span class="review-count">${p.reviewCount}</span> reviews)</dd>`;
  const stockClass = p.availability === 'InStock' ? 'in-stock' : 'out-of-stock';
  return page(
    catalog,
    p.name,
    `<link rel="canonical" href="${escapeHtml(p.path)}">\n<script type="application/ld+json">${ld}</script>\n`,
    `<nav class="breadcrumbs"><a href="/">Home</a> › <a href="${escapeHtml(main.path)}">${escapeHtml(main.name)}</a></nav>\n` +
      `<article class="product" data-sku="${escapeHtml(p.sku)}">\n<h1>${escapeHtml(p.name)}</h1>\n` +
      `<p class="price"><span class="amount">${p.priceText}</span> <span class="currency">${p.currency}</span></p>\n` +
      `<dl class="details"><dt>SKU</dt><dd class="sku">${escapeHtml(p.sku)}</dd>` +
      `<dt>Brand</dt><dd class="brand">${escapeHtml(p.brand)}</dd>` +
      `<dt>Availability</dt><dd class="stock ${stockClass}">${escapeHtml(p.stockText)}</dd>` +
      `<dt>Rating</dt>${rating}</dl>\n` +
      `<p class="description">${escapeHtml(p.description)}</p>\n</article>\n`,
  );
}

/** The results page of a POSTed search for `q`. */
export function renderSearch(catalog: ShopCatalog, q: string): Buffer {
  const hits = catalog.search(q);
  const body =
    `<h1>Search results for “${escapeHtml(q)}”</h1>\n<p class="result-count">${hits.length} result${hits.length === 1 ? '' : 's'}</p>\n` +
    (hits.length === 0
      ? `<p class="no-results">No products match.</p>\n`
      : `<ul class="products">\n${hits.map(productItem).join('')}</ul>\n`);
  return page(catalog, `Search: ${q}`, '<meta name="robots" content="noindex">\n', body);
}

/** The answer to a search without a POST (405): explains that the form must be submitted. */
export function renderSearchNeedsPost(catalog: ShopCatalog): Buffer {
  return page(
    catalog,
    'Search',
    '',
    `<h1>Search</h1>\n<p class="error">Search needs a POST of the form (field <code>q</code>).</p>\n`,
  );
}

/** The cart page (disallowed by robots.txt; a polite crawler never fetches it). */
export function renderCart(catalog: ShopCatalog): Buffer {
  return page(catalog, 'Cart', '', `<h1>Your cart</h1>\n<p>Your cart is empty.</p>\n`);
}

/** A plain error page. */
export function renderError(catalog: ShopCatalog, status: number, text: string): Buffer {
  return page(catalog, String(status), '', `<h1>${status}</h1>\n<p>${escapeHtml(text)}</p>\n`);
}

/** robots.txt: everything allowed but `/cart`, and the sitemap. */
export function renderRobots(origin: string): Buffer {
  return Buffer.from(`User-agent: *\nDisallow: /cart\nAllow: /\n\nSitemap: ${origin}/sitemap.xml\n`);
}

/** /sitemap.xml: the home page, the first page of every category and every product page. */
export function renderSitemap(catalog: ShopCatalog, origin: string): Buffer {
  const locs = ['/', ...catalog.categories.map((c) => c.path), ...catalog.products.map((p) => p.path)];
  const urls = locs.map((l) => `<url><loc>${escapeHtml(`${origin}${l}`)}</loc></url>\n`).join('');
  return Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n${urls}</urlset>\n`,
  );
}
