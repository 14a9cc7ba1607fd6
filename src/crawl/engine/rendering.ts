import { availableParallelism } from 'node:os';
import type { Dispatcher } from 'undici';
import { FetchError } from '../fetch/errors.js';
import type { FetchResult } from '../fetch/fetch-page.js';
import type { ProxySpec } from '../fetch/proxy-url.js';
import { parseRetryAfter } from '../fetch/retry.js';
import { SsrfPolicy } from '../fetch/ssrf.js';
import { type TunnelConnect, tunnelConnect } from '../fetch/tunnel-connect.js';
import type { FrontierItem } from '../frontier/frontier.js';
import { extractPage } from '../parse/extract.js';
import { BrowserPool } from '../render/browser-pool.js';
import {
  GUARD_CHROMIUM_ARGS,
  type GuardProxy,
  guardVerdict,
  startGuardProxy,
} from '../render/guard-proxy.js';
import { BrowserLaunchError, RenderError } from '../render/render-error.js';
import { RenderLearner, resultsAgree } from '../render/render-learner.js';
import { renderPage } from '../render/render-page.js';
import { type ShellVerdict, shellSignals } from '../render/shell-detect.js';
import type { EngineContext } from './context.js';
import { ssrfOptionsOf } from './context.js';
import type { Identities, Route } from './identities.js';

/** What the learner is told about a page that is not a shell (its handler found nothing). */
const NOT_A_SHELL: ShellVerdict = { shell: false, reasons: [], text: 0, scripts: 0, scriptBytes: 0 };

/** The learner's key: the page's host and its scraper label (one kind of page). */
function learnKey(item: FrontierItem): string {
  return `${item.host} ${item.request?.label ?? ''}`;
}

/** What the crawl's rendering did, for the summary and /metrics. */
export interface RenderStats {
  /** Pages rendered in Chromium (each once per attempt). */
  rendered: number;
  /** Renders that failed (`render: …` attempts, retried by the policy). */
  failed: number;
  /** Requests of rendered pages (subresources, XHR, hops) the SSRF guard refused. */
  refused: number;
  /** Chromium processes running now; launched, crashed and recycled so far. */
  browsers: number;
  launches: number;
  crashes: number;
  recycles: number;
}

/**
 * The crawl's Chromium: a browser pool whose every request goes through the guard proxy (the
 * crawl's SSRF policy and each session's upstream proxy on every connection, redirect hops
 * included), and `render`, the fetch step's replacement for fetchPage when a page is to be
 * rendered. One browser context per session (its cookies go in before the navigation and come
 * back after). Opened only when rendering is on; the browsers start on the first render.
 */
export class Rendering {
  readonly #ctx: EngineContext;
  readonly #pool: BrowserPool;
  readonly #guard: GuardProxy;
  readonly #policy: SsrfPolicy;
  readonly #learner = new RenderLearner();
  /** Keep each page's tab open for the scraper's handler (it runs on this thread, parsers: 0). */
  readonly #hold: boolean;
  #rendered = 0;
  #failed = 0;

  private constructor(ctx: EngineContext, pool: BrowserPool, guard: GuardProxy, policy: SsrfPolicy) {
    this.#ctx = ctx;
    this.#pool = pool;
    this.#guard = guard;
    this.#policy = policy;
    this.#hold = ctx.options.scraper != null && ctx.options.parsers === 0;
  }

