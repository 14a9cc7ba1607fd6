import type { PageRecord } from '../record.js';
import type { SinkMark } from '../store/sink.js';

/** A value, or a promise of it: the memory and SQLite frontiers answer synchronously, Redis doesn't. */
export type MaybePromise<T> = T | Promise<T>;

import type { HostState } from './host-state.js';

/** A URL waiting in (or leased from) the frontier. */
export interface FrontierItem {
  /** Normalized absolute URL; the frontier's identity key. */
  url: string;
  /** Politeness key: hostname[:port] (see hostKey in url/normalize.ts). */
  host: string;
  /** Link depth from the seeds (seeds are 0). */
  depth: number;
  /** The page that linked here; null for seeds and sitemap entries. */
  referrer: string | null;
  /** Requests already made for this URL in earlier attempts (0 for a fresh URL). */
  attempts: number;
  /** Earliest time (ms since epoch) this item may be leased; 0 = now. */
  notBefore?: number;
  /** `<lastmod>` of the sitemap entry that listed it. */
  lastmod?: string | null;
}

/** One finished URL: its record, and the links it discovered that should be enqueued. */
export interface Completion {
  item: FrontierItem;
  record: PageRecord;
  /** Discovered links (already normalized, scoped and depth-checked); dedup happens in the frontier. */
  links: FrontierItem[];
}

/** Progress counters of a frontier. */
export interface FrontierStats {
  /** Waiting to be leased (including those whose notBefore is in the future). */
  queued: number;
  /** Leased and not yet completed or released. */
  leased: number;
  /** Completed with a record (ok or failed). */
  done: number;
  /** Completed with a record whose `error` is set. */
  failed: number;
  /** Distinct URLs ever accepted (the seen set's size). */
  seen: number;
}

/**
 * The crawl's to-do list and its memory of what it has seen. Implementations: in memory
 * (memory-frontier.ts), SQLite (state/sqlite-frontier.ts, resumable), Redis (distributed).
 *
 * Contract:
 * - `add` and `complete` deduplicate: a URL is accepted at most once per crawl, whatever path
 *   it arrives by (seed, sitemap, link, redirect target).
 * - `lease` hands out each queued URL to one caller; a leased URL is invisible to other leases
 *   until `complete`d or `release`d. Leases on a durable frontier that were never completed
 *   (a crash) come back as queued when the frontier is reopened.
 * - `complete` is atomic: the records, the done marks and the new links of a batch become
 *   durable together or not at all, so a crash never loses a discovered link and never stores
 *   a record twice.
 */
export interface Frontier {
  /** Enqueues URLs not seen before; returns how many were new. */
  add(items: readonly FrontierItem[]): MaybePromise<number>;
  /**
   * Leases up to `max` queued items whose `notBefore` ≤ `now` and whose host passes `ready`,
   * rotating across hosts so one host's backlog can't starve the others; [] when none can go.
   * Implementations call `ready` at most once per host per call, so it must be a pure predicate
   * (a host that passes may receive several items when few hosts have work).
   */
  lease(max: number, now: number, ready: (host: string) => boolean): MaybePromise<FrontierItem[]>;
  /** The earliest `notBefore` among queued items, or undefined when nothing is queued. */
  nextDueAt(): number | undefined;
  /** Returns a leased item to the queue (for a retry, or unprocessed at shutdown). */
  release(item: FrontierItem, notBefore?: number): MaybePromise<void>;
  /**
   * Records a batch of finished items atomically; returns how many new links were enqueued.
   * `sinkMark` (the mark `sink.write` returned for this batch's records) is stored by a durable
   * frontier in the same transaction, so a resumed crawl cuts its output back to it (exactly-once
   * output); a non-durable frontier ignores it.
   */
  complete(batch: readonly Completion[], sinkMark?: SinkMark): MaybePromise<number>;
  /**
   * Whether `url` was ever accepted by this crawl, answered synchronously (used to refuse a
   * redirect hop into an already-crawled URL). Optional: a shared frontier may not know at once.
   */
  has?(url: string): boolean;
  /** Queued/leased/done counts (a shared frontier may answer from a recent cache). */
  stats(): FrontierStats;
  /**
   * For a frontier shared by several processes: true when the crawl is finished everywhere
   * (nothing queued, no live lease in any process). Local frontiers don't implement it: the
   * engine's own in-flight count and `stats()` decide.
   */
  drained?(): Promise<boolean>;
  /**
   * Pauses a host until `until` (Retry-After, 429 backoff) in the frontier itself, so a durable
   * or shared frontier keeps the pause across restarts and processes. Optional.
   */
  pauseHost?(host: string, until: number): MaybePromise<void>;
  /**
   * Sets the minimum spacing between two requests to a host (robots.txt Crawl-delay, the
   * per-host rate) for frontiers that schedule hosts themselves (Redis). Optional.
   */
  setHostInterval?(host: string, intervalMs: number): MaybePromise<void>;
  /** Flushes and releases resources; leased items stay leased in a durable store (they come back on reopen). */
  close(): void;
  /** Politeness state of a host (robots cache, pause, backoff), or undefined if none was stored. */
  getHostState?(host: string): HostState | undefined;
  /** Merges `patch` into a host's politeness state (durable in a durable frontier). */
  setHostState?(host: string, patch: Partial<HostState>): void;
  /** Puts every failed URL back in the queue and forgets its record (for --retry-failed); returns how many. */
  requeueFailed?(): number;
}
