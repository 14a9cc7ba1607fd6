/**
 * The deterministic catalog of the shop test site: categories, products with every field a
 * scraper is expected to extract, listing order and pagination, and the search semantics. Pure
 * (no I/O), so a test can compute exactly what a scraper of the shop must produce.
 */
import { mix, prng } from './site.js';

/** Options for {@link buildCatalog}. */
export interface CatalogOptions {
  /** PRNG seed: the same options give the same catalog. Default 1. */
  seed?: number;
  /** Number of products. Default 60; at least 1. */
  products?: number;
  /** Number of categories. Default 4; at least 1. */
  categories?: number;
  /** Products per listing page. Default 10; at least 1. */
  pageSize?: number;
}

/** schema.org availability of a product. */
export type Availability = 'InStock' | 'OutOfStock';

/** One product, with exactly the values its page shows (visibly and in its JSON-LD). */
export interface ShopProduct {
  /** Index in {@link ShopCatalog.products} (0-based). */
  readonly index: number;
  /** Unique stock-keeping unit, e.g. `TRW-10007`. Stable for an index whatever the seed. */
  readonly sku: string;
  /** Unique URL slug: the slugified name and the SKU. */
  readonly slug: string;
  /** URL path of the product page: `/product/<slug>`. */
  readonly path: string;
  /** Display name (the page's h1); may contain `&`, `"` and non-ASCII letters. */
  readonly name: string;
  /** Price as a decimal string with two places and no separators, e.g. `"1299.00"` (JSON-LD `offers.price`). */
  readonly price: string;
  /** The same price in minor units (cents). */
  readonly priceCents: number;
  /** The price as shown on the page: thousands separated by commas, e.g. `"1,299.00"`. */
  readonly priceText: string;
  /** ISO 4217 currency code (`EUR`, `USD` or `GBP`), shown next to the price. */
  readonly currency: string;
  /** schema.org availability. */
  readonly availability: Availability;
  /**
   * Units in stock when the page shows a count (1–9, "Only N left in stock"), 0 when out of
   * stock, null when the page only says "In stock".
   */
  readonly stockCount: number | null;
  /** The stock text as shown: `In stock`, `Out of stock` or `Only N left in stock`. */
  readonly stockText: string;
  /** Average rating 1.0–5.0 with one decimal, or null when the product has no reviews. */
  readonly rating: number | null;
  /** Number of reviews (0 exactly when `rating` is null). */
  readonly reviewCount: number;
  /** Brand name. */
  readonly brand: string;
  /** One-sentence description. */
  readonly description: string;
  /** Slugs of the categories listing this product: its main one first, then (for a few) a second one. */
  readonly categories: readonly string[];
}

/** One category and its listing. */
export interface ShopCategory {
  /** URL slug, e.g. `kitchen`. */
  readonly slug: string;
  /** Display name (the listing's h1). */
  readonly name: string;
  /** URL path of the first listing page: `/category/<slug>`. */
  readonly path: string;
  /** SKUs of the products listed, in listing order (ascending product index). */
  readonly skus: readonly string[];
  /** Number of listing pages (at least 1: an empty category has one empty page). */
  readonly pages: number;
}

/** The whole catalog. */
export interface ShopCatalog {
  readonly seed: number;
  readonly pageSize: number;
  /** Every product, by ascending index (= ascending SKU). */
  readonly products: readonly ShopProduct[];
  /** Every category, in navigation order. */
  readonly categories: readonly ShopCategory[];
  /** SKUs of the products listed in two categories, ascending. */
  readonly sharedSkus: readonly string[];
  /** The product with this SKU, or undefined. */
  bySku(sku: string): ShopProduct | undefined;
  /** The product with this slug, or undefined. */
  bySlug(slug: string): ShopProduct | undefined;
  /** The category with this slug, or undefined. */
  category(slug: string): ShopCategory | undefined;
  /**
   * The products on listing page `page` (1-based) of a category, in order; an empty array for a
   * page outside 1..pages (or an unknown category) — except page 1 of an empty category, also empty.
   */
  listing(slug: string, page: number): ShopProduct[];
  /**
   * The URL path of listing page `page` of a category: `/category/<slug>` for page 1,
   * `/category/<slug>?page=N` after.
   */
  listingPath(slug: string, page: number): string;
  /**
   * The search results for `q`: products whose name or SKU contains every whitespace-separated
   * term of `q`, case-insensitively (ASCII and Unicode case folding via toLowerCase), in catalog
   * order. A blank query matches nothing.
   */
  search(q: string): ShopProduct[];
}

