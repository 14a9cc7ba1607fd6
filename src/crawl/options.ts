import { existsSync } from 'node:fs';
import { checkArchiveOptions } from './archive-options.js';
import type { CrawlOptions } from './crawl-options.js';
import { parseFieldSpecs } from './parse/fields.js';
import { findChromium } from './render/chromium.js';
import {
  formatRenderWait,
  parseRenderResources,
  parseRenderWait,
  RENDER_MODES,
} from './render/render-options.js';
import { checkSessionOptions } from './session-options.js';
import { storagePathProblem } from './storage-paths.js';
import { itemSinkFormatFor } from './store/item-sink.js';
import { sinkFormatFor } from './store/open-sink.js';
import { compilePattern } from './url/patterns.js';
import { UsageError } from './usage-error.js';

export type { CrawlOptions, ExtractHook } from './crawl-options.js';

/** The seed's defaults (10 req/s burst 5, 20 connections, 5 s timeouts, 5 workers) and ours. */
export const DEFAULTS: Omit<CrawlOptions, 'seeds'> = {
  workers: 5,
  parsers: 1,
  rate: 10,
  burst: 5,
  maxConnections: 20,
  timeoutMs: 5000,
  retries: 3,
  retryBaseMs: 500,
  retryCapMs: 30_000,
  depth: 100,
  maxPages: Number.POSITIVE_INFINITY,
  maxTimeMs: Number.POSITIVE_INFINITY,
  maxPagesPerHost: Number.POSITIVE_INFINITY,
  scope: 'host',
  include: [],
  exclude: [],
  stripParams: ['utm_*', 'fbclid', 'gclid', 'msclkid'],
  maxBytes: 10 * 1024 * 1024,
  userAgent: 'trawl/0.1.0 (+https://github.com/trawl/trawl)',
  extract: [],
  handlerTimeoutMs: 60_000,
  hostRate: Number.POSITIVE_INFINITY,
  hostBurst: 5,
  hostConcurrency: 8,
  autoThrottle: false,
  ignoreRobots: false,
  sitemaps: [],
  sitemapsAuto: false,
  maxUrlLength: 2048,
  maxRepeatedSegments: 3,
  maxPathDepth: 32,
  maxQueryVariants: 1000,
  stripSessionIds: true,
  allowPrivate: false,
  fresh: false,
  retryFailed: false,
  expect: 1_000_000,
  cookies: true,
  sessions: 1,
  sessionBlockCodes: [401, 403, 429],
  proxyRotation: 'round-robin',
  render: 'off',
  renderWait: { kind: 'settled' },
  renderTimeoutMs: 30_000,
  browsers: 1,
  tabs: 4,
  browserRecycle: 200,
  renderResources: [],
};

// UsageError lives below every layer (usage-error.ts); re-exported here for existing importers.
export { UsageError };

/**
 * Fills defaults and validates every option, throwing a {@link UsageError} that names the
 * first problem. Seeds and sitemaps must be absolute http(s) URLs no longer than
 * `maxUrlLength`; counts must be integers in range; patterns, field specs and the output format
 * must parse; the output and state files must go in existing directories, and the output must be
 * neither the state file nor another crawl's state (see storagePathProblem; the files are looked
 * at, never created or changed); headers, the cookies file, sessions and proxies (the given ones,
 * or else those of HTTP_PROXY / HTTPS_PROXY / NO_PROXY in the environment) as checkSessionOptions
 * says (session-options.ts).
 */
