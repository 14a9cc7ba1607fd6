/**
 * Faults of the shop test site: the path faults of the demo site ({@link FaultOptions}, applied
 * with the same primitives and in the same order as server.ts) plus seeded picks among the
 * product pages — some answer 500 a few times then 200 ("flaky"), some are slow, some always
 * answer 500 ("broken"). Picks are exact counts (`round(rate × products)`) from one seeded
 * shuffle, so the three sets are disjoint and the same seed always gives the same sets.
 */
import type { ServerResponse } from 'node:http';
import {
  type FaultContext,
  type FaultOptions,
  resetMidBody,
  retryAfterValue,
  send,
  trickle,
} from './faults.js';
import type { ShopCatalog } from './shop-catalog.js';
import { mix, prng } from './site.js';

/** Faults of the shop; everything optional and deterministic. */
export interface ShopFaultOptions extends FaultOptions {
  /**
   * Fraction (0–1) of product pages answering 500 on every request (those products can never
   * be scraped). The demo site applies this rate to its leaf pages; the shop's leaves are its
   * product pages.
   */
  error500Rate?: number;
  /** Fraction (0–1) of product pages answering 500 to their first `flakyTimes` requests, then 200. */
  flakyRate?: number;
  /** How many requests of a flaky product page fail before it succeeds. Default 1. */
  flakyTimes?: number;
  /** Fraction (0–1) of product pages whose response starts only after `slowMs`. */
  slowRate?: number;
  /** Delay of the `slowRate` product pages in ms. Default 200. */
  slowMs?: number;
}

/** Which product pages the seeded product faults hit (URL paths, in catalog order). */
export interface ShopFaultPicks {
  /** Always 500 (`error500Rate`). */
  readonly broken: readonly string[];
  /** 500 for the first `flakyTimes` requests, then 200 (`flakyRate`). */
  readonly flaky: readonly string[];
  /** Delayed by `slowMs` (`slowRate`). */
  readonly slow: readonly string[];
}

/** A ready-to-apply fault plan. */
export interface ShopFaultPlan {
  readonly picks: ShopFaultPicks;
  /** Human summary of the active faults, e.g. `3 flaky product pages (500 ×1), ...`; empty when none. */
  readonly summary: readonly string[];
  /**
   * Applies the faults of `path` (no query): either answers the request itself (reset, 500,
   * flaky 500, 429, 503) and returns, or calls `serve(deliver)` — at once or after the slow
   * delay — where `deliver` sends the normal response, trickled when the path is a trickle path.
   * `ctx.hits(path)` must already count this request.
   */
  apply(
    ctx: FaultContext,
    res: ServerResponse,
    path: string,
    serve: (deliver: (status: number, type: string, body: Buffer) => void) => void,
  ): void;
}

const clampRate = (r: number | undefined): number => Math.min(1, Math.max(0, r ?? 0));

/** Builds the plan for `faults` over `catalog`'s product pages. */
export function planShopFaults(catalog: ShopCatalog, faults: ShopFaultOptions = {}): ShopFaultPlan {
  const n = catalog.products.length;
  const rnd = prng(mix(catalog.seed, 0xfa17, 3));
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  let at = 0;
  const take = (rate: number | undefined): string[] => {
    const k = Math.min(n - at, Math.round(clampRate(rate) * n));
    const picked = order.slice(at, at + k).sort((a, b) => a - b);
    at += k;
    return picked.map((i) => catalog.products[i]!.path);
  };
  const picks: ShopFaultPicks = {
    broken: take(faults.error500Rate),
    flaky: take(faults.flakyRate),
    slow: take(faults.slowRate),
  };
  const flakyTimes = Math.max(1, Math.floor(faults.flakyTimes ?? 1));
  const slowMs = Math.max(0, faults.slowMs ?? 200);

  const setOf = (xs: readonly string[] | undefined): Set<string> => new Set(xs ?? []);
  const resets = setOf(faults.reset?.paths);
  const error500 = new Set([...(faults.error500Paths ?? []), ...picks.broken]);
  const flaky = new Set(picks.flaky);
  const tooMany = setOf(faults.tooManyRequests?.paths);
  const unavailable = setOf(faults.unavailable?.paths);
  const slow = new Map<string, number>(picks.slow.map((p) => [p, slowMs]));
  for (const p of faults.slow?.paths ?? []) slow.set(p, faults.slow?.delayMs ?? 10_000);
  const trickled = setOf(faults.trickle?.paths);

  const summary: string[] = [];
  if (picks.broken.length > 0) summary.push(`${picks.broken.length} product pages answer 500`);
  if (flaky.size > 0) summary.push(`${flaky.size} flaky product pages (500 ×${flakyTimes}, then 200)`);
  if (picks.slow.length > 0) summary.push(`${picks.slow.length} slow product pages (${slowMs} ms)`);
  if (error500.size > picks.broken.length) summary.push(`${error500.size - picks.broken.length} 500 paths`);
  if (tooMany.size > 0) summary.push(`429 on ${tooMany.size} paths`);
  if (unavailable.size > 0) summary.push(`503 on ${unavailable.size} paths`);
  if (faults.slow !== undefined && faults.slow.paths.length > 0)
    summary.push(`${faults.slow.paths.length} slow paths`);
  if (trickled.size > 0) summary.push(`${trickled.size} trickled paths`);
  if (resets.size > 0) summary.push(`${resets.size} reset paths`);

  const htmlType = 'text/html; charset=utf-8';
  const errorBody = (status: number, text: string): string =>
    `<!doctype html>\n<html><head><title>${status}</title></head><body><p>${text}</p></body></html>\n`;

  return {
    picks,
    summary,
    apply(ctx, res, path, serve) {
      if (resets.has(path)) return resetMidBody(res);
      if (error500.has(path) || (flaky.has(path) && ctx.hits(path) <= flakyTimes)) {
        return send(res, 500, htmlType, errorBody(500, 'Internal Server Error'));
      }
      for (const [set, fault, status] of [
        [tooMany, faults.tooManyRequests, 429],
        [unavailable, faults.unavailable, 503],
      ] as const) {
        if (set.has(path) && fault !== undefined && ctx.hits(path) <= (fault.times ?? 1)) {
          return send(res, status, htmlType, errorBody(status, 'Try again later'), {
            'retry-after': retryAfterValue(fault.retryAfter ?? 1),
          });
        }
      }
      const deliver = (status: number, type: string, body: Buffer): void => {
        if (trickled.has(path)) trickle(ctx, res, type, body, faults.trickle?.intervalMs ?? 100);
        else send(res, status, type, body);
      };
      const delay = slow.get(path);
      if (delay !== undefined) {
        ctx.later(() => {
          if (!res.destroyed) serve(deliver);
        }, delay);
        return;
      }
      serve(deliver);
    },
  };
}
