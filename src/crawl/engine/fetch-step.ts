import { LimiterDeadlineError } from '../../conc/rate.js';
import { classifyError, FetchError } from '../fetch/errors.js';
import { type FetchResult, fetchPage, NOT_ADMITTED } from '../fetch/fetch-page.js';
import { type AttemptOutcome, decide, MAX_RETRY_AFTER_MS, type RetryPolicy } from '../fetch/retry.js';
import type { Session } from '../fetch/session-pool.js';
import { type PageVersion, pausesHosts } from '../frontier/frontier.js';
import type { CrawlOptions } from '../options.js';
import { cacheHops } from './cache-hops.js';
import type { EngineContext } from './context.js';
import { type Identities, isProxyFault, proxyErrorOf } from './identities.js';
import type { IdleWatch } from './idle-watch.js';
import { Logins } from './logins.js';
import type { FetchJob, HostSlot, Outcome } from './outcome.js';
import type { Rendering } from './rendering.js';

/** The retry policy the crawl's options give (Retry-After honoured up to a day). */
export function retryPolicyOf(o: CrawlOptions): RetryPolicy {
  return {
    retries: o.retries,
    baseMs: o.retryBaseMs,
    capMs: o.retryCapMs,
    maxRetryAfterMs: MAX_RETRY_AFTER_MS,
  };
}

/**
 * The fetch worker's job: one request for a leased URL, under the crawl's connection cap and
 * global rate, and the retry policy's decision on its result (fetch/retry.ts `decide`). Never
 * rejects for a failure it expects: a stop before the request gives 'unstarted', a failure
 * 'retry' or 'failed', a response 'retry' or 'fetched'. A 429/503 also pauses the host (and the
 * frontier's copy of the pause, when it keeps one). With `rendering`, a GET page is loaded by
 * Chromium instead (--render), or fetched plain and then loaded by Chromium when the plain
 * response needs it (--render auto: two requests, each under its own connection slot and token). `watch` learns when a worker waits for a
 * rate token (idle-watch.ts); `onDeadline` when a token would come after --max-time.
 */
