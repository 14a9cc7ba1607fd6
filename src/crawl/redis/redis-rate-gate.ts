import type { Redis } from 'ioredis';
import { sleep } from '../../conc/time.js';
import type { RateGate } from '../politeness/rate-gate.js';
import { LuaScript, withRedisRetry } from './connect.js';
import { crawlKeys } from './keys.js';
import { RATE } from './scripts.js';

const rateScript = new LuaScript(RATE);

/**
 * How late (ms) a process may act on its slot. A process that stalls (CPU starvation, a GC pause,
 * a lost connection) between reserving a slot and using it would otherwise send all its overdue
 * requests at once, on top of the other processes' on-time ones: the server would see the rate
 * exceeded by every request the stalled process had reserved.
 */
export const STALE_SLOT_MS = 20;
/**
 * Stale slots given up in a row before a wait goes ahead anyway: a process so loaded that it is
 * always late must not burn the crawl's whole budget on slots it cannot use.
 */
export const MAX_STALE_SLOTS = 3;

/**
 * The crawl's global rate limit shared by every process through Redis: a GCRA (a token bucket of
 * `burst` tokens refilled at `rate` per second) whose state is one Redis key, advanced by an
 * atomic script on Redis' clock. N processes together start at most burst + rate·W requests in
 * any window W (plus the timer jitter of the process that sleeps).
 *
 * `wait` reserves the next slot, then sleeps until it. If this process acts on the slot more
 * than {@link STALE_SLOT_MS} after it (measured from when the reservation was asked for, so a
 * stall anywhere in between counts), the slot is given up and a new one reserved, up to
 * {@link MAX_STALE_SLOTS} times in a row; so the bound holds at the server within that lateness
 * however the processes are scheduled. A reservation is not given back when the wait is aborted
 * or the slot went stale (the slot is wasted: the limit errs towards fewer requests). With rate
 * Infinity `wait` resolves at once without touching Redis. Connection loss: `wait` retries until
 * Redis is back or `signal` aborts.
 */
export class RedisRateGate implements RateGate {
  readonly #client: Redis;
  readonly #key: string;
  readonly #T: number;
  readonly #tau: number;

  constructor(client: Redis, opts: { name: string; rate: number; burst: number }) {
    this.#client = client;
    this.#key = crawlKeys(opts.name).rate;
    this.#T = Number.isFinite(opts.rate) && opts.rate > 0 ? 1000 / opts.rate : 0;
    this.#tau = (Math.max(1, opts.burst) - 1) * this.#T;
  }

  /** Waits for one slot of the crawl-wide budget; rejects with `signal.reason` if it aborts first. */
  async wait(signal?: AbortSignal): Promise<void> {
    if (this.#T === 0) return;
    for (let stale = 0; ; stale++) {
      const asked = performance.now();
      const reply = await withRedisRetry(
        () => rateScript.run(this.#client, [this.#key], [this.#T.toFixed(3), this.#tau.toFixed(3)]),
        signal,
      );
      const ms = Number(reply);
      if (ms > 0) await sleep(ms, signal);
      // Redis ran the script after `asked`: the slot was at `asked + ms` or later, so this is
      // at most how late we are.
      const late = performance.now() - (asked + ms);
      if (late <= STALE_SLOT_MS || stale >= MAX_STALE_SLOTS) return;
    }
  }
}
