// One page rendered in a leased tab: navigation, the wait strategy, cookies in and out, resource
// blocking, and every failure mapped to a RenderError. The pool (browser-pool.ts) owns processes
// and contexts; this file owns what happens inside one page.

import type { Page, Response, Route } from 'playwright-core';
import type { Exchange } from '../exchange.js';
import type { NetscapeCookie } from '../fetch/cookies-txt.js';
import { fromPlaywrightCookie, toPlaywrightCookie } from './browser-cookies.js';
import { renderExchanges } from './browser-exchange.js';
import type { Tab } from './browser-pool.js';
import { documentHtml } from './page-cdp.js';
import { RenderCrashError, RenderError } from './render-error.js';
import type { RenderResource, RenderWait } from './render-options.js';
import { SETTLE_INIT_SCRIPT, settleExpression } from './settle-script.js';

/**
 * A session's cookies as rendering sees them (SessionCookies satisfies it through `exportAll` and
 * `import`): what goes into the browser context before a navigation, and what comes back after.
 */
export interface BrowserCookieJar {
  /** The cookies the context should hold for a navigation to `url` (the whole jar is fine). */
  toBrowser(url: string): NetscapeCookie[];
  /** Every cookie the context holds after the page settled; the jar adds or replaces them. */
  fromBrowser(list: NetscapeCookie[]): void;
}

/** One render. */
export interface RenderRequest {
  url: string;
  /**
   * Extra request headers for the page's requests (applied as given; none by default). A
   * `cookie` header is ignored (cookies go through `cookies`); `authorization` and
   * `proxy-authorization` are sent only to the page's own origin, never to the other hosts a
   * page loads from.
   */
  headers?: Record<string, string>;
  /** Deadline for the whole render — navigation, wait, cookies, serialization — in ms. */
  timeoutMs: number;
  wait: RenderWait;
  /** Resource types to let through; the others of RENDER_RESOURCES are blocked. */
  allow: ReadonlySet<RenderResource>;
  signal: AbortSignal;
  cookies?: BrowserCookieJar;
  /** Keep the page's requests and responses as Exchanges (RenderResult.exchanges), for WARC. */
  capture?: boolean;
}

/** A rendered page. */
export interface RenderResult {
  /** The URL of the main document's response (the last redirect hop, or `url`). */
  finalUrl: string;
  /** The main document response's status. */
  status: number;
  /** The main document response's headers, lower-case names (Set-Cookie excluded: see cookies). */
  headers: Record<string, string>;
  /** The DOM serialized after the wait (`page.content()`). */
  html: string;
  /** Each redirect target followed by the main document, in order (empty without redirects). */
  redirects: string[];
  /** Wall time of the render, in ms. */
  durationMs: number;
  /**
   * What ended the wait: `load`, `domcontentloaded`, `networkidle`, `selector`, `settled` (the
   * page went quiet) or `settle-cap` (it did not within the cap; the DOM as it was is taken).
   */
  waited: string;
  /** With `capture`: the page's requests and responses (see renderExchanges). */
  exchanges?: Exchange[];
}

/** Longest the `settled` wait waits after `load` (further capped by the render timeout), in ms. */
export const SETTLE_CAP_MS = 5000;
/** Of the render timeout, what the settle cap leaves for cookies and serialization, in ms (at most a tenth). */
export const SETTLE_RESERVE_MS = 1000;
/** How long a settled page must have had no activity, in ms (see settle-script.ts). */
export const SETTLE_QUIET_MS = 100;

/** Playwright's names of the resource types RenderResource covers. */
const RESOURCE_TYPES: Record<RenderResource, string> = {
  image: 'image',
  media: 'media',
  font: 'font',
  stylesheet: 'stylesheet',
};

const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization']);

const noop = (): void => {};

// Playwright's error when the page, its context or its browser closed under a call.
const CLOSED =
  /Target page, context or browser has been closed|Target closed|Browser has been closed|has been closed/i;

