/**
 * A crawl's identities: its sessions (cookie jars, `--sessions`) and proxies (`--proxy`, else
 * HTTP_PROXY/HTTPS_PROXY), and which of them each request goes out with.
 */
import { Dispatcher } from 'undici';
import type { CrawlAgent } from '../fetch/agent.js';
import { readCookiesTxt } from '../fetch/cookies-txt.js';
import { createProxyAgent, PROXY_CODE, type ProxyError } from '../fetch/proxy-connect.js';
import { ProxyPool, type ProxyStat } from '../fetch/proxy-pool.js';
import { type ProxySpec, parseProxyUrl, proxyEnv } from '../fetch/proxy-url.js';
import { DEFAULT_BLOCK_CODES, type Session, SessionPool } from '../fetch/session-pool.js';
import type { SsrfOptions } from '../fetch/ssrf.js';
import { type Frontier, keepsSessions } from '../frontier/frontier.js';
import type { CrawlOptions } from '../options.js';
import { loadScraper } from '../parse/load-scraper.js';
import type { LoginHook } from '../parse/scraper.js';

/** How one request goes out: its session, and the proxy (index in `proxies`) or direct. */
export interface Route {
  session: Session;
  dispatcher: Dispatcher;
  /** The pool and index of the proxy used, or null for a direct request. */
  proxy: { pool: ProxyPool; index: number } | null;
}

/** One group of proxies that a target may go through. */
interface ProxyGroup {
  pool: ProxyPool;
  agents: CrawlAgent[];
}

/** The agent options every proxy agent shares with the crawl's direct agent. */
export interface IdentityAgentOptions {
  maxConnections: number;
  connectTimeoutMs: number;
  ssrf: SsrfOptions;
}

/**
 * The crawl's sessions and proxies. Sessions: `options.sessions` of them (default 1), each with
 * a cookie jar unless `options.cookies` is false, `--cookies FILE` imported into each; restored
 * from the frontier's saved sessions when it keeps them (a resumed or distributed crawl keeps
 * its logins). Blocking (a `sessionBlockCodes` status retires the session and the page is
 * retried on its replacement) applies only when there is something to rotate: more than one
 * session, proxies, or a scraper's login (a blocked login is logged in afresh); the single session of a default crawl is never retired, so a 403 page
 * stays an ordinary 403.
 *
 * Proxies: `options.proxies` (all targets, round-robin or sticky per session), else the
 * environment's HTTP_PROXY for http targets and HTTPS_PROXY for https targets; NO_PROXY exempts
 * a host in both cases. A proxy that fails is put on a backoff (ProxyPool) and the request is
 * routed through another; with all of them down, `route` answers how long to wait.
 */
export class Identities {
  readonly sessions: SessionPool;
  /** Whether blocked sessions are retired (see the class comment). */
  readonly rotates: boolean;
  readonly #direct: Dispatcher;
  readonly #all: ProxyGroup | null;
  readonly #http: ProxyGroup | null;
  readonly #https: ProxyGroup | null;
  readonly #noProxy: (url: string) => boolean;
  readonly #frontier: Frontier;

  private constructor(
    sessions: SessionPool,
    rotates: boolean,
    direct: Dispatcher,
    groups: { all: ProxyGroup | null; http: ProxyGroup | null; https: ProxyGroup | null },
    noProxy: (url: string) => boolean,
    frontier: Frontier,
  ) {
    this.sessions = sessions;
    this.rotates = rotates;
    this.#direct = direct;
    this.#all = groups.all;
    this.#http = groups.http;
    this.#https = groups.https;
    this.#noProxy = noProxy;
    this.#frontier = frontier;
  }

