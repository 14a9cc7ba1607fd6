import type { Redis } from 'ioredis';
import { sleep } from '../../conc/time.js';
import type { CrawlOptions } from '../options.js';
import { withRedisRetry } from './connect.js';
import { crawlKeys } from './keys.js';

/**
 * The options every process of a distributed crawl must share: what is in scope, how links are
 * normalized and followed, and the politeness budget. The first `trawl crawl --redis` of a crawl
 * writes them; every later process (crawl or worker) adopts them, so one crawl has one budget
 * whatever flags a joining machine was started with. Per-process options (workers, connections,
 * timeouts, parsers) stay each process's own.
 */
export const SHARED_OPTIONS = [
  'seeds',
  'sitemaps',
  'scope',
  'include',
  'exclude',
  'stripParams',
  'stripSessionIds',
  'depth',
  'extract',
  'rate',
  'burst',
  'hostRate',
  'hostBurst',
  'maxPagesPerHost',
  'retries',
  'ignoreRobots',
  'userAgent',
  'maxUrlLength',
  'maxRepeatedSegments',
  'maxPathDepth',
  'maxQueryVariants',
  'allowPrivate',
] as const satisfies readonly (keyof CrawlOptions)[];

/** The shared options of a crawl, as stored in its `spec` key. */
export type CrawlSpec = Pick<CrawlOptions, (typeof SHARED_OPTIONS)[number]>;

function encode(o: CrawlSpec): string {
  return JSON.stringify(o, (_k, v: unknown) => (v === Number.POSITIVE_INFINITY ? 'inf' : v));
}

function decode(s: string): CrawlSpec {
  return JSON.parse(s, (_k, v: unknown) => (v === 'inf' ? Number.POSITIVE_INFINITY : v)) as CrawlSpec;
}

/** The shared subset of resolved options `o`. */
export function specOf(o: CrawlOptions): CrawlSpec {
  const out: Record<string, unknown> = {};
  for (const k of SHARED_OPTIONS) out[k] = o[k];
  return out as CrawlSpec;
}

/**
 * Stores `spec` as crawl `name`'s shared options unless the crawl already has some (SET NX), and
 * returns the options in force — the stored ones when another process created the crawl first.
 */
export async function publishSpec(
  client: Redis,
  name: string,
  spec: CrawlSpec,
  signal?: AbortSignal,
): Promise<CrawlSpec> {
  const key = crawlKeys(name).spec;
  const stored = await withRedisRetry(async () => {
    await client.set(key, encode(spec), 'NX');
    return client.get(key);
  }, signal);
  return stored ? decode(stored) : spec;
}

/**
 * Reads crawl `name`'s shared options, waiting (polling every 200 ms) up to `waitMs` for a
 * `trawl crawl --redis` to create the crawl; resolves null if none did in time.
 */
export async function loadSpec(
  client: Redis,
  name: string,
  waitMs: number,
  signal?: AbortSignal,
): Promise<CrawlSpec | null> {
  const key = crawlKeys(name).spec;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const s = await withRedisRetry(() => client.get(key), signal);
    if (s) return decode(s);
    if (Date.now() >= deadline) return null;
    await sleep(200, signal);
  }
}