export function resolveOptions(input: Partial<CrawlOptions> & { seeds?: string[] }): CrawlOptions {
  const o: CrawlOptions = { ...DEFAULTS, ...stripUndefined(input), seeds: input.seeds ?? [] };
  if (o.seeds.length === 0 && o.sitemaps.length === 0) throw new UsageError('no start URL given');
  for (const s of [...o.seeds, ...o.sitemaps]) checkHttpUrl(s);
  intIn('workers', o.workers, 1, 10_000);
  intIn('parsers', o.parsers, 0, 64);
  rateIn('rate', o.rate);
  intIn('burst', o.burst, 1, 1_000_000);
  intIn('max-connections', o.maxConnections, 1, 10_000);
  numIn('timeout', o.timeoutMs, 1, 3_600_000);
  numIn('handler-timeout', o.handlerTimeoutMs, 1, 86_400_000);
  intIn('retries', o.retries, 0, 100);
  numIn('retry-base', o.retryBaseMs, 0, 3_600_000);
  numIn('retry-cap', o.retryCapMs, 0, 86_400_000);
  intIn('depth', o.depth, 0, 999);
  countOrInf('max-pages', o.maxPages);
  if (o.maxTimeMs !== Number.POSITIVE_INFINITY) numIn('max-time', o.maxTimeMs, 1, 365 * 86_400_000);
  countOrInf('max-pages-per-host', o.maxPagesPerHost);
  if (!['host', 'domain', 'any'].includes(o.scope)) {
    throw new UsageError(`--scope must be host, domain or any (got ${JSON.stringify(o.scope)})`);
  }
  intIn('max-bytes', o.maxBytes, 1, 2 ** 31);
  rateIn('host-rate', o.hostRate);
  intIn('host-burst', o.hostBurst, 1, 1_000_000);
  intIn('host-concurrency', o.hostConcurrency, 1, 10_000);
  if (typeof o.autoThrottle !== 'boolean') {
    throw new UsageError(`autoThrottle must be true or false (got ${JSON.stringify(o.autoThrottle)})`);
  }
  intIn('max-url-length', o.maxUrlLength, 16, 1_000_000);
  checkUrlLengths(o);
  intIn('max-repeated-segments', o.maxRepeatedSegments, 1, 1000);
  intIn('max-path-depth', o.maxPathDepth, 1, 1000);
  intIn('max-query-variants', o.maxQueryVariants, 1, 100_000_000);
  intIn('expect', o.expect, 1, 10_000_000_000);
  // Patterns, field specs and the output format are checked here, not when the crawl first uses
  // them, so a typo is bad usage (exit 2, nothing fetched) rather than a crash mid-crawl.
  for (const [flag, patterns] of [
    ['include', o.include],
    ['exclude', o.exclude],
  ] as const) {
    for (const p of patterns) usage(flag, () => compilePattern(p));
  }
  usage('extract', () => parseFieldSpecs(o.extract));
  if (o.out !== undefined) usage('out', () => sinkFormatFor(o.out!));
  if (o.retryFailed && (o.out === '-' || o.items === '-')) {
    throw new UsageError(
      '--retry-failed rewrites the output from the state file: it needs --out and --items to be files, not -',
    );
  }
  if (o.items !== undefined) {
    usage('items', () => itemSinkFormatFor(o.items!));
    if (o.scraper === undefined)
      throw new UsageError('--items needs a scraper (items are what its handlers push)');
  }
  if (o.scraper !== undefined && !existsSync(o.scraper))
    throw new UsageError(`scraper ${o.scraper} does not exist`);
  const pathProblem = storagePathProblem({ out: o.out, state: o.state, items: o.items });
  if (pathProblem !== null) throw new UsageError(pathProblem);
  checkArchiveOptions(o);
  if (o.userAgent.trim() === '' || /[\r\n]/.test(o.userAgent)) {
    throw new UsageError('--user-agent must be a non-empty single line');
  }
  if (o.name !== undefined && !/^[A-Za-z0-9._-]{1,100}$/.test(o.name)) {
    throw new UsageError(
      `--name must be 1-100 letters, digits, '.', '_' or '-' (got ${JSON.stringify(o.name)})`,
    );
  }
  // Headers, cookies, sessions and proxies; the cookies file is read here, and a bad proxy in
  // the environment is refused here too, so both stop the crawl before its first request.
  checkSessionOptions(o, process.env);
  checkRenderOptions(o);
  return o;
}

