/**
 * The scraper module API: what a user's scraper file exports (`export default defineScraper({...})`)
 * and what its handlers see.
 *
 * Where handlers run, and what that means for module-level state: a crawl with parse threads
 * (`parsers` ≥ 1, the default) imports the scraper module once in EACH parse thread, and every
 * page's handler runs in one of them. Each thread has its own copy of the module's top-level
 * state: with K parse threads, a `const seen = new Set()` at the top of the file exists K times,
 * each seeing only the pages its thread parsed, so it is no place for crawl-wide dedup or
 * counters (push items and let the output, or a `uniqueKey`, do that). A crawl with
 * `parsers: 0` runs every handler on the main thread, in the one copy of the module the process
 * imported: use it when handlers must share state (at the cost of doing the parsing there too).
 * Nothing survives a restart or is shared between the processes of a distributed crawl either
 * way. Handlers of different pages may run concurrently within one thread (each `await` lets
 * another page's handler proceed), and a handler that burns CPU only holds up its own thread.
 *
 * A promise a handler forgets to await is not part of its page: on a parse thread, its
 * rejection is reported on stderr and the thread goes on; on the main thread (`parsers: 0`) it
 * is the process's, and Node's default for an unhandled rejection ends the process.
 */
import type { CheerioAPI } from 'cheerio';
import type { Page } from 'playwright-core';
import type { CrawlOptions } from '../crawl-options.js';
import type { Item } from '../record.js';
import type { InfiniteScrollOptions, InfiniteScrollResult } from '../render/infinite-scroll.js';
import { scraperShapeProblem } from './scraper-check.js';
import { ScraperError } from './scraper-error.js';

/**
 * Crawl options a scraper may set (flags typed on the CLI override them). Functions, the signal,
 * the seeds (the scraper's `start`) and the scraper itself cannot be set from inside it.
 */
export type ScraperOptions = Partial<
  Omit<
    CrawlOptions,
    'seeds' | 'scraper' | 'signal' | 'clock' | 'extractFn' | 'onRecord' | 'onItem' | 'keepVersions'
  >
>;

/** The request a page was fetched for, as the handler sees it. */
export interface HandlerRequest {
  /** The URL as requested (before redirects; normalized). */
  readonly url: string;
  /** The handler label it was enqueued with; null for pages with none (handled by `default`). */
  readonly label: string | null;
  /** The data given to `enqueue` (`{}` when none). */
  readonly userData: Record<string, unknown>;
  /** Link depth: start URLs are 0, what a depth-d page enqueues is d + 1. */
  readonly depth: number;
  /** The URL of the page that enqueued it; null for start URLs. */
  readonly referrer: string | null;
  /** HTTP method, upper case. */
  readonly method: string;
  /** The frontier identity of this request: its uniqueKey, or its URL for a plain GET. */
  readonly uniqueKey: string;
}

/** The response the handler is looking at. */
export interface HandlerResponse {
  /** The URL after redirects (relative links resolve against it, or the page's `<base>`). */
  readonly url: string;
  readonly status: number;
  /** Response headers, names lower case. */
  readonly headers: Readonly<Record<string, string>>;
}

/** One cookie of the session, as the handler sees it. */
export interface HandlerCookie {
  readonly name: string;
  readonly value: string;
  readonly domain: string;
  readonly path: string;
  readonly secure: boolean;
  readonly httpOnly: boolean;
  /** Expiry as an ISO date, or null for a session cookie. */
  readonly expires: string | null;
}

/** The identity (cookie jar, proxy) the page was fetched with: see `--sessions`. */
export interface HandlerSession {
  readonly id: string;
  /** The session's cookies that were sent with the page's request (its URL's, after redirects: the final URL's). */
  readonly cookies: readonly HandlerCookie[];
  /**
   * Retires the session once this page is done: the crawl replaces it with a fresh identity (new
   * cookie jar, logged in again if the scraper logs in) for later requests. The page's own result
   * stands; to have the page fetched again on another session, also throw.
   */
  retire(reason?: string): void;
}

