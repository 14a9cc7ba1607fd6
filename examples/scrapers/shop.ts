/**
 * A complete scraper of the shop test site (`trawl serve-demo --site shop`): every product once,
 * with every field its page shows, and one search submitted as the form's POST.
 *
 *   trawl serve-demo --site shop &                      # http://127.0.0.1:8080/
 *   trawl run examples/scrapers/shop.ts --items products.jsonl
 *   trawl run examples/scrapers/shop.ts http://127.0.0.1:8080/ --items - | jq .name
 *
 * The walk: the home page (label `default`) enqueues every category listing (`LIST`) and one
 * search form POST (`SEARCH`); a listing enqueues its products (`PRODUCT`) and its next page
 * (`LIST` again, following `a.next[rel=next]`, which the site also states as
 * `<link rel="next">`); a product page pushes one item.
 *
 * Items. One per product, exactly
 *   { url, sku, name, price, currency, availability, stock, rating, reviewCount, brand,
 *     description, category }
 * - `price` is the decimal string with two places and no separators, e.g. `"1299.00"` — the
 *   JSON-LD `offers.price` — not a number, so no binary-float rounding ever touches money (parse
 *   it with your decimal library of choice; the page shows it as `1,299.00`).
 * - `availability` is schema.org's `InStock` / `OutOfStock`; `stock` the units in stock when the
 *   page shows a count ("Only 3 left in stock" → 3, out of stock → 0), null when it only says
 *   "In stock".
 * - `rating` is the average (one decimal) or null when there are no reviews; `reviewCount` then 0.
 * - `category` is the product's main category (the breadcrumb's slug). A product listed in a
 *   second category is fetched from whichever listing reaches it first and pushed once; its
 *   page does not name the second category, so the item does not either.
 * The search pushes nothing: it checks its results page and enqueues the hits as products
 * (dedup makes them the listings' requests), and logs how many it found.
 *
 * Every field is read from the visible page with `$` and checked against the page's JSON-LD
 * block; a disagreement throws, which makes the page fail like a fetch error (retried, then
 * recorded as `handler: ...`) instead of pushing a doubtful item.
 *
 * Dedup by SKU. Handlers run on several parse threads, each with its own copy of this module,
 * so a module-level `Set` of seen SKUs would only dedup within one thread (and would be empty
 * again after a resume). The frontier is the one place every thread, every process of a
 * distributed crawl and every resumed run share: each product link is enqueued with
 * `uniqueKey: 'sku:<SKU>'` (the SKU is in the listing's `data-sku`), so the frontier accepts a
 * product once however many listings show it, and a page's items are committed with the page,
 * so each product is pushed exactly once. (On this site the product's URL is the same from every
 * listing, so URL dedup alone would do; the SKU key keeps it right on shops whose product URLs
 * carry the category or a tracking parameter. Every product request must then carry the key:
 * a plain link to the same page would be another identity, and fetched again.)
 */
import { defineScraper } from 'trawl';

/** The search the scraper submits (products whose name or SKU contains "oak"). */
const SEARCH_QUERY = 'oak';

/** The schema.org Product block of a product page, as far as this scraper reads it. */
interface ProductLd {
  name?: unknown;
  sku?: unknown;
  description?: unknown;
  brand?: { name?: unknown };
  offers?: {
    price?: unknown;
    priceCurrency?: unknown;
    availability?: unknown;
    inventoryLevel?: { value?: unknown };
  };
  aggregateRating?: { ratingValue?: unknown; reviewCount?: unknown };
}

/** Throws when the visible value and the JSON-LD value of `field` differ. */
function agree(field: string, visible: unknown, ld: unknown): void {
  if (visible !== ld) {
    throw new Error(`${field}: page shows ${JSON.stringify(visible)}, JSON-LD says ${JSON.stringify(ld)}`);
  }
}

/** `Only 3 left in stock` → 3, `Out of stock` → 0, `In stock` → null; anything else throws. */
function stockOf(text: string): number | null {
  if (text === 'In stock') return null;
  if (text === 'Out of stock') return 0;
  const m = /^Only (\d+) left in stock$/.exec(text);
  if (m === null) throw new Error(`stock: unrecognised text ${JSON.stringify(text)}`);
  return Number(m[1]);
}