/**
 * Renders `req.url` in `tab` and returns the main document's status, headers, redirect chain and
 * the serialized DOM after `req.wait`:
 * - `settled` (default): `load`, then until the page has no pending fetch/XHR, no pending short
 *   timer and no DOM change for SETTLE_QUIET_MS, capped at SETTLE_CAP_MS after `load` and at the
 *   time left minus SETTLE_RESERVE_MS — the cap is no error (`waited: 'settle-cap'`);
 * - `load` / `domcontentloaded` / `networkidle`: Playwright's navigation wait;
 * - `selector`: `domcontentloaded`, then until an element matching the CSS is in the DOM.
 * Before navigating: the tab's context gets the `settled` init script once, blocks the resource
 * types not in `req.allow` (once per context and allow set), the page gets `req.headers`, and the
 * context gets `req.cookies.toBrowser(url)`. After the wait, all the context's cookies go to
 * `req.cookies.fromBrowser`. Any HTTP status is a result (a 404 page is rendered too).
 *
 * Throws RenderError: `timeout` when the deadline passes first (also when no element matches a
 * selector wait); `crash` when the tab's renderer crashes (RenderCrashError, retryable, when the
 * whole browser is lost); `navigation` when Chromium cannot load the URL (network error, refused
 * by the proxy, a download) or the wait cannot run (an invalid selector); `aborted` at once when
 * `req.signal` aborts. The tab is left as it is: the caller releases it either way (after a
 * failure, preferably with `release(true)`, so a page stuck in a bad state is not reused).
 */
export async function renderPage(tab: Tab, req: RenderRequest): Promise<RenderResult> {
  const started = performance.now();
  const deadline = started + req.timeoutMs;
  const left = (): number => Math.max(1, Math.floor(deadline - performance.now()));
  const guard = new Guard(tab, req);
  const { page, context } = tab;
  const loaded: Response[] = [];
  const onResponse = (r: Response): void => {
    loaded.push(r);
  };
  if (req.capture === true) page.on('response', onResponse);
  try {
    const setup: Promise<unknown>[] = [];
    if (req.wait.kind === 'settled') setup.push(installSettle(page));
    setup.push(blockResources(page, req.allow));
    // A page serves many renders (the pool reuses it): set its headers to exactly this render's.
    const headers = splitHeaders(req.headers ?? {});
    const allKey = JSON.stringify(headers.all);
    if ((pageHeaders.get(page) ?? '{}') !== allKey) {
      pageHeaders.set(page, allKey);
      setup.push(page.setExtraHTTPHeaders(headers.all));
    }
    const originKey =
      Object.keys(headers.origin).length === 0
        ? ''
        : `${new URL(req.url).origin} ${JSON.stringify(headers.origin)}`;
    if ((pageOriginHeaders.get(page) ?? '') !== originKey) {
      pageOriginHeaders.set(page, originKey);
      setup.push(originHeaders(page, req.url, headers.origin));
    }
    if (req.cookies !== undefined) {
      const list = req.cookies.toBrowser(req.url);
      if (list.length > 0) setup.push(context.addCookies(list.map(toPlaywrightCookie)));
    }
    await guard.race(Promise.all(setup), 'navigation');

    const waitUntil =
      req.wait.kind === 'settled'
        ? 'load'
        : req.wait.kind === 'selector'
          ? 'domcontentloaded'
          : req.wait.kind;
    const response = await guard.race(page.goto(req.url, { waitUntil, timeout: left() }), 'navigation');
    if (response === null) throw new RenderError('navigation', `no response for ${req.url}`);

    let waited: string = req.wait.kind;
    if (req.wait.kind === 'settled') {
      // The cap leaves time to read cookies and serialize the DOM, so that reaching it is
      // never a timeout.
      const capEnd = Math.min(
        performance.now() + SETTLE_CAP_MS,
        deadline - Math.min(SETTLE_RESERVE_MS, req.timeoutMs / 10),
      );
      waited = await settle(page, guard, () => capEnd - performance.now());
    } else if (req.wait.kind === 'selector') {
      await guard.race(
        page.waitForSelector(req.wait.css, { state: 'attached', timeout: left() }),
        'navigation',
      );
    }

    if (req.cookies !== undefined) {
      const list = await guard.race(context.cookies(), 'navigation');
      req.cookies.fromBrowser(list.map(fromPlaywrightCookie));
    }
    const html = await guard.race(documentHtml(page), 'navigation');
    const exchanges =
      req.capture === true ? await guard.race(renderExchanges(response, loaded), 'navigation') : undefined;
    return {
      ...(exchanges === undefined ? {} : { exchanges }),
      finalUrl: response.url(),
      status: response.status(),
      headers: response.headers(),
      html,
      redirects: redirectChain(response),
      durationMs: performance.now() - started,
      waited,
    };
  } finally {
    if (req.capture === true) page.off('response', onResponse);
    guard.dispose();
  }
}

