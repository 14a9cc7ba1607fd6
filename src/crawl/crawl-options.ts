import type { Clock } from '../conc/clock.js';
import type { Item, PageRecord } from './record.js';
import type { RenderMode, RenderResource, RenderWait } from './render/render-options.js';

// The shape of a crawl's options, apart from their defaults and checks (options.ts), so that the
// lower folders (parse/, for a scraper's `options`) can name it without importing the engine.

/** A user-supplied extraction hook: extra fields for a page's record. */
export type ExtractHook = (page: {
  url: string;
  finalUrl: string;
  status: number;
  html: string;
  title: string | null;
}) => Record<string, unknown> | undefined;

/** Everything a crawl can be told. Every field has a default; see {@link DEFAULTS}. */
export interface CrawlOptions {
  /** Start URLs (depth 0). At least one seed or sitemap is required. */
  seeds: string[];
  /** Crawl name: keys the state file and the Redis keys. Default: the first seed's host. */
  name?: string;
  /** Fetch workers (the seed's worker pool). */
  workers: number;
  /** Parse worker threads; 0 parses on the main thread. */
  parsers: number;
  /** Global requests per second (Infinity lifts the limit). */
  rate: number;
  /** Global token-bucket burst. */
  burst: number;
  /** Cap on open HTTP connections (Weighted semaphore and undici pool). */
  maxConnections: number;
  /** Per-request timeout in ms, covering connect, headers and the whole body. */
  timeoutMs: number;
  /** Retries after the first attempt for retryable failures. */
  retries: number;
  /** Base of the exponential retry backoff with full jitter, ms (the wait is random in [0, min(cap, base·2^(n-1)))). */
  retryBaseMs: number;
  /** Cap of the retry backoff, ms. */
  retryCapMs: number;
  /** Maximum link depth followed (seeds are 0). */
  depth: number;
  /** Stop after this many records are stored (Infinity: no limit). */
  maxPages: number;
  /**
   * The crawl's deadline, ms from its start (Infinity: none). At the deadline the crawl stops as
   * on a first SIGINT; a request whose rate-limit token would come after it is not started.
   */
  maxTimeMs: number;
  /** Per-host page budget (Infinity: no limit). */
  maxPagesPerHost: number;
  /** Which links are in scope. */
  scope: 'host' | 'domain' | 'any';
  include: string[];
  exclude: string[];
  /** Query parameters removed during normalization (globs with `*`). */
  stripParams: string[];
  /** Body cap in bytes, after decompression. */
  maxBytes: number;
  userAgent: string;
  /** Output file; format by extension (.jsonl, .csv, .sqlite). Undefined: no file. */
  out?: string;
  /** `name=css-selector[@attr]` field specs. */
  extract: string[];
  /** Library hook computing extra fields. */
  extractFn?: ExtractHook;
  /**
   * Path of a scraper module (`defineScraper` default export): its handlers run on every fetched
   * HTML page instead of the built-in link following (each parse thread imports the module; with
   * `parsers: 0` they run on the main thread). Undefined: a plain crawl.
   */
  scraper?: string;
  /** How long a scraper's handler may run on one page before that attempt fails (ms). */
  handlerTimeoutMs: number;
  /** Items output (the scraper's `push`): .jsonl/.ndjson, .csv, .sqlite/.sqlite3/.db, or '-' for stdout. */
  items?: string;
  /** Called with each item once its page is stored (the library's items path). */
  onItem?: (item: Item, page: PageRecord) => void;
  /** Per-host politeness. */
  hostRate: number;
  hostBurst: number;
  hostConcurrency: number;
  /**
   * Server-aware per-host throttle (`--auto-throttle`): each host's concurrency starts at 1 and
   * is adapted, up to `hostConcurrency`, to what the server takes — additive increase while its
   * latency stays near its base, multiplicative decrease on 429/503 or on latency well above
   * base, a delay between requests only once down to 1 (politeness/auto-throttle.ts). A 429/503
   * then pauses the host only for its Retry-After, and the page is retried after its Retry-After
   * or its own backoff. Default false: the fixed cap, halved per overload, with backoff pauses.
   */
  autoThrottle: boolean;
  /** Ignore robots.txt entirely. */
  ignoreRobots: boolean;
  /** Extra sitemap URLs to seed from. */
  sitemaps: string[];
  /** Also seed from the `Sitemap:` lines of each seed host's robots.txt. */
  sitemapsAuto: boolean;
  /** Crawler-trap guards. */
  maxUrlLength: number;
  maxRepeatedSegments: number;
  maxPathDepth: number;
  maxQueryVariants: number;
  /**
   * Remove session ids (`;jsessionid=`, `PHPSESSID`, ASP.NET `(S(...))`...) from every URL, see
   * stripSessionIds in url/normalize.ts. A crawler-trap guard: default true.
   */
  stripSessionIds: boolean;
  /**
   * Extra request headers sent with every request (`--header 'Name: value'`), after trawl's
   * browser-like defaults, which they replace by name (case-insensitively). Names must be HTTP
   * tokens, each given once; values one line of Latin-1 text. Refused: `Host`, `Content-Length`,
   * `Transfer-Encoding`, `Connection`, `Keep-Alive`, `Upgrade`, `Expect` (the HTTP client owns
   * them) and `User-Agent` (use `userAgent`, also the robots.txt token). Default: none.
   */
  headers?: Record<string, string>;
  /** Keep an RFC 6265 cookie jar per session (`--no-cookies` sets false). Default: true. */
  cookies?: boolean;
  /**
   * A Netscape `cookies.txt` (`--cookies FILE`) imported into every session's jar; read and
   * checked before the crawl starts. Contradicts `cookies: false`. Default: none.
   */
  cookieFile?: string;
  /**
   * Identities (`--sessions N`), each with its own cookie jar and, with proxies, its own proxy; a
   * blocked session is retired and replaced. A positive integer. Default: 1.
   */
  sessions?: number;
  /**
   * Response statuses that mean the session is blocked (`--session-block-codes`): the session is
   * retired and the page retried on another. Integers 100-599; empty: never by status.
   * Default: [401, 403, 429].
   */
  sessionBlockCodes?: number[];
  /**
   * Proxy URLs (`--proxy URL`, repeatable): `http://`, `https://` or `socks5://`, optionally with
   * `user:pass@`. Every request, loopback included, goes through one of them. Default: none
   * (then HTTP_PROXY / HTTPS_PROXY / NO_PROXY from the environment apply).
   */
  proxies?: string[];
  /**
   * How requests are spread over `proxies` (`--proxy-rotation`): `round-robin` (each request the
   * next proxy that is up) or `session` (each session keeps its proxy). Default: round-robin.
   */
  proxyRotation?: 'round-robin' | 'session';
  /**
   * Render pages in Chromium (`--render [auto]`): `always` loads every GET page in the browser,
   * once, with no plain fetch first; `auto` fetches plain first and renders only the pages that
   * need it (app shells); `off` never. Requests that are not GETs (a scraper's form POST) are
   * always fetched plain. Default: off.
   */
  render: RenderMode;
  /** When a rendered page is read (`--render-wait`); see RenderWait. Default: settled. */
  renderWait: RenderWait;
  /** Deadline of one page's render, navigation and wait included, in ms (`--render-timeout`). Default: 30 s. */
  renderTimeoutMs: number;
  /** Chromium processes (`--browsers`). Default: 1. */
  browsers: number;
  /** Concurrent pages per Chromium process (`--tabs`). Default: 4. */
  tabs: number;
  /** Pages a Chromium process renders before it is replaced by a fresh one (`--browser-recycle`). Default: 200. */
  browserRecycle: number;
  /** Resource types a rendered page may load (`--render-resources`); the others are blocked. Default: none. */
  renderResources: RenderResource[];
  /** The Chromium executable (`--chromium PATH`). Default: the system Chromium (render/chromium.ts). */
  chromium?: string;
  /** Allow hosts on loopback/private/link-local addresses even when the seeds are not on one. */
  allowPrivate: boolean;
  /** SQLite state file (resumable); undefined = in-memory frontier. */
  state?: string;
  /** Start over even if the state file exists. */
  fresh: boolean;
  /** Re-queue URLs that failed in an earlier run of this state. */
  retryFailed: boolean;
  /**
   * Crawl an existing state again (`--recrawl`): every page it fetched is visited again (see
   * `recrawlAfter`) with If-None-Match / If-Modified-Since; records gain `change` (new, changed,
   * unchanged, gone) and the outputs hold this pass's records. Needs `state`. Default: false.
   */
  recrawl?: boolean;
  /**
   * Which known pages a recrawl visits (`--recrawl-after`): those fetched at least this many ms
   * ago, or `auto` — each page when its own interval has passed (halved when it changed, doubled
   * when it did not, from 1 hour to 30 days, starting at 1 day), and any page a sitemap says was
   * modified after it was fetched. Default: 0 (every page).
   */
  recrawlAfter?: number | 'auto';
  /**
   * Keep each page's validators and body hash for later recrawls without a state file: set by the
   * distributed mode, whose frontier keeps them in Redis. Default: only with `state`.
   */
  keepVersions?: boolean;
  /** Write only new, changed and gone pages' records to the output (`--changed-only`); needs `recrawl`. */
  changedOnly?: boolean;
  /** Write every fetch as WARC/1.1 records to this `.warc.gz` (or `.warc`) file (`--warc`). */
  warc?: string;
  /** Write WARC files into this directory instead, starting a new file at `warcMaxSize` (`--warc-dir`). */
  warcDir?: string;
  /** With `warcDir`: bytes after which the next file is started (`--warc-max-size`). Default: 1 GiB. */
  warcMaxSize?: number;
  /** Keep every response in this directory and answer from it (`--cache DIR`). */
  cache?: string;
  /**
   * How `cache` is used (`--cache-mode`): `replay` answers from any stored response, `refresh`
   * never reads but stores, `rfc9111` honours Cache-Control / Expires / validators. Default: replay.
   */
  cacheMode?: 'replay' | 'refresh' | 'rfc9111';
  /** Expected number of URLs (sizes the bloom filter). */
  expect: number;
  /** Called with each record as it is stored (the non-blocking collection path). */
  onRecord?: (record: PageRecord) => void;
  /** Time source for the rate limiters and politeness (tests inject a FakeClock). */
  clock?: Clock;
  /** Cancels the crawl (graceful: see Crawl.stop / Crawl.abort for the two levels). */
  signal?: AbortSignal;
}