/**
 * Checks the rendering options: the mode, the wait strategy's shape, the pool's sizes and the
 * resource types; with rendering on, finds the Chromium to use (`chromium`, else the system's,
 * render/chromium.ts) and stores its path in `o.chromium`, so a machine without one is refused
 * before any request.
 */
function checkRenderOptions(o: CrawlOptions): void {
  if (!RENDER_MODES.includes(o.render)) {
    throw new UsageError(`--render must be always or auto (got ${JSON.stringify(o.render)})`);
  }
  // A wait given in code (options, a scraper) is checked by the flag's own parser.
  const w = o.renderWait as { kind?: unknown; css?: unknown } | null;
  if (typeof w?.kind !== 'string' || (w.kind === 'selector' && typeof w.css !== 'string')) {
    throw new UsageError(`--render-wait: invalid value ${JSON.stringify(o.renderWait)}`);
  }
  parseRenderWait(formatRenderWait(o.renderWait));
  numIn('render-timeout', o.renderTimeoutMs, 1, 3_600_000);
  intIn('browsers', o.browsers, 1, 64);
  intIn('tabs', o.tabs, 1, 256);
  intIn('browser-recycle', o.browserRecycle, 1, 1_000_000_000);
  parseRenderResources(o.renderResources.join(','));
  if (o.render !== 'off') o.chromium = findChromium(o.chromium);
}

/** The crawl's default name: the first seed's host, made file-name safe. */
export function defaultName(o: Pick<CrawlOptions, 'seeds' | 'sitemaps' | 'name'>): string {
  if (o.name) return o.name;
  const first = o.seeds[0] ?? o.sitemaps[0];
  if (!first) return 'crawl';
  return new URL(first).host.replace(/[^A-Za-z0-9._-]/g, '_');
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

function checkHttpUrl(s: string): void {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new UsageError(`invalid URL: ${JSON.stringify(s)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new UsageError(`not an http(s) URL: ${JSON.stringify(s)}`);
  }
}

/**
 * The crawler-trap length guard applies to the start URLs too: a seed or sitemap longer than
 * `maxUrlLength` (as parsed, the form that would be requested) is refused before any request,
 * with the URL shown cut to 80 characters.
 */
function checkUrlLengths(o: CrawlOptions): void {
  for (const [what, urls] of [
    ['seed', o.seeds],
    ['sitemap', o.sitemaps],
  ] as const) {
    for (const s of urls) {
      const length = new URL(s).href.length;
      if (length > o.maxUrlLength) {
        const shown = s.length > 80 ? `${s.slice(0, 80)}...` : s;
        throw new UsageError(
          `${what} ${JSON.stringify(shown)} is ${length} characters long, over --max-url-length ${o.maxUrlLength}`,
        );
      }
    }
  }
}

/** Runs a validator, turning whatever it throws into a UsageError prefixed with the flag. */
function usage(flag: string, check: () => unknown): void {
  try {
    check();
  } catch (err) {
    throw new UsageError(`--${flag}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function intIn(flag: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max} (got ${v})`);
  }
}

function numIn(flag: string, v: number, min: number, max: number): void {
  if (!Number.isFinite(v) || v < min || v > max) {
    throw new UsageError(`--${flag} must be from ${min} to ${max} ms (got ${v})`);
  }
}

function rateIn(flag: string, v: number): void {
  if (Number.isNaN(v) || v <= 0)
    throw new UsageError(`--${flag} must be a positive number or inf (got ${v})`);
}

function countOrInf(flag: string, v: number): void {
  if (v !== Number.POSITIVE_INFINITY && (!Number.isInteger(v) || v < 1)) {
    throw new UsageError(`--${flag} must be a positive integer (got ${v})`);
  }
}
