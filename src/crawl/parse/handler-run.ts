/**
 * Runs a scraper's handler on one parsed page: builds its context, awaits it, and collects what
 * it pushed and enqueued. Only scraper crawls import this module (it loads cheerio).
 */

import type { Document } from 'domhandler';
import type { Item } from '../record.js';
import { infiniteScroll } from '../render/infinite-scroll.js';
import type { NormalizeOptions } from '../url/normalize.js';
import type { Scope } from '../url/scope.js';
import { createEnqueue, type EnqueuedRequest } from './enqueue.js';
import { EnqueueError, isDeterministicHandlerError, PushError } from './handler-errors.js';
import { handlerLog } from './handler-log.js';
import { jsonDataProblem } from './json-data.js';
import { LazyDocument } from './lazy-cheerio.js';
import { type LoadedScraper, loadScraper } from './load-scraper.js';
import type { ParseConfig, ParseJob, ScraperPage } from './parse-job.js';
import type { HandlerContext, HandlerRequest, HandlerResponse, HandlerSession } from './scraper.js';

/** What a handler run produced. On error, items and requests are empty: a failed attempt yields nothing. */
export interface HandlerResult {
  items: Item[];
  requests: EnqueuedRequest[];
  /** `handler: <message>`, or null when the handler finished. */
  handlerError: string | null;
  /** Whether fetching the page again could help (false for a missing label or a misused enqueue/push). */
  handlerRetryable: boolean;
  /** Why the handler retired its session (`session.retire()`), or null; kept when the handler fails too. */
  retireSession: string | null;
}

/**
 * Runs the handler for one page. `resolved` (optional): the page's link values already resolved
 * against its base by the link extraction (extract.ts `resolved`), reused by `enqueue`.
 * `document` (optional): the page's DOM, already built from `html` (extract.ts `document`); `$`
 * then binds it instead of parsing `html` again.
 */
export interface HandlerRunner {
  (
    job: ParseJob,
    html: string,
    baseHref: string | null,
    resolved?: ReadonlyMap<string, string | null>,
    document?: Document,
  ): Promise<HandlerResult>;
  /**
   * Whether to build `job`'s DOM while extracting its links (one tokenizer pass instead of two):
   * true when the last page this runner handled with the same handler label used `$`; false
   * for a label not seen yet. A wrong guess costs only time: an unused DOM is dropped, and a
   * missing one is built when `$` is first touched.
   */
  wantsDocument(job: ParseJob): boolean;
}

/**
 * The handler runner for `scraper` under `config` (the crawl's scope, traps, depth limit and
 * normalization apply to what handlers enqueue). For each page it picks the handler of the
 * page's label (`default` for none): with none, the result is `handler: no handler for label X`,
 * not retryable. The handler gets a {@link HandlerContext}; when it returns (or its promise
 * resolves) its pushes and enqueues are the result. When it throws or rejects, the result is
 * `handler: <first line of the message>` with nothing pushed or enqueued, retryable unless the
 * error is an EnqueueError or PushError (deterministic: the same page would fail the same way).
 * A handler still running after `config.handlerTimeoutMs` (default 60 s) fails the same way,
 * `handler: timed out after N ms`, retryable; what it does later is discarded.
 * `enqueue` and `push` called after the handler settled throw (their work would be lost).
 * A job without `page` (the engine sets it for scraper crawls) is handled as a plain GET of
 * `job.url` with label null, empty userData and status 200.
 */
