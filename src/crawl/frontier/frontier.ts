import type { Item, PageRecord } from '../record.js';
import type { SinkMark } from '../store/sink.js';

/** A WARC output's committed mark, and every WARC file written so far when that list changed. */
export interface WarcCommit extends SinkMark {
  files?: readonly string[];
  /** Where the batch's records start in `path` (they end at `offset`). */
  start?: number;
}

/** A value, or a promise of it: the memory and SQLite frontiers answer synchronously, Redis doesn't. */
export type MaybePromise<T> = T | Promise<T>;

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
  /**
   * Times this request was answered with a session block code and retried on another session
   * (engine/fetch-step.ts); kept while the retry is held in this process, not in the state.
   */
  blocks?: number;
  /** Times a proxy failed this request before the target was reached (in-process, like `blocks`). */
  proxyFailures?: number;
  /**
   * `--render auto`: the scraper's handler found nothing on this page's plain response, so this
   * attempt is rendered (in-process, like `blocks`: after a crash the page is fetched plain again).
   */
  renderAgain?: true;
  /** `<lastmod>` of the sitemap entry that listed it. */
  lastmod?: string | null;
  /**
   * The frontier's identity of this request when it is not `url` (a POST, or a scraper's own
   * `uniqueKey`); absent for a plain GET deduplicated by its URL. Read it with {@link itemKey}.
   */
  key?: string;
  /** What a scraper asked for beyond a plain GET of `url` (method, body, label...); absent for a plain link. */
  request?: RequestSpec;
  /**
   * A recrawl (--recrawl): the page as it was last fetched, for the conditional request and the
   * change check. Absent for a page never fetched before (a `new` one).
   */
  prior?: PriorFetch;
}

/** What a page looked like when it was last fetched (see FrontierItem.prior). */
export interface PriorFetch extends PageVersion {
  /** When it was fetched (ms since epoch). */
  fetchedAt: number;
  /** Its record then, as JSON (an unchanged page's new record is this one, refreshed). */
  record: string;
  /** Whether that record was a failure, when the frontier read it with the record (else unknown). */
  failed?: boolean;
}

/** What a recrawl compares: a page's validators and content as fetched. */
export interface PageVersion {
  /** The final response's ETag header, or null. */
  etag: string | null;
  /** The final response's Last-Modified header, or null. */
  lastModified: string | null;
  /** Base64 SHA-1 of the decompressed body, or null when no body was kept. */
  hash: string | null;
  /** --recrawl-after auto: the page's current interval in ms, or null when none was set. */
  intervalMs: number | null;
  /** With --warc: the WARC-Record-ID of the response record holding this content, or null. */
  captureId?: string | null;
  /** With --warc: that record's WARC-Date, ms since epoch, or null. */
  capturedAt?: number | null;
}

/**
 * A request as a scraper enqueued it, beyond its URL. Kept with the item in the frontier (and
 * the state file), so a resumed or distributed crawl sends the same request to the same handler.
 */
export interface RequestSpec {
  /** HTTP method, upper case; absent = GET. */
  method?: string;
  /** Extra request headers (override trawl's defaults, names matched case-insensitively). */
  headers?: Record<string, string>;
  /** The request body (form or JSON text); only with a method other than GET/HEAD. */
  body?: string;
  /** The handler that gets the response; absent = `default`. */
  label?: string;
  /** JSON-serializable data the handler sees as `request.userData`. */
  userData?: Record<string, unknown>;
}

export type { Item } from '../record.js';

/** The frontier's identity of an item: its `key`, or its URL when it has none. */
export function itemKey(item: Pick<FrontierItem, 'url' | 'key'>): string {
  return item.key ?? item.url;
}

