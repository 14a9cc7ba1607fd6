/**
 * Per-host politeness state a frontier keeps for the engine: the robots.txt cache, a pause (e.g.
 * after 429/503 with Retry-After), the backoff level and the robots crawl-delay. Durable in the
 * SQLite frontier (hosts table), so a resumed crawl keeps honouring them. Times are ms since epoch.
 */
export interface HostState {
  /** HTTP status of the robots.txt fetch (null: not fetched; 0: network failure). */
  robotsStatus: number | null;
  /** robots.txt body (null when not fetched or not 2xx). */
  robotsBody: string | null;
  /** When robots.txt was fetched. */
  robotsFetchedAt: number | null;
  /** When the cached robots.txt must be fetched again. */
  robotsExpires: number | null;
  /** `lease` skips the host before this time; 0 = not paused. */
  pausedUntil: number;
  /** Backoff level (0 = none), for exponential backoff after errors. */
  backoff: number;
  /** Crawl-delay from robots.txt in seconds (null = none). */
  crawlDelay: number | null;
}

/** The state of a host nothing has been stored for. */
export const EMPTY_HOST_STATE: Readonly<HostState> = Object.freeze({
  robotsStatus: null,
  robotsBody: null,
  robotsFetchedAt: null,
  robotsExpires: null,
  pausedUntil: 0,
  backoff: 0,
  crawlDelay: null,
});
