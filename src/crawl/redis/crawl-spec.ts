import type { Redis } from 'ioredis';
import { sleep } from '../../conc/time.js';
import type { RenderMode, RenderWait } from '../render/render-options.js';
import { withRedisRetry } from './connect.js';
import { crawlKeys } from './keys.js';

/**
 * The options every process of a distributed crawl must share: what is in scope, how links are
 * normalized and followed, and the politeness budget. The first process of a crawl writes them;
 * every later one (crawl or worker) adopts them, so one crawl has one budget whatever options a
 * joining machine was started with. Per-process options (workers, connections, timeouts, parsers)
 * stay each process's own. The fields mean what the same-named fields of the crawl's options mean
 * (options.ts; declared here so that this layer does not import the engine's option type: any
 * resolved options object is a CrawlSpec and more).
 */
export interface CrawlSpec {
  seeds: string[];
  sitemaps: string[];
  scope: 'host' | 'domain' | 'any';
  include: string[];
  exclude: string[];
  stripParams: string[];
  stripSessionIds: boolean;
  depth: number;
  extract: string[];
  rate: number;
  burst: number;
  hostRate: number;
  hostBurst: number;
  maxPagesPerHost: number;
  retries: number;
  ignoreRobots: boolean;
  userAgent: string;
  maxUrlLength: number;
  maxRepeatedSegments: number;
  maxPathDepth: number;
  maxQueryVariants: number;
  allowPrivate: boolean;
  /** Whether pages are rendered in Chromium, and when they are read: what every process stores. */
  render: RenderMode;
  renderWait: RenderWait;
}

// A record over every key, so that a field added to CrawlSpec and not here fails to compile.
const SHARED: Record<keyof CrawlSpec, true> = {
  seeds: true,
  sitemaps: true,
  scope: true,
  include: true,
  exclude: true,
  stripParams: true,
  stripSessionIds: true,
  depth: true,
  extract: true,
  rate: true,
  burst: true,
  hostRate: true,
  hostBurst: true,
  maxPagesPerHost: true,
  retries: true,
  ignoreRobots: true,
  userAgent: true,
  maxUrlLength: true,
  maxRepeatedSegments: true,
  maxPathDepth: true,
  maxQueryVariants: true,
  allowPrivate: true,
  render: true,
  renderWait: true,
};

/** The names of the shared options, in a stable order. */
export const SHARED_OPTIONS = Object.keys(SHARED) as readonly (keyof CrawlSpec)[];

function encode(o: CrawlSpec): string {
  return JSON.stringify(o, (_k, v: unknown) => (v === Number.POSITIVE_INFINITY ? 'inf' : v));
}

/** Parses a stored spec (`inf` back to Infinity). */
export function decodeSpec(s: string): CrawlSpec {
  return JSON.parse(s, (_k, v: unknown) => (v === 'inf' ? Number.POSITIVE_INFINITY : v)) as CrawlSpec;
}

/** The shared subset of `o` (resolved crawl options, or any object with the spec's fields). */
export function specOf(o: CrawlSpec): CrawlSpec {
  const out: Record<string, unknown> = {};
  for (const k of SHARED_OPTIONS) out[k] = o[k];
  return out as unknown as CrawlSpec;
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
  return stored ? decodeSpec(stored) : spec;
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
    if (s) return decodeSpec(s);
    if (Date.now() >= deadline) return null;
    await sleep(200, signal);
  }
}

/**
 * The per-host budget of a distributed crawl, enforced crawl-wide by the Redis frontier: the
 * spec's `hostRate`, but never above the global `rate` (by default a host gets the whole global
 * budget), with `hostBurst` when the host rate is the binding one and the smaller of the global
 * `burst` and `hostBurst` otherwise.
 */
export function hostBudget(spec: Pick<CrawlSpec, 'rate' | 'burst' | 'hostRate' | 'hostBurst'>): {
  rate: number;
  burst: number;
} {
  return spec.hostRate <= spec.rate
    ? { rate: spec.hostRate, burst: spec.hostBurst }
    : { rate: spec.rate, burst: Math.min(spec.burst, spec.hostBurst) };
}