/** One finished URL: its record, and the links it discovered that should be enqueued. */
export interface Completion {
  item: FrontierItem;
  record: PageRecord;
  /** Discovered links (already normalized, scoped and depth-checked); dedup happens in the frontier. */
  links: FrontierItem[];
  /**
   * The items the page's handler pushed (absent or empty for none). Stored with the completion,
   * in the same atomic step, so a page's items exist exactly when the page is done.
   */
  items?: Item[];
  /** The page's validators and content hash as fetched now (kept by a durable frontier for recrawls). */
  version?: PageVersion;
  /**
   * With WARC output: the WARC-Record-IDs of the page's response (or revisit) records in this
   * batch, one per fetch (each request record names its response's id in WARC-Concurrent-To).
   */
  warcIds?: string[];
  /**
   * A recrawl found the page unchanged (304, or the same body): its earlier scraped items stay as
   * they are (`items` is ignored) and `record` replaces the earlier record.
   */
  unchanged?: true;
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
  /** Scraped items stored with completions (see Completion.items). */
  items: number;
}

/**
 * The crawl's to-do list and its memory of what it has seen. Implementations: in memory
 * (memory-frontier.ts), SQLite (state/sqlite-frontier.ts, resumable), Redis (distributed).
 * Every method is required; what a frontier cannot know is answered as documented below. What
 * only some frontiers can do is a capability of its own ({@link PausesHosts},
 * {@link SchedulesHosts}, {@link RequeuesFailed}, {@link KeepsSessions}), tested with its type guard.
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
   * Leases up to `max` queued items whose `notBefore` ≤ `now` and whose host may go at `now`,
   * rotating across hosts so one host's backlog can't starve the others; [] when none can go.
   * `readyAt(host)` says when the host may go: at once for an answer ≤ `now`; not before a
   * finite answer > `now`; only after an event for Infinity (or NaN). Implementations call it at
   * most once per host per call, in any order, and may skip it for hosts they know cannot go —
   * including, in later calls, a host that answered a time until `now` reaches that time, and
   * one that answered Infinity until {@link wake} names it: the caller must report every event
   * that can let a host go sooner than it said. `readyAt` must have no side effect (a host that
   * may go may receive several items when few hosts have work).
   */
  lease(max: number, now: number, readyAt: (host: string) => number): MaybePromise<FrontierItem[]>;
  /**
   * Reports an event that may let `host` go sooner than its last `readyAt` answer said (a request
   * of it finished, its robots.txt settled, its concurrency cap grew): a frontier that set the
   * host aside until an event looks at it again in the next lease. Returns whether it did; false
   * (a no-op) for a host it does not know or did not set aside, and always for a frontier that
   * asks `readyAt` afresh in every lease (Redis).
   */
  wake(host: string): boolean;
  /**
   * The hosts set aside until {@link wake} (for the engine's missed-wake check: with nothing in
   * flight none should be left); [] for a frontier that sets none aside. O(hosts returned).
   */
  blockedHosts(): string[];
  /**
   * When queued work may next be leased by time alone: the earliest `notBefore` among queued
   * items, or 0 when some may go now. A frontier that sets hosts aside ({@link hostTimes}) counts
   * a host's queued items from the time the host comes back, and not at all while it waits for
   * {@link wake}. Undefined when nothing is queued (or all of it waits for a wake).
   */
  nextDueAt(): number | undefined;
  /**
   * True for a frontier whose {@link nextDueAt} already covers its hosts' own times (the times
   * `readyAt` answered), so an idle engine need not ask every host when it may go; absent for
   * one that asks `readyAt` afresh in every lease (Redis).
   */
  readonly hostTimes?: true;
  /** Returns a leased item to the queue (for a retry, or unprocessed at shutdown). */
  release(item: FrontierItem, notBefore?: number): MaybePromise<void>;
  /**
   * Records a batch of finished items atomically; returns how many new links were enqueued.
   * `sinkMark` (the mark `sink.write` returned for this batch's records) is stored by a durable
   * frontier in the same transaction, so a resumed crawl cuts its output back to it (exactly-once
   * output); a non-durable frontier ignores it. `itemsMark` is the same for the items output
   * (--items), which `openStorage` reads back with {@link sinkMark}-like care on resume, and
   * `warcMark` for the WARC output (with `files`, the WARC file list to remember, when it changed).
   */
  complete(
    batch: readonly Completion[],
    sinkMark?: SinkMark,
    itemsMark?: SinkMark,
    warcMark?: WarcCommit,
  ): MaybePromise<number>;
  /**
   * Whether `url` was ever accepted by this crawl, answered synchronously (used to refuse a
   * redirect hop into an already-crawled URL). A frontier that cannot know at once (Redis)
   * answers false: the hop is then followed and its target deduplicated by `add` as usual.
   */
  has(url: string): boolean;
  /** Queued/leased/done counts (a shared frontier may answer from a recent cache). */
  stats(): FrontierStats;
  /**
   * True when no work is left anywhere: nothing queued and no live lease held by any process.
   * The engine asks only once its own ledger is empty. A local frontier answers from its own
   * counts (`queued === 0 && leased === 0`); a shared one asks every process's state.
   */
  drained(): MaybePromise<boolean>;
  /**
   * Flushes and releases resources; leased items stay leased in a durable store (they come back
   * on reopen). Idempotent. May be async (Redis).
   */
  close(): MaybePromise<void>;
}