export function fetchStep(
  d: EngineContext,
  ids: Identities,
  rendering: Rendering | null,
  onDeadline: () => void,
  watch: Pick<IdleWatch, 'tokenWait'>,
): (job: FetchJob, signal: AbortSignal) => Promise<Outcome> {
  const o = d.options;
  const policy = retryPolicyOf(o);
  const crawlHeaders = o.headers !== undefined && Object.keys(o.headers).length > 0 ? o.headers : undefined;
  const logins = ids.login === null ? null : new Logins(ids.login, d, ids);
  // --warc: keep each hop as it crossed the wire, for the store step's archive.
  const capture = o.warc !== undefined || o.warcDir !== undefined;
  // --auto-throttle: the throttle's update count last shown to the metrics, per host.
  const shown = new WeakMap<HostSlot, number>();
  return async (job, signal) => {
    const { item, host } = job;
    if (d.stop.aborted) return { kind: 'unstarted', item, host };
    const route = ids.route(item.url);
    // Every proxy this target may use is on backoff: wait for the first to come back, with no
    // token or connection taken and no attempt counted.
    if ('waitMs' in route) return { kind: 'retry', item, host, at: d.clock.now() + route.waitMs };
    const attempts = item.attempts + 1;
    const started = performance.now();
    if (logins !== null && !route.session.loggedIn) {
      try {
        await logins.ensure(route, signal);
      } catch (err) {
        if (signal.aborted || d.stop.aborted) return { kind: 'unstarted', item, host };
        const error = `login: ${(err as Error).message}`;
        return settle(d, policy, job, { kind: 'login', error, retryable: true }, attempts, 0)!;
      }
    }
    // A connection slot, a global rate token and the host's wire token (HostPoliteness.wire),
    // taken last, right before the request, so the server sees the buckets' rates (a token taken
    // earlier could wait in a queue and arrive bunched with later ones). False: stopped, or no
    // token in time (no request made).
    const admit = async (): Promise<boolean> => {
      try {
        await d.connections.acquire(1, signal);
      } catch {
        return false;
      }
      try {
        const waitStart = performance.now();
        watch.tokenWait(true);
        try {
          await d.limiter.wait(d.stop);
          await host.wire.wait(d.stop);
        } finally {
          watch.tokenWait(false);
        }
        d.metrics.limiterWait(performance.now() - waitStart);
        return true;
      } catch (err) {
        // Stopped, or this request's token would come after the crawl's deadline: no request is
        // made. Tokens are reserved in order, so no URL leased later could go in time either.
        d.connections.release(1);
        if (err instanceof LimiterDeadlineError) onDeadline(); // stop leasing: no later token is in time
        return false;
      }
    };
    // A request that failed: stopped, a proxy's own fault (another proxy, no attempt), or the
    // page's failed attempt.
    const failedRequest = (err: unknown): Outcome => {
      const durationMs = performance.now() - started;
      if (signal.aborted) return { kind: 'unstarted', item, host };
      const proxyError = route.proxy === null ? null : proxyErrorOf(err);
      if (proxyError !== null && route.proxy !== null && isProxyFault(proxyError)) {
        // The proxy failed, not the target: back off from it and go again through another one,
        // without counting an attempt (the target was never reached) — once per proxy, then
        // the failure counts as an attempt like any network error (a bound if every proxy
        // fails the same way).
        route.proxy.pool.failed(route.proxy.index, proxyError.reason);
        const fails = item.proxyFailures ?? 0;
        if (fails < route.proxy.pool.size) {
          d.metrics.retry(item.host, 'proxy');
          return { kind: 'retry', item: { ...item, proxyFailures: fails + 1 }, host, at: d.clock.now() };
        }
      }
      d.metrics.requestFinished(item.host, null, durationMs, 0);
      const error = classifyError(err, item.url);
      return settle(d, policy, job, { kind: 'error', error }, attempts, durationMs)!;
    };
    const parts = requestParts(item);
    let headers = crawlHeaders === undefined ? parts.headers : { ...crawlHeaders, ...parts.headers };
    // A recrawl asks whether the page changed since it was fetched (a 304 carries no body).
    if (o.recrawl === true && item.prior !== undefined && parts.method === undefined) {
      const validators = conditionalHeaders(item.prior);
      if (validators !== null) headers = { ...validators, ...headers };
    }
    // A page goes to Chromium with --render, and with --render auto when its plain response asks
    // for it (below); a request that is not a GET (a scraper's form POST) is always plain.
    const renders = rendering !== null && (parts.method === undefined || parts.method === 'GET');
    const rendersNow = renders && (o.render === 'always' || item.renderAgain === true);
    // With --cache a page is admitted (slot and token) only when it goes to the network: fetchPage
    // asks before its first network hop, and a replayed page takes neither.
    const lazy = d.cache !== null && !rendersNow;
    let admitted = false;
    if (!lazy) {
      if (!(await admit())) return { kind: 'unstarted', item, host };
      admitted = true;
    }
    let res: FetchResult;
    let sentAt = d.clock.now();
    // Whether the response's time is the host's answer to a plain request (for --auto-throttle):
    // a rendered page's is the browser's, a replayed one's no request's at all.
    let timed = !rendersNow;
    try {
      host.requests++;
      if (rendersNow) {
        res = await rendering!.render(item, route, headers, signal);
        // --render auto: the handler found nothing on this page fetched plain (handler-outcome.ts).
        if (item.renderAgain) d.metrics.rendered('empty-handler', true);
        else d.metrics.rendered('always', false);
      } else {
        res = await fetchPage(item.url, {
          decodeText: false, // decoded on a parse thread
          dispatcher: route.dispatcher,
          timeoutMs: o.timeoutMs,
          maxBytes: o.maxBytes,
          userAgent: o.userAgent,
          ...parts,
          ...(headers === undefined ? {} : { headers }),
          ...(route.session.cookies === null ? {} : { cookies: route.session.cookies }),
          signal,
          checkRedirect: (next) => d.redirectRefusal(next, item.url),
          ...(capture ? { capture } : {}),
          ...(lazy
            ? {
                hopStore: cacheHops(d.cache!, d.cacheFailures),
                beforeNetwork: async () => {
                  admitted = await admit();
                  sentAt = d.clock.now();
                  return admitted;
                },
              }
            : {}),
        });
      }
    } catch (err) {
      if (admitted) d.connections.release(1);
      if (err instanceof FetchError && err.cause === NOT_ADMITTED) return { kind: 'unstarted', item, host };
      return failedRequest(err);
    }
    if (admitted) d.connections.release(1);
    if (renders && o.render === 'auto' && !item.renderAgain) {
      const why = rendering.wants(item, res);
      if (why !== null) {
        // The plain response was an app shell (or its kind of page needs rendering): the second
        // fetch, by the browser, under its own connection slot and rate token.
        d.metrics.requestFinished(item.host, res.status, res.durationMs, res.bytes);
        if (!(await admit())) return { kind: 'unstarted', item, host };
        const plain = res;
        sentAt = d.clock.now();
        timed = false;
        try {
          host.requests++;
          res = await rendering.render(item, route, headers, signal);
          d.metrics.rendered(why, true);
          rendering.learn(item, plain, res);
        } catch (err) {
          d.connections.release(1);
          return failedRequest(err);
        }
        d.connections.release(1);
      }
    }
    if (route.proxy !== null) route.proxy.pool.succeeded(route.proxy.index);
    d.metrics.requestFinished(item.host, res.status, res.durationMs, res.bytes);
    if (ids.rotates && ids.sessions.isBlock(res.status)) {
      const blocked = blockRetry(d, ids, job, route.session, res.status, attempts);
      if (blocked !== null) {
        void res.held?.release();
        return blocked;
      }
    }
    let waitMs: number | undefined;
    if (res.status === 429 || res.status === 503) {
      // sentAt: responses to requests already in flight when a pause began count as one event.
      const pause = d.hosts.throttle(host, res.retryAfterMs, sentAt, res.status);
      // --auto-throttle answers a 429/503 without Retry-After with less concurrency, not a pause:
      // the page's retry then waits out its own backoff (retry.ts), as after a network error.
      waitMs = host.auto !== null && pause === 0 ? undefined : pause;
      if (pausesHosts(d.frontier)) void d.frontier.pauseHost(item.host, host.pausedUntil);
      d.metrics.setHostState(item.host, { backoffUntil: host.pausedUntil });
    } else if (res.status < 400 && (host.auto === null || admitted)) {
      d.hosts.succeeded(host, sentAt, timed && admitted ? d.clock.now() - sentAt : null);
    }
    if (host.auto !== null && shown.get(host) !== host.auto.updates) {
      shown.set(host, host.auto.updates);
      d.metrics.setHostState(item.host, { throttle: host.auto.state() });
    }
    const outcome: AttemptOutcome = {
      kind: 'response',
      status: res.status,
      retryAfterMs: res.retryAfterMs,
      ...(waitMs === undefined ? {} : { waitMs }),
    };
    const decided = settle(d, policy, job, outcome, attempts, res.durationMs);
    if (decided !== null) void res.held?.release(); // the response is not kept: nobody reads the tab
    return decided ?? { kind: 'fetched', item, host, res, attempts, session: route.session };
  };
}

