/**
 * Validation of a scraper definition: the shallow shape (defineScraper) and the full check
 * (loadScraper: option names, start URLs). Each returns the first problem as one line, or null.
 */
import type { ScraperOptions } from './scraper.js';

// Every option a scraper may set. A Record over the type's keys, so adding a CrawlOptions field
// without listing it here (or omitting it from ScraperOptions) is a compile error, not a
// scraper silently refused or an option silently accepted.
const OPTION_KEYS: Record<keyof ScraperOptions, true> = {
  name: true,
  workers: true,
  parsers: true,
  rate: true,
  burst: true,
  maxConnections: true,
  timeoutMs: true,
  handlerTimeoutMs: true,
  retries: true,
  retryBaseMs: true,
  retryCapMs: true,
  depth: true,
  maxPages: true,
  maxTimeMs: true,
  maxPagesPerHost: true,
  scope: true,
  include: true,
  exclude: true,
  stripParams: true,
  maxBytes: true,
  userAgent: true,
  out: true,
  extract: true,
  items: true,
  hostRate: true,
  hostBurst: true,
  hostConcurrency: true,
  autoThrottle: true,
  ignoreRobots: true,
  sitemaps: true,
  sitemapsAuto: true,
  maxUrlLength: true,
  maxRepeatedSegments: true,
  maxPathDepth: true,
  maxQueryVariants: true,
  stripSessionIds: true,
  allowPrivate: true,
  state: true,
  fresh: true,
  retryFailed: true,
  recrawl: true,
  recrawlAfter: true,
  changedOnly: true,
  warc: true,
  warcDir: true,
  warcMaxSize: true,
  cache: true,
  cacheMode: true,
  expect: true,
  headers: true,
  cookies: true,
  cookieFile: true,
  sessions: true,
  sessionBlockCodes: true,
  proxies: true,
  proxyRotation: true,
  render: true,
  renderWait: true,
  renderTimeoutMs: true,
  browsers: true,
  tabs: true,
  browserRecycle: true,
  renderResources: true,
  chromium: true,
};

const TOP_KEYS = new Set(['start', 'options', 'handlers', 'login']);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The first problem with the shape of a scraper definition, or null: not an object, an unknown
 * top-level key (only `start`, `options`, `handlers`, `login`), `login` not a function, `handlers` missing, not an object or
 * empty, a handler that is not a function, `start` not an array of strings, `options` not an
 * object.
 */
export function scraperShapeProblem(def: unknown): string | null {
  if (!isObject(def)) return 'the scraper must be an object with handlers';
  for (const k of Object.keys(def)) {
    if (!TOP_KEYS.has(k))
      return `unknown key ${JSON.stringify(k)} (expected start, options, handlers, login)`;
  }
  const { handlers, start, options } = def;
  if (!isObject(handlers)) return 'handlers must be an object of functions by label';
  const labels = Object.keys(handlers);
  if (labels.length === 0) return 'handlers is empty (a scraper needs at least a default handler)';
  for (const label of labels) {
    if (typeof handlers[label] !== 'function') return `handler ${JSON.stringify(label)} is not a function`;
  }
  if (def.login !== undefined && typeof def.login !== 'function') return 'login must be a function';
  if (start !== undefined && (!Array.isArray(start) || start.some((s) => typeof s !== 'string')))
    return 'start must be an array of URL strings';
  if (options !== undefined && !isObject(options)) return 'options must be an object';
  return null;
}

/**
 * The first problem with a scraper definition, or null: {@link scraperShapeProblem}, then an
 * option name that is not a settable crawl option (functions, `signal`, `seeds` and `scraper`
 * are not), then a start URL that is not an absolute http(s) URL. Option values are checked
 * later with the crawl's options, so a bad value names its flag the same way.
 */
export function scraperProblem(def: unknown): string | null {
  const shape = scraperShapeProblem(def);
  if (shape !== null) return shape;
  const { start, options } = def as { start?: string[]; options?: Record<string, unknown> };
  for (const k of Object.keys(options ?? {})) {
    if (!Object.hasOwn(OPTION_KEYS, k)) return `unknown option ${JSON.stringify(k)} in options`;
  }
  for (const s of start ?? []) {
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      return `start URL ${JSON.stringify(s)} is not a valid absolute URL`;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      return `start URL ${JSON.stringify(s)} is not an http(s) URL`;
  }
  return null;
}