// The `settled` wait: one evaluate in the page that resolves when quiet or at the cap. A
// navigation during the wait (a script redirect, a form) destroys the context: wait for that
// document's `load` and settle again, within the same cap.
async function settle(page: Page, guard: Guard, capLeft: () => number): Promise<string> {
  for (;;) {
    const cap = capLeft();
    if (cap <= 0) return 'settle-cap';
    try {
      const r = await guard.race(
        page.evaluate(settleExpression(cap, SETTLE_QUIET_MS)) as Promise<string>,
        'navigation',
      );
      return r === 'no-script' ? 'load' : r;
    } catch (err) {
      if (!(err instanceof RenderError) || !/context was destroyed|navigat/i.test(err.message)) throw err;
      await guard
        .race(page.waitForLoadState('load', { timeout: Math.max(1, Math.floor(capLeft())) }), 'navigation')
        .catch((e: unknown) => {
          if (!(e instanceof RenderError) || e.kind !== 'timeout') throw e;
        });
    }
  }
}

// Every redirect target of the main document, oldest first: Playwright links each request to
// the one it was redirected from.
function redirectChain(response: Response): string[] {
  const urls: string[] = [];
  let req = response.request();
  for (let prev = req.redirectedFrom(); prev !== null; prev = prev.redirectedFrom()) {
    urls.push(req.url());
    req = prev;
  }
  return urls.reverse();
}

/**
 * The failure side of a render: one promise that rejects with the RenderError of whichever comes
 * first — the deadline, `req.signal`, the browser lost (tab.crashed), the page's renderer
 * crashing or the page closing. `race(step)` settles with the step or that failure; a Playwright
 * error from the step is classified (a TimeoutError is `timeout`; anything once a failure is known
 * is that failure; the rest is `fallback`).
 */
class Guard {
  readonly #failed: Promise<never>;
  #failure: RenderError | null = null;
  readonly #dispose: (() => void)[] = [];

  constructor(tab: Tab, req: RenderRequest) {
    let fail!: (e: RenderError) => void;
    this.#failed = new Promise<never>((_, reject) => {
      fail = (e) => {
        if (this.#failure !== null) return;
        this.#failure = e;
        reject(e);
      };
    });
    this.#failed.catch(noop);
    const on = (signal: AbortSignal, make: () => RenderError): void => {
      if (signal.aborted) {
        fail(make());
        return;
      }
      const h = (): void => fail(make());
      signal.addEventListener('abort', h, { once: true });
      this.#dispose.push(() => signal.removeEventListener('abort', h));
    };
    on(req.signal, () => new RenderError('aborted', 'aborted', { cause: req.signal.reason }));
    on(tab.crashed, () =>
      tab.crashed.reason instanceof RenderCrashError
        ? tab.crashed.reason
        : new RenderCrashError('browser lost', { cause: tab.crashed.reason }),
    );
    const timer = setTimeout(
      () => fail(new RenderError('timeout', `not rendered within ${req.timeoutMs} ms`)),
      Math.max(0, req.timeoutMs),
    );
    this.#dispose.push(() => clearTimeout(timer));
    const onCrash = (): void => fail(new RenderError('crash', 'the page crashed'));
    // When the browser dies, the page's `close` comes before the pool hears of the disconnect:
    // give that a turn, so the render fails with the (retryable) RenderCrashError.
    const onClose = (): void => {
      setImmediate(() => fail(new RenderError('crash', 'the page was closed')));
    };
    tab.page.on('crash', onCrash);
    tab.page.on('close', onClose);
    this.#dispose.push(() => {
      tab.page.off('crash', onCrash);
      tab.page.off('close', onClose);
    });
  }

  /** `step`'s value, or the first failure; a rejection of `step` becomes a RenderError. */
  async race<T>(step: Promise<T>, fallback: RenderError['kind']): Promise<T> {
    step.catch(noop); // it may reject after the race is lost
    try {
      return await Promise.race([step, this.#failed]);
    } catch (err) {
      if (this.#failure === null && err instanceof Error && CLOSED.test(err.message)) {
        // The page, context or browser went away: wait for the event that says why.
        await new Promise((r) => setImmediate(r));
        await new Promise((r) => setImmediate(r));
      }
      throw this.#classify(err, fallback);
    }
  }

  #classify(err: unknown, fallback: RenderError['kind']): RenderError {
    if (err instanceof RenderError) return err;
    if (this.#failure !== null) return this.#failure;
    if (err instanceof Error && err.name === 'TimeoutError')
      return new RenderError('timeout', cleanMessage(err), { cause: err });
    return new RenderError(fallback, cleanMessage(err), { cause: err });
  }

  dispose(): void {
    for (const d of this.#dispose) d();
    this.#dispose.length = 0;
  }
}

// Playwright's messages: `page.goto: net::ERR_CONNECTION_REFUSED at http://…\nCall log:\n…`.
// Keep the first line, without the API name.
function cleanMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const first = msg.split('\n').find((l) => l.trim() !== '') ?? 'unknown error';
  return first.replace(/^[a-zA-Z]+\.[a-zA-Z]+: /, '').trim();
}

// Extra headers: credentials for the page's origin only, Cookie dropped, the rest for all.
function splitHeaders(headers: Record<string, string>): {
  all: Record<string, string>;
  origin: Record<string, string>;
} {
  const all: Record<string, string> = {};
  const origin: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const name = k.toLowerCase();
    if (name === 'cookie') continue;
    if (CREDENTIAL_HEADERS.has(name)) origin[k] = v;
    else all[k] = v;
  }
  return { all, origin };
}