/**
 * A page answered with a block code on `session`: the session is retired (its replacement takes
 * its place) and the page goes again, now, on another identity. Only the first block of a page
 * counts as an attempt against --retries; a page is retried for blocks at most once per live
 * session plus one, then its blocked response stands (null: keep the response).
 */
function blockRetry(
  d: EngineContext,
  ids: Identities,
  job: FetchJob,
  session: Session,
  status: number,
  attempts: number,
): Outcome | null {
  const { item, host } = job;
  const blocks = item.blocks ?? 0;
  if (blocks > ids.sessions.size) return null;
  ids.sessions.observe(session, status);
  d.metrics.retry(item.host, 'blocked');
  const counted = blocks === 0 ? attempts : item.attempts;
  return { kind: 'retry', item: { ...item, attempts: counted, blocks: blocks + 1 }, host, at: d.clock.now() };
}

/** If-None-Match / If-Modified-Since from a page's last fetch, or null when it had no validators. */
function conditionalHeaders(prior: PageVersion): Record<string, string> | null {
  if (prior.etag === null && prior.lastModified === null) return null;
  const h: Record<string, string> = {};
  if (prior.etag !== null) h['if-none-match'] = prior.etag;
  if (prior.lastModified !== null) h['if-modified-since'] = prior.lastModified;
  return h;
}

/** The method, headers and body a scraper asked for (nothing for a plain link: a GET). */
function requestParts(item: FetchJob['item']): {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
} {
  const r = item.request;
  if (r === undefined) return {};
  const parts: { method?: string; headers?: Record<string, string>; body?: string } = {};
  if (r.method !== undefined) parts.method = r.method;
  if (r.headers !== undefined) parts.headers = r.headers;
  if (r.body !== undefined) parts.body = r.body;
  return parts;
}

/**
 * Applies the retry policy to attempt `attempts` of `job`: a 'retry' outcome (counted in the
 * retry metric), a 'failed' one, or null when the policy keeps a response ('ok': only ever for a
 * response, so callers with an error or robots outcome always get an Outcome).
 */
function settle(
  ctx: EngineContext,
  policy: RetryPolicy,
  job: FetchJob,
  outcome: AttemptOutcome,
  attempts: number,
  durationMs: number,
): Outcome | null {
  const { item, host } = job;
  const decision = decide(outcome, attempts, ctx.clock.now(), policy);
  if (decision.kind === 'retry') {
    ctx.metrics.retry(item.host, decision.reason);
    return { kind: 'retry', item: { ...item, attempts }, host, at: decision.at };
  }
  if (decision.kind === 'ok') return null;
  return { kind: 'failed', item, host, error: decision.error, attempts, status: null, durationMs };
}

/**
 * The outcome of a page whose host's robots.txt is unreachable (network error or 5xx): a failed
 * attempt of the page, retried by the normal policy (robots.txt is asked again before the next
 * attempt), then a failed record with `error` and the attempts made. No request was made.
 */
export function robotsUnreachable(
  d: EngineContext,
  job: FetchJob,
  error: string,
  retryable: boolean,
): Outcome {
  return settle(
    d,
    retryPolicyOf(d.options),
    job,
    { kind: 'robots-unreachable', error, retryable },
    job.item.attempts + 1,
    0,
  )!;
}
