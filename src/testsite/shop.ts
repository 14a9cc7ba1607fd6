/**
 * The shop test site over HTTP (node:http only): a deterministic catalog (shop-catalog.ts)
 * served as a home page, paginated category listings, product pages with JSON-LD, a search that
 * answers only a POST, the cart (disallowed by robots.txt), robots.txt, /sitemap.xml, the
 * demo site's `/fault/...` endpoints, and optional seeded faults (shop-faults.ts), with request
 * accounting so tests can check that a scraper fetched every product exactly once. Used by the
 * scraper tests and `trawl serve-demo --site shop`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { FAULT_ENDPOINTS, faultContext, send, serveFaultEndpoint } from './faults.js';
import { listen, stopServer, trackSockets } from './listen.js';
import { buildCatalog, type ShopCatalog } from './shop-catalog.js';
import { planShopFaults, type ShopFaultOptions, type ShopFaultPicks } from './shop-faults.js';
import {
  renderCart,
  renderError,
  renderHome,
  renderListing,
  renderProduct,
  renderRobots,
  renderSearch,
  renderSearchNeedsPost,
  renderSitemap,
} from './shop-pages.js';

/** Options for {@link startShopSite}. */
export interface ShopSiteOptions {
  /** PRNG seed of the catalog and the fault picks. Default 1. */
  seed?: number;
  /** Number of products. Default 60. */
  products?: number;
  /** Number of categories. Default 4. */
  categories?: number;
  /** Products per listing page. Default 10. */
  pageSize?: number;
  /** Delay before every response, in ms. Default 0. */
  latencyMs?: number;
  /** Faults; none by default. */
  faults?: ShopFaultOptions;
  /** Listen address. Default 127.0.0.1. */
  host?: string;
  /** Listen port. Default 0: chosen by the OS. */
  port?: number;
}

/** The largest POST body /search reads; a larger one gets 413. */
export const SEARCH_BODY_LIMIT = 64 * 1024;

/** A running shop site. */
export interface ShopSite {
  /** Base URL with trailing slash, e.g. `http://127.0.0.1:40123/`. */
  readonly url: string;
  readonly port: number;
  /** Every product (every field) and every category (its SKUs in listing order). */
  readonly catalog: ShopCatalog;
  /** The product pages hit by the seeded faults. */
  readonly faults: ShopFaultPicks;
  /** Requests per raw request target (path and query), any method, since start or reset(). */
  readonly counts: Map<string, number>;
  /** Requests per `"<METHOD> <path and query>"`, e.g. `"POST /search"`, since start or reset(). */
  readonly methodCounts: Map<string, number>;
  /** Responses with status 200 per raw request target, since start or reset(). */
  readonly served: Map<string, number>;
  /** Total requests since start or reset(). */
  total(): number;
  /** Peak number of requests in flight at once (visible only with latency or slow pages). */
  readonly maxConcurrent: number;
  /** Absolute URL of a site path such as a product's `path`. */
  urlOf(path: string): string;
  /** Clears counts and fault hit counters (flaky pages fail again); the peak restarts from now. */
  reset(): void;
  /** A one-paragraph human description (for `trawl serve-demo` and logs). */
  describe(): string;
  /** Stops listening, drops open connections and cancels pending slow responses. */
  close(): Promise<void>;
}

const HTML = 'text/html; charset=utf-8';

/** decodeURIComponent, or the input unchanged when it is malformed (a 404 then, not a crash). */
function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Reads a request body up to `limit` bytes; resolves undefined when it is larger (reading stops). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else if (!over) chunks.push(c);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on('error', () => resolve(undefined));
  });
}

/**
 * Starts the shop on `host` (default 127.0.0.1). Routes (GET and HEAD unless said):
 * - `/` — home: links to every category, the search form;
 * - `/category/<slug>` and `/category/<slug>?page=N` (N ≥ 2; `?page=1` is the same page 1) —
 *   the listing, `pageSize` products, `rel=next`/`rel=prev` in head and as links; 404 for an
 *   unknown category or a page out of range or not a positive integer;
 * - `/product/<slug>` — the product page; 404 for an unknown slug;
 * - `/search` — POST only, an `application/x-www-form-urlencoded` body with `q` (see
 *   {@link ShopCatalog.search}); any other method gets **405** with `Allow: POST` and a page
 *   with no results; a body over {@link SEARCH_BODY_LIMIT} gets 413;
 * - `/cart` — a page robots.txt disallows; `/robots.txt`; `/sitemap.xml`;
 * - `/fault/...` — the demo site's fault endpoints (faults.ts);
 * - anything else 404; POST (or another method) to anything but /search, 405 `Allow: GET, HEAD`.
 * Faults apply to every path as in server.ts (reset, 500, flaky 500, 429, 503, then slow and
 * trickle). Responses carry no Date header, so the same options give byte-identical bodies.
 */
