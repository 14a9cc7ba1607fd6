import type { Page } from 'playwright-core';
import type { Channel } from '../../conc/channel.js';
import { fanOut, merge, stage } from '../../conc/pipeline.js';
import type { JobResult } from '../../conc/pool.js';
import type { FetchResult } from '../fetch/fetch-page.js';
import type { Session } from '../fetch/session-pool.js';
import type { FrontierItem } from '../frontier/frontier.js';
import type { CrawlMetrics } from '../metrics/metrics.js';
import { createParser, type ParseConfig, type ParseJob, type ParseOutput } from '../parse/parse-job.js';
import type { ParseThread } from '../parse/parse-thread.js';
import type { FetchJob, Outcome, Parsed } from './outcome.js';

/**
 * The parse stage: fan-out of the fetch workers' results to K parse threads (or the main thread
 * when there are none), fan-in to one channel for the store. Only a fetched HTML page with a
 * status below 400 is parsed (with a scraper, also JSON, XML and text: its handlers get them);
 * everything else passes through. `settle` sees every parsed page (the scraper handler's retry
 * decision, engine/handler-outcome.ts). A fetch job the pool did not run
 * because of the hard stop (`abort`) is 'unstarted'; one that rejected otherwise (a bug: the
 * fetch step catches what it expects) becomes a failed outcome with an `internal:` error.
 */
export function parseStage(
  input: Channel<JobResult<FetchJob, Outcome>>,
  threads: ParseThread[],
  config: ParseConfig,
  metrics: CrawlMetrics,
  abort: AbortSignal,
  settle: (p: Parsed) => Parsed = (p) => p,
): Channel<Parsed> {
  const parseOn =
    (parse: (job: ParseJob) => Promise<ParseOutput>) =>
    async (result: JobResult<FetchJob, Outcome>): Promise<Parsed> => {
      const outcome: Outcome = result.ok
        ? result.value
        : abort.aborted // a hard stop delivers queued jobs unrun: back to the frontier, not failed
          ? { kind: 'unstarted', item: result.job.item, host: result.job.host }
          : {
              kind: 'failed',
              item: result.job.item,
              host: result.job.host,
              error: `internal: ${String(result.error)}`,
              attempts: result.job.item.attempts + 1,
              status: null,
              durationMs: 0,
            };
      // A tab held open for the handler (engine/rendering.ts) is released once the page is parsed.
      const held = outcome.kind === 'fetched' ? outcome.res.held : undefined;
      try {
        return await parseFetched(outcome, parse);
      } finally {
        if (held !== undefined) await held.release();
      }
    };
  const parseFetched = async (
    outcome: Outcome,
    parse: (job: ParseJob) => Promise<ParseOutput>,
  ): Promise<Parsed> => {
    const handled = config.scraper != null ? isScrapable : isHtml;
    if (outcome.kind !== 'fetched' || !handled(outcome.res) || outcome.res.status >= 400) {
      return { outcome, page: null, parseError: null };
    }
    const res = outcome.res;
    const job: ParseJob = {
      body: res.body,
      mime: res.mime,
      charset: res.charset,
      url: res.finalUrl,
      depth: outcome.item.depth,
    };
    if (config.scraper != null) job.page = handlerPage(outcome.item, res, outcome.session);
    if (res.held !== undefined && threads.length === 0) job.browserPage = res.held.page as Page;
    try {
      const page = await parse(job);
      metrics.parseTime(page.parseMs);
      return settle({ outcome, page, parseError: null });
    } catch (err) {
      return { outcome, page: null, parseError: `parse: ${(err as Error).message}` };
    }
  };
  if (threads.length === 0) {
    const parse = createParser(config);
    return stage(
      input,
      parseOn(async (job) => parse(job)),
      { buffer: 64 },
    );
  }
  const lanes = fanOut(input, threads.length);
  return merge(
    ...lanes.map((lane, i) =>
      stage(
        lane,
        parseOn((job) => threads[i]!.parse(job)),
        { concurrency: 32, buffer: 32 },
      ),
    ),
  );
}

/** What a scraper's handler learns about the request and response beside the body. */
function handlerPage(item: FrontierItem, res: FetchResult, session?: Session): NonNullable<ParseJob['page']> {
  const r = item.request;
  return {
    ...(session === undefined
      ? {}
      : { session: { id: session.id, cookies: session.cookies?.cookiesFor(res.finalUrl) ?? [] } }),
    requestUrl: item.url,
    ...(item.key === undefined ? {} : { key: item.key }),
    label: r?.label ?? null,
    userData: r?.userData ?? {},
    method: r?.method ?? 'GET',
    referrer: item.referrer,
    status: res.status,
    headers: res.headers,
  };
}

function isHtml(res: FetchResult): boolean {
  return res.mime === 'text/html' || res.mime === 'application/xhtml+xml';
}

/** A scraper's handlers also get JSON, XML and plain-text responses (an API answering a POST). */
function isScrapable(res: FetchResult): boolean {
  const m = res.mime;
  return (
    isHtml(res) ||
    m === 'application/json' ||
    (m !== null && (m.startsWith('text/') || m.endsWith('+json') || m.endsWith('/xml') || m.endsWith('+xml')))
  );
}