/**
 * One request to enqueue. URLs come from `url`, `urls` and/or `selector` (all that are given, in
 * that order); everything else applies to each of them.
 */
export interface EnqueueOptions {
  /** An explicit URL (relative ones resolve against the page); invalid or non-http(s) throws. */
  url?: string;
  /** Explicit URLs, as `url`. */
  urls?: readonly string[];
  /**
   * A CSS selector: the `href` (else `src`) of each matching element of the page, e.g. `a.next`
   * or `.product a`. Unresolvable and non-http(s) values are skipped, as page links are.
   */
  selector?: string;
  /** Only URLs matching one of these patterns (`*`-globs or `/regex/flags`, see --include). */
  include?: string | readonly string[];
  /** No URL matching any of these patterns. */
  exclude?: string | readonly string[];
  /** The handler that will get the response; absent = `default`. Must be one the scraper has. */
  label?: string;
  /** JSON data handed to that handler as `request.userData`. */
  userData?: Record<string, unknown>;
  /** HTTP method (default GET). */
  method?: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Request body (a form or JSON text); not with GET or HEAD. */
  body?: string;
  /**
   * The request's identity for dedup. Default: none for a plain GET (its normalized URL is its
   * identity), else `METHOD url bodyhash`.
   */
  uniqueKey?: string;
}

/** What `enqueue` accepts: a URL, a list of URLs, or {@link EnqueueOptions}. */
export type EnqueueInput = string | readonly string[] | EnqueueOptions;