export async function startShopSite(opts: ShopSiteOptions = {}): Promise<ShopSite> {
  const catalog = buildCatalog({
    seed: opts.seed,
    products: opts.products,
    categories: opts.categories,
    pageSize: opts.pageSize,
  });
  const faultOpts = opts.faults ?? {};
  const plan = planShopFaults(catalog, faultOpts);
  const latency = Math.max(0, opts.latencyMs ?? 0);
  const homeLinks = faultOpts.link === true ? FAULT_ENDPOINTS : [];

  const counts = new Map<string, number>();
  const methodCounts = new Map<string, number>();
  const served = new Map<string, number>();
  const hitCounts = new Map<string, number>();
  let total = 0;
  let inFlight = 0;
  let maxConcurrent = 0;
  let closing = false;
  const timers = new Set<NodeJS.Timeout>();
  let origin = '';

  const ctx = faultContext(hitCounts, timers, () => closing);

  /** The GET response of `path?query`: status and body. */
  const renderGet = (path: string, query: URLSearchParams): [number, string, Buffer] => {
    if (path === '/') return [200, HTML, renderHome(catalog, homeLinks)];
    if (path === '/robots.txt') return [200, 'text/plain; charset=utf-8', renderRobots(origin)];
    if (path === '/sitemap.xml') return [200, 'application/xml', renderSitemap(catalog, origin)];
    if (path === '/cart') return [200, HTML, renderCart(catalog)];
    const cat = /^\/category\/([^/]+)$/.exec(path);
    if (cat !== null) {
      const raw = query.get('page');
      const n = raw === null ? 1 : /^[1-9]\d{0,8}$/.test(raw) ? Number(raw) : Number.NaN;
      const body = renderListing(catalog, safeDecode(cat[1]!), n);
      if (body !== undefined) return [200, HTML, body];
    }
    const prod = /^\/product\/([^/]+)$/.exec(path);
    if (prod !== null) {
      const p = catalog.bySlug(safeDecode(prod[1]!));
      if (p !== undefined) return [200, HTML, renderProduct(catalog, p, origin)];
    }
    return [404, HTML, renderError(catalog, 404, `Not found: ${path}`)];
  };

  const handle = (req: IncomingMessage, res: ServerResponse, path: string, query: string): void => {
    if (path.startsWith('/fault/')) {
      if (!serveFaultEndpoint(ctx, req, res, path))
        send(res, 404, HTML, renderError(catalog, 404, `Not found: ${path}`));
      return;
    }
    const method = req.method ?? 'GET';
    if (path === '/search') {
      if (method !== 'POST') {
        send(res, 405, HTML, renderSearchNeedsPost(catalog), { allow: 'POST' });
        return;
      }
      void readBody(req, SEARCH_BODY_LIMIT).then((body) => {
        if (res.destroyed) return;
        if (body === undefined) {
          send(res, 413, HTML, renderError(catalog, 413, 'Search query too large'));
          return;
        }
        const q = new URLSearchParams(body.toString('utf8')).get('q') ?? '';
        plan.apply(ctx, res, path, (deliver) => deliver(200, HTML, renderSearch(catalog, q)));
      });
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      send(res, 405, HTML, renderError(catalog, 405, `${method} not allowed`), { allow: 'GET, HEAD' });
      return;
    }
    plan.apply(ctx, res, path, (deliver) => deliver(...renderGet(path, new URLSearchParams(query))));
  };

  const server = createServer({ keepAlive: true }, (req, res) => {
    res.sendDate = false;
    const raw = req.url ?? '/';
    const method = req.method ?? 'GET';
    total++;
    counts.set(raw, (counts.get(raw) ?? 0) + 1);
    const mk = `${method} ${raw}`;
    methodCounts.set(mk, (methodCounts.get(mk) ?? 0) + 1);
    inFlight++;
    if (inFlight > maxConcurrent) maxConcurrent = inFlight;
    res.once('close', () => inFlight--);
    res.once('finish', () => {
      if (res.statusCode === 200) served.set(raw, (served.get(raw) ?? 0) + 1);
    });
    const q = raw.indexOf('?');
    let path = q < 0 ? raw : raw.slice(0, q);
    const query = q < 0 ? '' : raw.slice(q + 1);
    if (path.startsWith('http://') || path.startsWith('https://')) path = new URL(path).pathname;
    hitCounts.set(path, (hitCounts.get(path) ?? 0) + 1);
    if (latency > 0) ctx.later(() => !res.destroyed && handle(req, res, path, query), latency);
    else handle(req, res, path, query);
  });
  server.keepAliveTimeout = 30_000;
  const sockets = trackSockets(server);

  const bound = await listen(server, opts);
  origin = bound.origin;
  const url = `${origin}/`;

  return {
    url,
    port: bound.port,
    catalog,
    faults: plan.picks,
    counts,
    methodCounts,
    served,
    total: () => total,
    get maxConcurrent() {
      return maxConcurrent;
    },
    urlOf: (path) => new URL(path, origin).href,
    reset() {
      counts.clear();
      methodCounts.clear();
      served.clear();
      hitCounts.clear();
      total = 0;
      maxConcurrent = inFlight;
    },
    describe() {
      const f = plan.summary;
      return (
        `trawl shop at ${url}: ${catalog.products.length} products in ${catalog.categories.length} categories ` +
        `(${catalog.sharedSkus.length} listed twice), ${catalog.pageSize} per listing page, seed ${catalog.seed}` +
        (latency > 0 ? `, ${latency} ms latency` : '') +
        `; search by POST /search; faults: ${f.length > 0 ? f.join(', ') : 'none'}; robots.txt and /sitemap.xml served.`
      );
    },
    close() {
      closing = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return stopServer(server, sockets);
    },
  };
}