  /**
   * Builds the crawl's identities: reads `--cookies`, restores saved sessions from `frontier`,
   * creates one agent per proxy (sharing `agent`'s limits and SSRF policy). `env` is where
   * HTTP_PROXY/HTTPS_PROXY/NO_PROXY come from (process.env by default). Options were validated
   * before (checkSessionOptions), so a bad proxy URL or cookie file throws its UsageError here
   * only if it changed since.
   */
  static async open(
    o: CrawlOptions,
    frontier: Frontier,
    direct: Dispatcher,
    agentOptions: IdentityAgentOptions,
    env: Readonly<Record<string, string | undefined>> = process.env,
  ): Promise<Identities> {
    const cookies = o.cookies !== false;
    const restore = keepsSessions(frontier) ? await frontier.loadSessions() : [];
    const fromEnv = proxyEnv(env);
    const explicit = (o.proxies ?? []).map((p) => parseProxyUrl(p));
    const rotation = o.proxyRotation ?? 'round-robin';
    const group = (specs: ProxySpec[]): ProxyGroup | null =>
      specs.length === 0
        ? null
        : {
            pool: new ProxyPool(specs, { rotation, ...(o.clock ? { clock: o.clock } : {}) }),
            agents: specs.map((s) => createProxyAgent(s, agentOptions)),
          };
    const all = group(explicit);
    const http = all === null && fromEnv.http !== null ? group([fromEnv.http]) : null;
    const https = all === null && fromEnv.https !== null ? group([fromEnv.https]) : null;
    const sessions = new SessionPool({
      size: o.sessions ?? 1,
      cookies,
      ...(cookies && o.cookieFile !== undefined ? { importCookies: readCookiesTxt(o.cookieFile) } : {}),
      blockCodes: o.sessionBlockCodes ? new Set(o.sessionBlockCodes) : DEFAULT_BLOCK_CODES,
      proxies: all?.agents.length ?? 0,
      restore,
    });
    // The main thread loads the scraper too, for its login hook (handlers run on parse threads).
    const login = o.scraper != null ? (await loadScraper(o.scraper)).login : undefined;
    const rotates =
      (o.sessions ?? 1) > 1 || all !== null || http !== null || https !== null || login !== undefined;
    const ids = new Identities(sessions, rotates, direct, { all, http, https }, fromEnv.noProxy, frontier);
    if (login !== undefined) ids.login = login;
    return ids;
  }

  /** The scraper's login hook, when it has one (engine/logins.ts runs it). */
  login: LoginHook | null = null;