const CATEGORY_NAMES: readonly (readonly [string, readonly string[]])[] = [
  ['Kitchen', ['Kettle', 'Salt & Pepper Mill', '12" Skillet', 'Crème Brûlée Torch', 'Chef Knife', 'Teapot']],
  ['Garden', ['Trowel', 'Watering Can', 'Hose Reel', 'Pruning Shears', 'Planter', 'Bird Feeder']],
  ['Office', ['Desk Lamp', 'Stapler', 'Notebook', 'Pen Holder', 'Monitor Stand', 'Letter Tray']],
  ['Toys', ['Kite', 'Puzzle Box', 'Yo-Yo', 'Spinning Top', 'Rocking Horse', 'Marble Run']],
  ['Outdoor', ['Tent', 'Camp Stove', 'Lantern', 'Sleeping Bag', 'Hammock', 'Canteen']],
  ['Bath', ['Towel Rail', 'Soap Dish', 'Bath Mat', 'Shower Caddy', 'Toothbrush Cup', 'Mirror']],
  ['Lighting', ['Floor Lamp', 'Pendant Light', 'Wall Sconce', 'Night Light', 'String Lights', 'Lampshade']],
  ['Tools', ['Hammer', 'Spirit Level', 'Tape Measure', 'Screwdriver Set', 'Hand Saw', 'Clamp']],
];
const ADJECTIVES = [
  'Rustic',
  'Compact',
  'Deluxe',
  'Classic',
  'Nordic',
  'Vintage',
  'Sturdy',
  'Handmade',
  'Café',
  'Everyday',
];
const MATERIALS = ['Steel', 'Oak', 'Copper', 'Bamboo', 'Ceramic', 'Walnut', 'Brass', 'Linen'];
const BRANDS = ['Acme', 'Brightwell', 'Hart & Sons', 'Møller', 'Northfield', 'Quayside'];
const CURRENCIES = ['EUR', 'USD', 'GBP'];