export default defineScraper({
  start: ['http://127.0.0.1:8080/'],
  // Polite against a real shop; `--rate inf` on the command line overrides it.
  options: { rate: 5 },
  handlers: {
    /** The home page: every category, and the search (a form that only answers a POST). */
    default: async ({ enqueue }) => {
      await enqueue({ selector: 'ul.category-list a', label: 'LIST' });
      await enqueue({
        url: '/search',
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ q: SEARCH_QUERY }).toString(),
        label: 'SEARCH',
        userData: { query: SEARCH_QUERY },
      });
    },

    /** A listing page: its products (one request per SKU), then the next page. */
    LIST: async ({ $, enqueue }) => {
      for (const li of $('ul.products li.product[data-sku]').toArray()) {
        const sku = $(li).attr('data-sku');
        const href = $(li).find('a.product-link').attr('href');
        if (sku === undefined || href === undefined) continue;
        await enqueue({ url: href, label: 'PRODUCT', uniqueKey: `sku:${sku}` });
      }
      await enqueue({ selector: 'nav.pagination a.next[rel=next]', label: 'LIST' });
    },

    /** A product page: one item, every field cross-checked with the JSON-LD block. */
    PRODUCT: async ({ $, response, push }) => {
      const ldText = $('script[type="application/ld+json"]').first().text();
      if (ldText === '') throw new Error('no JSON-LD block');
      const ld = JSON.parse(ldText) as ProductLd;

      const name = $('article.product h1').text().trim();
      const sku = $('dd.sku').text().trim();
      const amount = $('p.price .amount').text().trim();
      const currency = $('p.price .currency').text().trim();
      const brand = $('dd.brand').text().trim();
      const stockText = $('dd.stock').text().trim();
      const description = $('p.description').text().trim();
      const ratingText = $('dd.rating .rating-value').text().trim();
      const reviewsText = $('dd.rating .review-count').text().trim();
      const crumb = $('nav.breadcrumbs a[href^="/category/"]').attr('href') ?? '';

      if (!/^\d{1,3}(,\d{3})*\.\d{2}$/.test(amount)) throw new Error(`price: bad amount ${amount}`);
      const price = amount.replace(/,/g, '');
      const stock = stockOf(stockText);
      const availability = $('dd.stock').hasClass('out-of-stock') ? 'OutOfStock' : 'InStock';
      const rating = ratingText === '' ? null : Number(ratingText);
      const reviewCount = reviewsText === '' ? 0 : Number(reviewsText);
      const category = crumb.slice('/category/'.length);
      if (category === '') throw new Error('no category in the breadcrumbs');

      agree('name', name, ld.name);
      agree('sku', sku, ld.sku);
      agree('sku (article)', $('article.product').attr('data-sku'), sku);
      agree('price', price, ld.offers?.price);
      agree('currency', currency, ld.offers?.priceCurrency);
      agree('availability', `https://schema.org/${availability}`, ld.offers?.availability);
      agree('stock vs availability', stock === 0, availability === 'OutOfStock');
      agree('stock', stock, ld.offers?.inventoryLevel?.value ?? null);
      agree('rating', rating, ld.aggregateRating?.ratingValue ?? null);
      agree('reviewCount', reviewCount, ld.aggregateRating?.reviewCount ?? 0);
      agree('brand', brand, ld.brand?.name);
      agree('description', description, ld.description);

      push({
        url: response.url,
        sku,
        name,
        price,
        currency,
        availability,
        stock,
        rating,
        reviewCount,
        brand,
        description,
        category,
      });
    },

    /**
     * The search results (the response to the POST): checked, and their products enqueued like a
     * listing's (the SKU key makes them the same requests, so nothing is fetched twice). Nothing
     * is pushed here: the items file holds products only, so its CSV form has the product
     * fields as columns (a CSV takes its columns from the first item).
     */
    SEARCH: async ({ $, request, enqueue, log }) => {
      const hits = $('ul.products li.product').toArray();
      const m = /^(\d+) results?$/.exec($('p.result-count').text().trim());
      if (m === null) throw new Error('search: no result count on the page');
      agree('search result count', Number(m[1]), hits.length);
      for (const li of hits) {
        const sku = $(li).attr('data-sku');
        const href = $(li).find('a.product-link').attr('href');
        if (sku === undefined || href === undefined) throw new Error('search: a hit without SKU or link');
        await enqueue({ url: href, label: 'PRODUCT', uniqueKey: `sku:${sku}` });
      }
      log.info(`search ${JSON.stringify(request.userData.query)}: ${hits.length} results`);
    },
  },
});