  /** Starts the guard proxy and sets up the (lazily launched) browser pool. */
  static async open(ctx: EngineContext, ids: Identities): Promise<Rendering> {
    const o = ctx.options;
    const policy = new SsrfPolicy(ssrfOptionsOf(o));
    const dispatchers = new Map<string, Dispatcher>(); // one routing dispatcher per session
    const tunnels = new Map<ProxySpec | null, TunnelConnect>(); // one connector per route
    const guard = await startGuardProxy({
      connect: (target, sessionKey, signal) => {
        const url = `https://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}/`;
        const route = ids.route(url, sessionKey);
        if ('waitMs' in route) return Promise.reject(new Error('all proxies are down'));
        const proxy = route.proxy === null ? null : route.proxy.pool.proxies[route.proxy.index]!;
        let connect = tunnels.get(proxy);
        if (connect === undefined) {
          connect = tunnelConnect(policy, proxy, { connectTimeoutMs: Math.ceil(o.timeoutMs) });
          tunnels.set(proxy, connect);
        }
        return connect(target, signal);
      },
      dispatcher: (sessionKey) => {
        let d = dispatchers.get(sessionKey);
        if (d === undefined) {
          d = ids.dispatcher(sessionKey);
          dispatchers.set(sessionKey, d);
        }
        return d;
      },
      onRequest: (e) => ctx.metrics.browserRequest(e.host, e.outcome === 'refused'),
    });
    const pool = new BrowserPool({
      executablePath: o.chromium!,
      browsers: o.browsers,
      tabs: o.tabs,
      recycleAfter: o.browserRecycle,
      userAgent: o.userAgent,
      // No WebRTC UDP around the guard; renderer processes capped at the core count: on the
      // spa site with 8 tabs on 2 cores, a limit of 2 took Chromium from 376 to 206 ms CPU and
      // 734 to 580 MB PSS per 150 pages, and halved the time per page (a renderer per tab only
      // adds contention; sites stay isolated from each other whatever the limit).
      args: [...GUARD_CHROMIUM_ARGS, `--renderer-process-limit=${Math.max(1, availableParallelism())}`],
      proxy: (sessionKey) => ({
        server: guard.server,
        ...guard.credentials(sessionKey),
        bypass: '<-loopback>',
      }),
    });
    return new Rendering(ctx, pool, guard, policy);
  }