// Credentials go only to requests of the page's own origin: a route on that origin's URLs adds
// them (the only per-request header hook Chromium offers; costs a round trip per request of
// that origin, and only for renders that carry credentials). Replaces the page's earlier route.
async function originHeaders(page: Page, url: string, headers: Record<string, string>): Promise<void> {
  const old = originRoutes.get(page);
  if (old !== undefined) {
    originRoutes.delete(page);
    await page.unroute(old);
  }
  if (Object.keys(headers).length === 0) return;
  const origin = new URL(url).origin;
  const matcher = (u: URL): boolean => u.origin === origin;
  originRoutes.set(page, matcher);
  await page.route(matcher, (route: Route) =>
    route.fallback({ headers: { ...route.request().headers(), ...headers } }),
  );
}
const originRoutes = new WeakMap<Page, (u: URL) => boolean>();

// What each (reused) page was last given, so unchanged headers cost nothing.
const pageHeaders = new WeakMap<Page, string>();
const pageOriginHeaders = new WeakMap<Page, string>();

// Setup done once per page (the settle script, blocking), keyed so concurrent renders share the
// work. Per page, not per context: Playwright misses a context-wide init script or route for a
// page whose creation was under way while it was added; with pages reused by the pool, this is
// once per page anyway.
const settleInstalled = new WeakMap<Page, Promise<void>>();
const blocking = new WeakMap<Page, { key: string; done: Promise<void> }>();

function installSettle(page: Page): Promise<void> {
  const known = settleInstalled.get(page);
  if (known !== undefined) return known;
  // Per page, not per context: a context's init script misses a page whose creation was under
  // way while it was added (measured: concurrent tabs of one context rendered without it).
  const p = page.addInitScript({ content: SETTLE_INIT_SCRIPT }).then(noop);
  settleInstalled.set(page, p);
  p.catch(() => settleInstalled.delete(page));
  return p;
}

// Blocking by resource type. Chromium's own blocking (CDP Network.setBlockedURLs) matches URL
// patterns only, not types; a CDP Fetch session per page can match types but misses
// out-of-process iframes and competes with Playwright's own Fetch interception (which the guard
// proxy's credentials turn on anyway). A page route sees every request of every frame,
// including redirect targets' subresources; measured on the spa site it adds about 6 ms of Node
// CPU and 35 ms of Chromium CPU per page (interception also turns Chromium's cache off — which
// the proxy credentials already do in a real crawl). Installed once per page and allow set.
function blockResources(page: Page, allow: ReadonlySet<RenderResource>): Promise<void> {
  const blocked = new Set<string>();
  for (const [r, t] of Object.entries(RESOURCE_TYPES)) if (!allow.has(r as RenderResource)) blocked.add(t);
  const key = [...blocked].sort().join(',');
  const prev = blocking.get(page);
  if (prev !== undefined && prev.key === key) return prev.done;
  const done = (async () => {
    if (prev !== undefined) {
      await prev.done.catch(noop);
      await page.unroute('**');
    }
    if (blocked.size === 0) return;
    await page.route('**', (route) =>
      blocked.has(route.request().resourceType()) ? route.abort('blockedbyclient') : route.fallback(),
    );
  })();
  blocking.set(page, { key, done });
  return done;
}