/** A handler's logger: each call writes one line to stderr, prefixed with the label and the URL. */
export interface HandlerLog {
  /** Only written when the TRAWL_DEBUG environment variable is set (non-empty). */
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/** What a handler is given for one page. */
export interface HandlerContext {
  readonly request: HandlerRequest;
  readonly response: HandlerResponse;
  /**
   * The page in cheerio (htmlparser2 mode, `baseURI` = the response URL). The document is built
   * only when `$` is first called or one of its properties is read, so a handler that merely
   * destructures it pays nothing.
   */
  readonly $: CheerioAPI;
  /** The page's decoded text. */
  readonly html: string;
  /**
   * Enqueues requests (see {@link EnqueueInput}) and resolves to how many were accepted by this
   * call: normalized, in scope, no trap, within depth and the patterns, not already enqueued by
   * this page (the frontier still deduplicates across pages). Throws an `EnqueueError` for an
   * invalid URL, a label with no handler, a body with GET, or userData that is not JSON: the
   * page then fails with `handler: <message>` and is not retried.
   */
  enqueue(input: EnqueueInput): Promise<number>;
  /**
   * Adds an item (a plain object of JSON data) to the page's output, in order. It is stored only
   * when the page completes (never for a failed attempt). Throws a `PushError` for anything else.
   */
  push(item: Item): void;
  readonly log: HandlerLog;
  /** The session the page was fetched with; null only when the crawl runs without sessions. */
  readonly session: HandlerSession | null;
  /**
   * The Playwright Page the page was rendered in, still open while the handler runs: with
   * `--render` when handlers run on the main thread (`--parsers 0`, where the browser is); null
   * otherwise (a plain page, or a handler on a parse thread). `$` and `html` are the DOM as it
   * was when the render's wait ended; what the handler does to `page` later (clicks, scrolling)
   * shows through `page` itself (`page.content()`, locators).
   */
  readonly page: Page | null;
  /**
   * Scrolls `page` to the bottom until no new content arrives (the document stops growing for
   * `idleMs`, default 1 s) or `maxScrolls` (default 50) is reached; resolves with what it did.
   * Read what it loaded through `page`. Rejects when there is no `page` (see above).
   */
  infiniteScroll(options?: InfiniteScrollOptions): Promise<InfiniteScrollResult>;
}

/** Handles one page; may be async. A throw or rejection fails the page (retried like a fetch). */
export type Handler = (ctx: HandlerContext) => void | Promise<void>;

/** What a login's `fetch` sends: a GET by default; `form` is sent urlencoded (POST by default). */
export interface LoginRequestInit {
  method?: string;
  /** Form fields, sent as `application/x-www-form-urlencoded` (the method defaults to POST). */
  form?: Record<string, string>;
  /** A raw body (give its Content-Type in `headers`); not with `form`. */
  body?: string;
  headers?: Record<string, string>;
}

/** A response a login's `fetch` got (after redirects, each hop's cookies stored in the session). */
export interface LoginResponse {
  /** The URL after redirects. */
  readonly url: string;
  readonly status: number;
  /** Response headers, names lower case. */
  readonly headers: Readonly<Record<string, string>>;
  /** The decoded body ('' for a non-text one). */
  readonly text: string;
  /** The body in cheerio, built on first use. */
  readonly $: CheerioAPI;
}

/** What a scraper's `login` gets. */
export interface LoginContext {
  /** The session being logged in (a new one, or one that replaced a retired session). */
  readonly session: { readonly id: string };
  /** The crawl's start URLs (where the site is). */
  readonly start: readonly string[];
  /**
   * Sends a request through the session (its cookie jar and proxy), under the crawl's
   * connection cap and rate limit, following redirects; every hop's cookies are stored in the
   * session. Rejects on a network error; an HTTP error status is a response like any other.
   */
  fetch(url: string, init?: LoginRequestInit): Promise<LoginResponse>;
  readonly log: HandlerLog;
}

/**
 * Logs one session in (runs on the crawl's main thread, once per session, before the session's
 * first request; again for each session that replaces a retired one). Resolving marks the
 * session logged in, which is saved with the crawl's state at once, so a resumed crawl does not
 * log in again. Throwing fails the page that was waiting for it (an attempt, retried as
 * usual) and retires the session, so the next try logs in afresh.
 */
export type LoginHook = (ctx: LoginContext) => void | Promise<void>;

/** A scraper definition: what {@link defineScraper} takes. */
export interface Scraper {
  /** Start URLs; URLs given on the command line replace them. */
  start?: string[];
  /** Crawl options; flags typed on the command line override them. */
  options?: ScraperOptions;
  /** Handlers by label; `default` handles pages enqueued without a label (start URLs included). */
  handlers: Record<string, Handler>;
  /** Logs each session in before its first request (see {@link LoginHook}). */
  login?: LoginHook;
}

/** The brand marking a {@link defineScraper} result; `Symbol.for` so every copy of trawl agrees. */
export const SCRAPER_BRAND: unique symbol = Symbol.for('trawl.scraper') as never;

/** A scraper definition as {@link defineScraper} returns it. */
export type DefinedScraper = Scraper & { readonly [SCRAPER_BRAND]: true };

/**
 * Declares a scraper: returns `def` itself, branded (a non-enumerable `Symbol.for('trawl.scraper')`
 * property) so that the loader recognises it whichever copy of trawl (dist or sources) the
 * module imported. Checks the shape shallowly and throws a ScraperError (a UsageError) naming the
 * first problem: `handlers` missing or not an object, a handler that is not a function, `start`
 * not a list of strings, `options` not an object, an unknown top-level key. Option names and
 * start URL schemes are checked by loadScraper.
 */
export function defineScraper<S extends Scraper>(def: S): S & DefinedScraper {
  const problem = scraperShapeProblem(def);
  if (problem !== null) throw new ScraperError(`defineScraper: ${problem}`);
  Object.defineProperty(def, SCRAPER_BRAND, { value: true, enumerable: false });
  return def as S & DefinedScraper;
}

/** True when `value` came from {@link defineScraper} (of any copy of trawl). */
export function isDefinedScraper(value: unknown): value is DefinedScraper {
  return (
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[SCRAPER_BRAND] === true
  );
}