  /**
   * Renders `item` on `route`'s session: checks the URL's host with the SSRF policy (a refused
   * host is an `ssrf:` error, no browser involved), waits for a tab, loads the page with the
   * crawl's wait strategy and deadline, and returns the result as a FetchResult whose body is the
   * rendered DOM serialized as UTF-8 HTML. A render that fails throws a FetchError of kind
   * 'render' (`render: …`, retryable) — or the SSRF refusal, or 'redirect-blocked' when a redirect
   * hop breaks the crawl's redirect rule (out of scope, or a URL the crawl already has). `signal` aborts it. With a scraper
   * whose handlers run on this thread the tab stays open (`held`) for the handler's `page`, and
   * whoever ends the attempt releases it.
   */
  async render(
    item: FrontierItem,
    route: Route,
    headers: Record<string, string> | undefined,
    signal: AbortSignal,
  ): Promise<FetchResult> {
    const o = this.#ctx.options;
    await this.#policy.check(new URL(item.url).hostname); // throws SsrfError: recorded as ssrf:
    const started = performance.now();
    const jar = route.session.cookies;
    let tab: Awaited<ReturnType<BrowserPool['acquire']>>;
    try {
      tab = await this.#pool.acquire(route.session.id, signal);
    } catch (err) {
      throw this.#failure(item.url, err);
    }
    try {
      const r = await renderPage(tab, {
        url: item.url,
        ...(headers === undefined ? {} : { headers }),
        timeoutMs: o.renderTimeoutMs,
        wait: o.renderWait,
        allow: new Set(o.renderResources),
        signal,
        ...(o.warc !== undefined || o.warcDir !== undefined ? { capture: true } : {}),
        ...(jar === null
          ? {}
          : {
              cookies: { toBrowser: () => jar.exportAll(), fromBrowser: (list) => jar.import(list) },
            }),
      });
      // Over plain http Chromium shows the guard's refusal of the document (or of one of its
      // redirect hops) as the page's own 403: it is the crawl's SSRF refusal, not the site's.
      const verdict = guardVerdict(r.status, r.headers);
      if (verdict === 'refused') {
        throw new FetchError(
          'ssrf',
          item.url,
          `the SSRF guard refused a request of the navigation (${r.finalUrl})`,
        );
      }
      if (verdict === 'error') {
        // The guard's own 502: the document's server could not be reached (a network failure).
        throw new FetchError('render', item.url, `navigation: ${r.finalUrl} could not be reached`, {
          code: 'navigation',
        });
      }
      // The crawl's redirect rule, as a plain fetch applies it to each hop (out of scope, or a
      // URL the crawl has on its own, is the page's redirect-blocked error). Chromium has already
      // followed the hops (through the guard, so never to a forbidden address); the record says
      // what a plain fetch would have said.
      for (const hop of r.redirects) {
        const refusal = this.#ctx.redirectRefusal(hop, item.url);
        if (refusal !== null)
          throw new FetchError('redirect-blocked', hop, `redirect to ${hop} refused: ${refusal}`);
      }
      this.#rendered++;
      const body = Buffer.from(r.html, 'utf8');
      const res: FetchResult = {
        url: item.url,
        finalUrl: r.finalUrl,
        status: r.status,
        headers: r.headers,
        contentType: 'text/html; charset=utf-8',
        mime: 'text/html',
        charset: 'utf-8',
        body,
        text: null,
        bytes: body.length,
        redirects: r.redirects,
        durationMs: performance.now() - started,
        retryAfterMs: parseRetryAfter(r.headers['retry-after'], Date.now()),
        discarded: false,
        rendered: true,
        ...(r.exchanges === undefined
          ? {}
          : { hops: r.exchanges.map((exchange) => ({ exchange, source: 'network' as const })) }),
      };
      // A handler may have added routes or listeners to its page: it is not reused.
      if (this.#hold) res.held = { page: tab.page, release: () => tab.release(true) };
      else await tab.release();
      return res;
    } catch (err) {
      await tab.release(true); // a page left in a bad state is not reused
      throw this.#failure(item.url, err);
    }
  }

  /**
   * `--render auto`: whether a page fetched plain must be rendered too, and why (null: the plain
   * response stands). Only a 2xx/3xx HTML response is looked at: its markup is checked for the
   * signs of an app shell (render/shell-detect.ts), and the learner for the page's host and label
   * says whether such pages still need the browser there (render/render-learner.ts).
   */
  wants(item: FrontierItem, res: FetchResult): string | null {
    if (res.status >= 400 || res.discarded) return null;
    if (res.mime !== 'text/html' && res.mime !== 'application/xhtml+xml') return null;
    // The shell check reads markup, not text: bytes outside ASCII cannot change its verdict much.
    const verdict = shellSignals(res.body.toString('latin1'));
    const d = this.#learner.decide(learnKey(item), verdict);
    return d.render ? d.reason : null;
  }

  /**
   * `--render auto`: tells the learner whether the plain and rendered results of a page agree
   * (the same title, and the rendered page's links all found in the plain one — see
   * resultsAgree), so that a kind of page whose plain HTML turns out complete stops being
   * rendered.
   */
  learn(item: FrontierItem, plain: FetchResult, rendered: FetchResult): void {
    const norm = { normalize: this.#ctx.norm };
    const a = extractPage(plain.body.toString('utf8'), plain.finalUrl, norm);
    const b = extractPage(rendered.body.toString('utf8'), rendered.finalUrl, norm);
    const view = (p: typeof a) => ({ title: p.title, links: p.links.map((l) => l.url) });
    this.#learner.observe(learnKey(item), resultsAgree(view(a), view(b)));
  }

  /**
   * `--render auto`: whether a page fetched plain, whose scraper handler found nothing on it (no
   * item pushed, nothing enqueued, no error), is to be fetched again by the browser and handled
   * again — unless its host and label have learned that plain pages are enough there (then only
   * the periodic recheck renders). True means: render it.
   */
  wantsAfterEmptyHandler(item: FrontierItem): boolean {
    return this.#learner.decide(learnKey(item), NOT_A_SHELL, true).render;
  }

  /**
   * `--render auto`: the handler ran on the rendered copy of a page it had found nothing on
   * plain; `foundSomething` says whether it found anything now. Nothing again is an agreement
   * (plain was enough), something is a disagreement (this kind of page needs the browser).
   */
  learnFromHandler(item: FrontierItem, foundSomething: boolean): void {
    this.#learner.observe(learnKey(item), !foundSomething);
  }

  #failure(url: string, err: unknown): unknown {
    if (err instanceof BrowserLaunchError) {
      this.#failed++;
      return new FetchError('render', url, `launch: ${err.message}`, { code: 'launch', cause: err });
    }
    if (!(err instanceof RenderError)) return err;
    this.#failed++;
    // `render: <kind>: <detail>`, e.g. `render: timeout: not rendered within 30000 ms`.
    return new FetchError('render', url, `${err.kind}: ${err.message}`, { code: err.kind, cause: err });
  }

  /** What rendering did so far. */
  stats(): RenderStats {
    const p = this.#pool.stats();
    return {
      rendered: this.#rendered,
      failed: this.#failed,
      refused: this.#guard.stats().refused,
      browsers: p.browsers,
      launches: p.launches,
      crashes: p.crashes,
      recycles: p.recycles,
    };
  }

  /** Closes the browsers and the guard proxy. */
  async close(): Promise<void> {
    await this.#pool.close();
    await this.#guard.close();
  }
}