/** A frontier that can keep a host paused (Retry-After, 429/503 backoff) itself. */
export interface PausesHosts {
  /**
   * `lease` skips `host` while `now < until` (without asking `readyAt`); 0 unpauses. A durable
   * frontier keeps the pause across a resume (SQLite: the hosts table); a shared one across
   * processes (Redis).
   */
  pauseHost(host: string, until: number): MaybePromise<void>;
}

/** A frontier that schedules hosts itself (crawl-wide per-host rate: Redis). */
export interface SchedulesHosts extends PausesHosts {
  /** Sets the minimum spacing between two requests to a host (robots.txt Crawl-delay). */
  setHostInterval(host: string, intervalMs: number): MaybePromise<void>;
}

/** A frontier that can put its failed URLs back in the queue (--retry-failed). */
export interface RequeuesFailed {
  /** Puts every failed URL back in the queue and forgets its record; returns how many. */
  requeueFailed(): number;
}

/**
 * One session of the crawl as a durable frontier keeps it (the fetch layer's `SessionSnapshot`,
 * structurally identical, declared here so frontier/ does not depend on fetch/). `cookies` is the
 * session's cookie jar as JSON (a secret: never printed), `proxy` the index of its proxy.
 */
export interface StoredSession {
  id: string;
  cookies: string | null;
  proxy: number | null;
  retired: boolean;
  loggedIn: boolean;
  requests: number;
}

/** A frontier that keeps the crawl's sessions (SQLite: the state file; Redis: the shared crawl). */
export interface KeepsSessions {
  /** The sessions of the last completed save, in the order they were saved; [] when none. */
  loadSessions(): Promise<StoredSession[]>;
  /**
   * Replaces the stored sessions with `list` atomically (all of it or nothing); durable when the
   * promise resolves. Rejects on duplicate ids, storing nothing.
   */
  saveSessions(list: readonly StoredSession[]): Promise<void>;
}

/** Whether `f` can pause hosts itself. */
export function pausesHosts(f: Frontier): f is Frontier & PausesHosts {
  return typeof (f as Partial<PausesHosts>).pauseHost === 'function';
}

/** Whether `f` schedules hosts itself (and so wants robots.txt Crawl-delay). */
export function schedulesHosts(f: Frontier): f is Frontier & SchedulesHosts {
  return pausesHosts(f) && typeof (f as Partial<SchedulesHosts>).setHostInterval === 'function';
}

/** A frontier that can crawl its done pages again (SQLite: the state file; Redis: the shared crawl). */
export interface Recrawls {
  /** Requeues done items whose sitemap lastmod is later than their fetch; returns how many. */
  requeueModified(entries: readonly { key: string; lastmod: string }[]): MaybePromise<number>;
}

/** True when the frontier can recrawl (see Recrawls). */
export function recrawls(f: Frontier): f is Frontier & Recrawls {
  return typeof (f as Partial<Recrawls>).requeueModified === 'function';
}

/** Whether `f` can requeue its failed URLs. */
export function requeuesFailed(f: Frontier): f is Frontier & RequeuesFailed {
  return typeof (f as Partial<RequeuesFailed>).requeueFailed === 'function';
}

/** Whether `f` keeps the crawl's sessions (crash-safe or shared logins). */
export function keepsSessions(f: Frontier): f is Frontier & KeepsSessions {
  const k = f as Partial<KeepsSessions>;
  return typeof k.loadSessions === 'function' && typeof k.saveSessions === 'function';
}