export function createHandlerRunner(
  scraper: LoadedScraper,
  config: ParseConfig,
  scope: Scope,
): HandlerRunner {
  const labels = new Set(scraper.labels);
  const normalize: NormalizeOptions = {
    stripParams: config.stripParams,
    stripSessionIds: config.stripSessionIds === true,
  };
  // Per handler label: did its last page use `$`? (see HandlerRunner.wantsDocument)
  const usedDocument = new Map<string, boolean>();
  const run = async (
    job: ParseJob,
    html: string,
    baseHref: string | null,
    resolved?: ReadonlyMap<string, string | null>,
    document?: Document,
  ): Promise<HandlerResult> => {
    const page: ScraperPage = job.page ?? {
      requestUrl: job.url,
      label: null,
      userData: {},
      method: 'GET',
      referrer: null,
      status: 200,
      headers: {},
    };
    const handler = scraper.handlers[page.label ?? 'default'];
    if (handler === undefined) {
      return fail(`handler: no handler for label ${page.label ?? 'default'}`, false);
    }
    const doc = new LazyDocument(html, baseHref ?? job.url, document);
    const items: Item[] = [];
    const requests: EnqueuedRequest[] = [];
    let settled = false;
    const enqueue = createEnqueue(
      {
        base: baseHref ?? job.url,
        depth: job.depth,
        maxDepth: config.maxDepth,
        scope,
        traps: config.traps,
        normalize,
        labels,
        doc,
        ...(resolved === undefined ? {} : { resolved }),
      },
      requests,
    );
    const request: HandlerRequest = Object.freeze({
      url: page.requestUrl,
      label: page.label,
      // A copy: on the main thread the object is the frontier's own.
      userData: Object.keys(page.userData).length === 0 ? {} : structuredClone(page.userData),
      depth: job.depth,
      referrer: page.referrer,
      method: page.method,
      uniqueKey: page.key ?? page.requestUrl,
    });
    const response: HandlerResponse = Object.freeze({
      url: job.url,
      status: page.status,
      headers: page.headers,
    });
    let retireSession: string | null = null;
    const session: HandlerSession | null =
      page.session === undefined
        ? null
        : Object.freeze({
            id: page.session.id,
            cookies: Object.freeze(page.session.cookies.map((c) => Object.freeze({ ...c }))),
            retire: (reason?: string) => {
              if (settled) return; // too late: the page's outcome is already decided
              retireSession = typeof reason === 'string' && reason !== '' ? reason : 'retired by handler';
            },
          });
    const $ = doc.proxy();
    const ctx: HandlerContext = {
      request,
      response,
      // A data property, not a getter: `$` is already lazy (a stand-in that builds the document on
      // first use), and an accessor in this literal made V8 keep every page's DOM past the young
      // generation (measured: scavenges 5× longer and a full GC every ~2 s; bench:scraper).
      $,
      html,
      enqueue: (input) => {
        if (settled) throw new EnqueueError('enqueue called after the handler finished');
        return enqueue(input);
      },
      push: (item) => {
        if (settled) throw new PushError('push called after the handler finished');
        if (typeof item !== 'object' || item === null || Array.isArray(item))
          throw new PushError('push: an item must be a plain object');
        const problem = jsonDataProblem(item);
        if (problem !== null) throw new PushError(`push: ${problem}`);
        items.push(item);
      },
      log: handlerLog(page.label, page.requestUrl),
      session,
      page: job.browserPage ?? null,
      infiniteScroll: (options) => {
        if (job.browserPage === undefined) {
          return Promise.reject(
            new Error('infiniteScroll needs the rendered page: run with --render and --parsers 0'),
          );
        }
        return infiniteScroll(job.browserPage, options);
      },
    };
    const limitMs = config.handlerTimeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // A handler that never settles would hold its page (and the end of the crawl) forever.
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${limitMs} ms`)), limitMs);
    });
    try {
      await Promise.race([handler(ctx), timeout]);
    } catch (err) {
      return { ...fail(`handler: ${messageOf(err)}`, !isDeterministicHandlerError(err)), retireSession };
    } finally {
      clearTimeout(timer);
      settled = true;
      usedDocument.set(page.label ?? 'default', doc.used);
    }
    return { items, requests, handlerError: null, handlerRetryable: false, retireSession };
  };
  return Object.assign(run, {
    wantsDocument: (job: ParseJob) => usedDocument.get(job.page?.label ?? 'default') === true,
  });
}

/** How long a handler may run on one page unless the crawl says otherwise (`--handler-timeout`). */
export const DEFAULT_HANDLER_TIMEOUT_MS = 60_000;

/**
 * Loads the scraper module `file` in this thread (see loadScraper; rejects with its
 * ScraperError) and returns {@link createHandlerRunner} for it.
 */
export async function loadHandlerRunner(
  file: string,
  config: ParseConfig,
  scope: Scope,
): Promise<HandlerRunner> {
  return createHandlerRunner(await loadScraper(file), config, scope);
}

function fail(handlerError: string, handlerRetryable: boolean): HandlerResult {
  return { items: [], requests: [], handlerError, handlerRetryable, retireSession: null };
}

/** The first line of an error's message (records hold one-line errors); String(x) for a non-Error. */
function messageOf(err: unknown): string {
  const s = err instanceof Error ? err.message || err.name : String(err);
  const nl = s.indexOf('\n');
  return nl < 0 ? s : s.slice(0, nl);
}
