import type { Redis } from 'ioredis';
import { sleep } from '../../conc/time.js';
import type { RateGate } from '../crawler.js';
import { LuaScript, withRedisRetry } from './connect.js';
import { crawlKeys } from './keys.js';
import { RATE } from './scripts.js';

const rateScript = new LuaScript(RATE);

/**
 * The crawl's global rate limit shared by every process through Redis: a GCRA (a token bucket of
 * `burst` tokens refilled at `rate` per second) whose state is one Redis key, advanced by an
 * atomic script on Redis' clock. N processes together start at most burst + rate·W requests in
 * any window W (plus the timer jitter of the process that sleeps).
 *
 * `wait` reserves the next slot, then sleeps until it. A reservation is not given back when the
 * wait is aborted (the slot is wasted: the limit errs towards fewer requests). With rate Infinity
 * `wait` resolves at once without touching Redis. Connection loss: `wait` retries until Redis is
 * back or `signal` aborts.
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
    const reply = await withRedisRetry(
      () => rateScript.run(this.#client, [this.#key], [this.#T.toFixed(3), this.#tau.toFixed(3)]),
      signal,
    );
    const ms = Number(reply);
    if (ms > 0) await sleep(ms, signal);
  }
}
