import type { FrontierStats } from './frontier/frontier.js';
import type { MetricsSnapshot } from './metrics/snapshot.js';

/**
 * Why a crawl ended: its frontier emptied (`done`), a limit was reached, or it was stopped
 * gracefully (first signal, `stop()`) or aborted (second signal, `abort()`).
 */
export type StopReason = 'done' | 'max-pages' | 'max-time' | 'stopped' | 'aborted';

/** The end-of-crawl summary. Read from the same counters as `/metrics`, so the two agree. */
export interface CrawlSummary {
  /** Why the crawl ended. */
  stopReason: StopReason;
  /** Records stored in this run (ok + failed; skipped URLs included in failed by kind). */
  pages: number;
  ok: number;
  failed: number;
  /** Failed records by error kind (`timeout`, `http`, `robots`, ...). */
  failedByKind: Record<string, number>;
  requests: number;
  retries: number;
  bytes: number;
  durationMs: number;
  pagesPerSecond: number;
  /** The frontier at the end (a stopped crawl leaves URLs queued for the next run). */
  frontier: FrontierStats;
}

/** Builds the summary from a metrics snapshot and the frontier's final counts. */
export function summarize(
  snap: MetricsSnapshot,
  startedAt: number,
  frontier: FrontierStats,
  stopReason: StopReason = 'done',
): CrawlSummary {
  const durationMs = Math.max(1, Date.now() - startedAt);
  const failed = snap.errors.total;
  return {
    stopReason,
    pages: snap.pagesStored,
    ok: snap.pagesStored - failed,
    failed,
    failedByKind: { ...snap.errors.byKind },
    requests: snap.requests.total,
    retries: snap.retries.total,
    bytes: snap.responseBytes,
    durationMs,
    pagesPerSecond: (snap.pagesStored * 1000) / durationMs,
    frontier,
  };
}

/** The summary as the CLI prints it: a few aligned lines. */
export function formatSummary(s: CrawlSummary): string {
  const kinds = Object.entries(s.failedByKind)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return [
    `pages:    ${s.pages} stored (${s.ok} ok, ${s.failed} failed${kinds ? `: ${kinds}` : ''})`,
    `requests: ${s.requests} (${s.retries} retries), ${formatBytes(s.bytes)}`,
    `time:     ${(s.durationMs / 1000).toFixed(1)} s, ${s.pagesPerSecond.toFixed(1)} pages/s`,
    `frontier: ${s.frontier.queued} queued, ${s.frontier.done} done, ${s.frontier.seen} seen${s.stopReason === 'done' ? '' : ` (ended: ${s.stopReason}${s.frontier.queued > 0 ? '; rerun to resume' : ''})`}`,
  ].join('\n');
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}
