import type { FrontierStats } from './frontier/frontier.js';
import type { MetricsSnapshot } from './metrics/snapshot.js';

/**
 * Why a crawl ended: its frontier emptied (`done`), a limit was reached, or it was stopped
 * gracefully (first signal, `stop()`) or aborted (second signal, `abort()`), or the disk holding
 * its output or state filled up (`storage-full`: stopped as a graceful stop, see storageError).
 */
export type StopReason = 'done' | 'max-pages' | 'max-time' | 'stopped' | 'aborted' | 'storage-full';

/** The end-of-crawl summary. Read from the same counters as `/metrics`, so the two agree. */
export interface CrawlSummary {
  /** Why the crawl ended. */
  stopReason: StopReason;
  /** Records stored in this run: ok + failed + skipped. */
  pages: number;
  /** Records without an error. */
  ok: number;
  /** Items a scraper's handlers pushed (stored with their pages); 0 for a plain crawl. */
  items: number;
  /** Records of pages that failed (their error says why). */
  failed: number;
  /** Failed records by error kind (`timeout`, `http`, `network`, ...). */
  failedByKind: Record<string, number>;
  /** Records of URLs not requested by the crawl's rules (robots.txt refusal, --max-pages-per-host). */
  skipped: number;
  /** Skipped records by error kind (`robots`, `skipped`). */
  skippedByKind: Record<string, number>;
  /** Sitemaps that could not be fetched or read (not pages: no record is stored for them). */
  sitemapErrors: number;
  requests: number;
  retries: number;
  bytes: number;
  durationMs: number;
  pagesPerSecond: number;
  /** The frontier at the end (a stopped crawl leaves URLs queued for the next run). */
  frontier: FrontierStats;
  /** Whether the crawl kept durable state (a state file): only then can a rerun resume it. */
  resumable: boolean;
  /**
   * Present when the crawl rendered pages (`--render`): how many were rendered and why (`always`,
   * or `--render auto`'s reasons), how many of those were second fetches (fetched plain first,
   * `--render auto`), and the requests rendered pages made through the SSRF guard and how many it
   * refused.
   */
  render?: MetricsSnapshot['render'];
  /** Present for a recrawl pass (`--recrawl`): its records by `change` (new, changed, unchanged, gone). */
  changes?: Record<string, number>;
  /**
   * Set when the crawl stopped because its output or state file hit a full disk (stopReason
   * `storage-full`): the file and the problem. The batch being stored then was not marked done,
   * so its pages come back on resume.
   */
  storageError?: { path: string; message: string };
}

/** How the crawl ended beyond its counters. */
export interface SummaryEnd {
  stopReason: StopReason;
  /** Whether the crawl had durable state (see CrawlSummary.resumable). */
  resumable: boolean;
  /** The full-disk error that stopped it (a StorageFullError), if any. */
  storageError?: { path: string; message: string } | null | undefined;
}

/**
 * Builds the summary from a metrics snapshot and the frontier's final counts: page counts by
 * outcome come from the snapshot's `pages` (the same counters as trawl_page_outcomes_total),
 * failed kinds from its errors without `sitemap`, which is reported as sitemapErrors.
 */
export function summarize(
  snap: MetricsSnapshot,
  startedAt: number,
  frontier: FrontierStats,
  end: SummaryEnd = { stopReason: 'done', resumable: false },
): CrawlSummary {
  const durationMs = Math.max(1, Date.now() - startedAt);
  const { sitemap: sitemapErrors = 0, ...failedByKind } = snap.errors.byKind;
  return {
    stopReason: end.stopReason,
    pages: snap.pagesStored,
    ok: snap.pages.ok,
    items: snap.itemsStored,
    failed: snap.pages.failed,
    failedByKind,
    skipped: snap.pages.skipped,
    skippedByKind: { ...snap.pages.skippedByKind },
    sitemapErrors,
    requests: snap.requests.total,
    retries: snap.retries.total,
    bytes: snap.responseBytes,
    durationMs,
    pagesPerSecond: (snap.pagesStored * 1000) / durationMs,
    frontier,
    resumable: end.resumable,
    ...(snap.render.pages > 0 || snap.render.browserRequests > 0
      ? {
          render: {
            ...snap.render,
            byReason: { ...snap.render.byReason },
            browsers: { ...snap.render.browsers },
          },
        }
      : {}),
    ...(Object.keys(snap.changes).length > 0 ? { changes: { ...snap.changes } } : {}),
    ...(end.storageError
      ? { storageError: { path: end.storageError.path, message: end.storageError.message } }
      : {}),
  };
}

/**
 * The summary as the CLI prints it: a few aligned lines. The "rerun to resume" hint appears only
 * for a crawl that ended early with URLs left and durable state to resume from.
 */
export function formatSummary(s: CrawlSummary): string {
  const kinds = (byKind: Record<string, number>) =>
    Object.entries(byKind)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
  const failed = kinds(s.failedByKind);
  const skipped = kinds(s.skippedByKind);
  const resume = s.resumable && s.frontier.queued + s.frontier.leased > 0 ? '; rerun to resume' : '';
  return [
    `pages:    ${s.pages} stored (${s.ok} ok, ${s.failed} failed${failed ? `: ${failed}` : ''}` +
      `${s.skipped > 0 ? `, ${s.skipped} skipped: ${skipped}` : ''})` +
      `${s.sitemapErrors > 0 ? `; ${s.sitemapErrors} sitemap errors` : ''}`,
    ...(s.items > 0 ? [`items:    ${s.items} stored`] : []),
    ...(s.changes
      ? [
          `changes:  ${['new', 'changed', 'unchanged', 'gone'].map((c) => `${s.changes![c] ?? 0} ${c}`).join(', ')}`,
        ]
      : []),
    ...(s.render
      ? [
          `rendered: ${s.render.pages} pages (${kinds(s.render.byReason) || 'none'})` +
            `${s.render.afterPlain > 0 ? `, ${s.render.afterPlain} of them fetched plain first` : ''}; ` +
            `${s.render.browserRequests} browser requests, ${s.render.refused} refused by the SSRF guard; ` +
            `Chromium launched ${s.render.browsers.launches}×` +
            `${s.render.browsers.crashes > 0 ? `, ${s.render.browsers.crashes} crashed` : ''}` +
            `${s.render.browsers.recycles > 0 ? `, ${s.render.browsers.recycles} recycled` : ''}`,
        ]
      : []),
    `requests: ${s.requests} (${s.retries} retries), ${formatBytes(s.bytes)}`,
    `time:     ${(s.durationMs / 1000).toFixed(1)} s, ${s.pagesPerSecond.toFixed(1)} pages/s`,
    `frontier: ${s.frontier.queued} queued, ${s.frontier.done} done, ${s.frontier.seen} seen${s.stopReason === 'done' ? '' : ` (ended: ${s.stopReason}${resume})`}`,
    ...(s.storageError ? [`storage:  ${s.storageError.message}`] : []),
  ].join('\n');
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}
