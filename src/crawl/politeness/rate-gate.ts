/**
 * The global rate limit as the crawl uses it: a local `Limiter` (conc/rate.ts) or one shared by
 * every process through Redis (redis/redis-rate-gate.ts). Lives below the engine so that the
 * Redis layer can implement it without importing the crawler.
 */
export interface RateGate {
  /**
   * Waits for one token; rejects if `signal` aborts first, or at once with a
   * `LimiterDeadlineError` when the token would come after the signal's deadline.
   */
  wait(signal?: AbortSignal): Promise<void>;
}