/** Lowercase ASCII slug: accents stripped, runs of anything else become one `-`. */
export function slugify(s: string): string {
  return s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** `1299.00` → `1,299.00`. */
function groupThousands(price: string): string {
  const [int, frac] = price.split('.') as [string, string];
  return `${int.replace(/\B(?=(\d{3})+$)/g, ',')}.${frac}`;
}

/** Fisher–Yates shuffle of 0..n-1 with a seeded PRNG. */
function shuffled(n: number, seed: number): number[] {
  const rnd = prng(seed);
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/**
 * Builds the catalog. Product `i` has SKU `TRW-<10001+i>` and main category `i mod categories`
 * (so categories are balanced); its name, price, currency, stock, rating and brand come from
 * `mix(seed, i, salt)`. When there are at least two categories, `max(1, floor(products / 20))`
 * products (a seeded pick) are also listed in a second category. Names repeat across products
 * (the SKU is the identity); slugs never do.
 */
export function buildCatalog(opts: CatalogOptions = {}): ShopCatalog {
  const seed = opts.seed ?? 1;
  const n = Math.max(1, Math.floor(opts.products ?? 60));
  const c = Math.max(1, Math.floor(opts.categories ?? 4));
  const pageSize = Math.max(1, Math.floor(opts.pageSize ?? 10));

  const cats = Array.from({ length: c }, (_, k) => {
    const known = CATEGORY_NAMES[k];
    const name = known !== undefined ? known[0] : `Category ${k + 1}`;
    const nouns = known !== undefined ? known[1] : ['Gadget', 'Widget', 'Gizmo', 'Box'];
    return { name, slug: slugify(name), nouns };
  });

  const shared = new Map<number, number>();
  if (c >= 2) {
    const k = Math.min(n, Math.max(1, Math.floor(n / 20)));
    for (const i of shuffled(n, mix(seed, 0x5ea7, 1)).slice(0, k)) {
      const main = i % c;
      shared.set(i, (main + 1 + (mix(seed, i, 9) % (c - 1))) % c);
    }
  }

  const products: ShopProduct[] = [];
  for (let i = 0; i < n; i++) {
    const r = (salt: number): number => mix(seed, i, salt);
    const main = i % c;
    const cat = cats[main]!;
    const name = `${ADJECTIVES[r(1) % ADJECTIVES.length]} ${MATERIALS[r(2) % MATERIALS.length]} ${cat.nouns[r(3) % cat.nouns.length]}`;
    const sku = `TRW-${10001 + i}`;
    // Mostly 1.99–499.99; one in twenty costs 1000 or more, to show a thousands separator.
    const cents = r(4) % 20 === 0 ? 100_000 + (r(5) % 400_000) : 199 + (r(5) % 49_801);
    const price = (cents / 100).toFixed(2);
    const s = r(6) % 10;
    const availability: Availability = s < 2 ? 'OutOfStock' : 'InStock';
    const stockCount = s < 2 ? 0 : s < 5 ? 1 + (r(7) % 9) : null;
    const stockText =
      stockCount === 0
        ? 'Out of stock'
        : stockCount === null
          ? 'In stock'
          : `Only ${stockCount} left in stock`;
    const reviewed = r(8) % 10 !== 0;
    const rating = reviewed ? (10 + (r(10) % 41)) / 10 : null;
    const reviewCount = reviewed ? 1 + (r(11) % 500) : 0;
    const second = shared.get(i);
    products.push({
      index: i,
      sku,
      slug: `${slugify(name)}-${sku.toLowerCase()}`,
      path: `/product/${slugify(name)}-${sku.toLowerCase()}`,
      name,
      price,
      priceCents: cents,
      priceText: groupThousands(price),
      currency: CURRENCIES[r(12) % CURRENCIES.length]!,
      availability,
      stockCount,
      stockText,
      rating,
      reviewCount,
      brand: BRANDS[r(13) % BRANDS.length]!,
      description: `A ${name.toLowerCase()} from ${BRANDS[r(13) % BRANDS.length]}, item ${sku}.`,
      categories: second === undefined ? [cat.slug] : [cat.slug, cats[second]!.slug],
    });
  }

  const categories: ShopCategory[] = cats.map((cat) => {
    const skus = products.filter((p) => p.categories.includes(cat.slug)).map((p) => p.sku);
    return {
      slug: cat.slug,
      name: cat.name,
      path: `/category/${cat.slug}`,
      skus,
      pages: Math.max(1, Math.ceil(skus.length / pageSize)),
    };
  });

  const bySku = new Map(products.map((p) => [p.sku, p]));
  const bySlug = new Map(products.map((p) => [p.slug, p]));
  const byCat = new Map(categories.map((x) => [x.slug, x]));
  return {
    seed,
    pageSize,
    products,
    categories,
    sharedSkus: [...shared.keys()].sort((a, b) => a - b).map((i) => products[i]!.sku),
    bySku: (sku) => bySku.get(sku),
    bySlug: (slug) => bySlug.get(slug),
    category: (slug) => byCat.get(slug),
    listing(slug, page) {
      const cat = byCat.get(slug);
      if (cat === undefined || !Number.isInteger(page) || page < 1 || page > cat.pages) return [];
      return cat.skus.slice((page - 1) * pageSize, page * pageSize).map((s) => bySku.get(s)!);
    },
    listingPath: (slug, page) => (page <= 1 ? `/category/${slug}` : `/category/${slug}?page=${page}`),
    search(q) {
      const terms = q.toLowerCase().split(/\s+/).filter(Boolean);
      if (terms.length === 0) return [];
      return products.filter((p) => {
        const hay = `${p.name} ${p.sku}`.toLowerCase();
        return terms.every((t) => hay.includes(t));
      });
    },
  };
}