  /**
   * The route for a request to `url`: the next session (or the one named by `sessionId` while it
   * lives, else its replacement) and its proxy; `{ waitMs }` when every proxy the target could go
   * through is on backoff (nothing is counted then).
   */
  route(url: string, sessionId?: string): Route | { waitMs: number } {
    const g = this.#groupFor(url);
    if (g === null) return { session: this.sessions.pick(sessionId), dispatcher: this.#direct, proxy: null };
    // Pick the session first (sticky rotation keys the proxy on its slot), then its proxy.
    const session = this.sessions.pick(sessionId);
    const p = g.pool.pick(session.slot);
    if ('waitMs' in p) return p;
    return { session, dispatcher: g.agents[p.index]!, proxy: { pool: g.pool, index: p.index } };
  }

  /** Whether any proxy is configured (explicitly or from the environment). */
  get proxied(): boolean {
    return this.#all !== null || this.#http !== null || this.#https !== null;
  }

  /** Per-proxy figures for the dashboard and /metrics (display names only, never credentials). */
  proxyStats(): ProxyStat[] {
    return [this.#all, this.#http, this.#https].flatMap((g) => (g === null ? [] : g.pool.stats()));
  }

  /** Whether every proxy is on backoff (the crawl then waits; the progress line says so). */
  get proxiesDown(): boolean {
    const groups = [this.#all, this.#http, this.#https].filter((g) => g !== null);
    return groups.length > 0 && groups.every((g) => g.pool.allDown());
  }

  /**
   * Saves the sessions to the frontier when they changed (and the frontier keeps them). A session
   * whose login is under way (see {@link loginStarted}) is saved with its jar as it was before
   * the login: the jar may already hold the site's session cookie while `loggedIn` is still
   * false, and a resume from such a save would log in again on that still-valid site session.
   */
  async save(): Promise<void> {
    if (!keepsSessions(this.#frontier)) return;
    const list = this.sessions.snapshotIfChanged();
    if (list === null) return;
    const pending = this.#preLogin;
    await this.#frontier.saveSessions(
      pending.size === 0
        ? list
        : list.map((s) => (pending.has(s.id) ? { ...s, cookies: pending.get(s.id) ?? null } : s)),
    );
  }

  /** Pre-login jars (JSON, null without cookies) of the sessions whose login is under way. */
  readonly #preLogin = new Map<string, string | null>();

  /**
   * Marks `session`'s login as under way: until {@link loginEnded}, saves keep its jar as it is
   * now (engine/logins.ts calls both around the scraper's login hook).
   */
  loginStarted(session: Session): void {
    this.#preLogin.set(session.id, session.cookies === null ? null : session.cookies.toJSON());
  }

  /** Ends what {@link loginStarted} began: saves write `session`'s jar as it is again. */
  loginEnded(session: Session): void {
    this.#preLogin.delete(session.id);
  }

  /**
   * A dispatcher for the crawl's own requests that have no session (robots.txt, sitemaps): each
   * goes through a proxy exactly as a page of its origin would (NO_PROXY honoured), else direct,
   * so nothing leaks past a configured proxy. With every proxy of the origin on backoff the
   * request fails with a ProxyError (robots.txt and sitemaps retry as for any network error).
   * With `sessionId`, proxies are picked for that session (sticky rotation keeps its proxy):
   * what a rendered page's own requests go through (engine/rendering.ts).
   */
  dispatcher(sessionId?: string): Dispatcher {
    if (!this.proxied) return this.#direct;
    const pick = (origin: string): Target => {
      const g = this.#groupFor(origin);
      if (g === null) return { dispatcher: this.#direct, failed: null, succeeded: null, tries: 1 };
      const p = g.pool.pick(sessionId === undefined ? 0 : this.sessions.pick(sessionId).slot);
      if ('waitMs' in p) throw new ProxyDownError(g.pool.proxies[0]?.display ?? 'proxy', p.waitMs);
      return {
        dispatcher: g.agents[p.index]!,
        failed: (reason) => g.pool.failed(p.index, reason),
        succeeded: () => g.pool.succeeded(p.index),
        tries: g.agents.length,
      };
    };
    return new RoutedDispatcher(pick);
  }

  /** Closes the proxy agents (the direct one is the crawl's). */
  async close(): Promise<void> {
    const groups = [this.#all, this.#http, this.#https].filter((g) => g !== null);
    await Promise.all(groups.flatMap((g) => g.agents.map((a) => a.close())));
  }

  #groupFor(url: string): ProxyGroup | null {
    if (this.#all === null && this.#http === null && this.#https === null) return null;
    if (this.#noProxy(url)) return null;
    if (this.#all !== null) return this.#all;
    return url.startsWith('https:') ? this.#https : this.#http;
  }
}

/**
 * Whether a ProxyError is the proxy's own failure (put it on backoff, go through another) rather
 * than the target's, which the proxy only reports: every reason but 'status' is the proxy's; a
 * refused CONNECT is the proxy's when it is 502 or 503 (the "from the proxy itself") or
 * carries an RFC 9209 Proxy-Status header (the proxy speaking for itself). Other answers —
 * tinyproxy's 500 for an unreachable target, a SOCKS5 reply 3–6 (network or host unreachable,
 * refused, TTL expired) — are the target's: an ordinary failed attempt. SOCKS5 replies 1, 2, 7
 * and 8 (general failure, not allowed, unsupported) are the proxy's.
 */
export function isProxyFault(e: ProxyError): boolean {
  if (e.reason !== 'status') return true;
  if (e.proxy.startsWith('socks5:')) return e.status === undefined || ![3, 4, 5, 6].includes(e.status);
  return e.status === 502 || e.status === 503 || e.proxyStatus !== undefined;
}

/** The ProxyError in `err`'s cause chain, if a proxy was involved in the failure. */
export function proxyErrorOf(err: unknown): ProxyError | null {
  let e: unknown = err;
  for (let i = 0; i < 8 && e instanceof Error; i++) {
    if ((e as { code?: unknown }).code === PROXY_CODE) return e as ProxyError;
    e = e.cause;
  }
  return null;
}

/** Every proxy of an origin is on backoff. */
class ProxyDownError extends Error {
  readonly code = PROXY_CODE;
  constructor(proxy: string, waitMs: number) {
    super(`all proxies down (${proxy} back in ${Math.ceil(waitMs / 1000)} s)`);
    this.name = 'ProxyError';
  }
}

/** Where RoutedDispatcher sends one request, and how to tell the proxy pool what happened. */
interface Target {
  dispatcher: Dispatcher;
  failed: ((reason: string) => void) | null;
  succeeded: (() => void) | null;
  /** How many proxies may be tried in turn (1 for direct). */
  tries: number;
}

/**
 * A Dispatcher that hands each request to the dispatcher `pick` chooses for its origin. When a
 * proxy fails the request before any response (a ProxyError: refused, 407, 5xx to CONNECT...),
 * the proxy is put on backoff and the same request goes through the next one, up to one try per
 * proxy; the target was never reached, so nothing is sent twice.
 */
class RoutedDispatcher extends Dispatcher {
  readonly #pick: (origin: string) => Target;

  constructor(pick: (origin: string) => Target) {
    super();
    this.#pick = pick;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.#send(options, handler, 1);
  }

  #send(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, attempt: number): boolean {
    type Hooks = Record<string, ((...a: unknown[]) => unknown) | undefined>;
    const h = handler as unknown as Hooks;
    let target: Target;
    try {
      target = this.#pick(String(options.origin ?? ''));
    } catch (err) {
      // undici's contract: errors reach the handler, dispatch itself does not throw.
      queueMicrotask(() => (h.onResponseError ?? h.onError)?.call(handler, null, err as Error));
      return true;
    }
    if (target.failed === null) return target.dispatcher.dispatch(options, handler);
    let answered = false;
    const onFail = (original: (...a: unknown[]) => unknown, args: unknown[]): unknown => {
      const err = args[args.length - 1];
      const proxyError = answered ? null : proxyErrorOf(err);
      if (proxyError !== null && isProxyFault(proxyError)) {
        target.failed!(proxyError.reason);
        if (attempt < target.tries) {
          this.#send(options, handler, attempt + 1);
          return undefined;
        }
      }
      return original.apply(handler, args);
    };
    // Both undici handler generations: onError (legacy) / onResponseError (new); the response
    // hooks mark the request answered, after which an error is the target's, not the proxy's.
    const wrapped = new Proxy(handler, {
      get(t, prop, receiver) {
        const v = Reflect.get(t, prop, receiver) as unknown;
        if (typeof v !== 'function') return v;
        const fn = v as (...a: unknown[]) => unknown;
        if (prop === 'onError' || prop === 'onResponseError') return (...args: unknown[]) => onFail(fn, args);
        if (prop === 'onHeaders' || prop === 'onResponseStart') {
          return (...args: unknown[]) => {
            if (!answered) target.succeeded!();
            answered = true;
            return fn.apply(t, args);
          };
        }
        return fn.bind(t);
      },
    });
    return target.dispatcher.dispatch(options, wrapped);
  }

  // The agents it routes to belong to the crawl (closed with it), not to this router.
  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | undefined {
    if (callback) {
      queueMicrotask(callback);
      return undefined;
    }
    return Promise.resolve();
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: unknown, b?: unknown): Promise<void> | undefined {
    const callback = typeof a === 'function' ? a : b;
    if (typeof callback === 'function') {
      queueMicrotask(callback as () => void);
      return undefined;
    }
    return Promise.resolve();
  }
}
