import { CrawlMetrics } from '../crawl/metrics/metrics.js';
import type { DashboardSnapshot } from '../crawl/metrics/snapshot.js';
import type { PageRecord } from '../crawl/record.js';
import { openState } from '../crawl/state/state-db.js';
import { readStatus } from '../crawl/state/status.js';

/**
 * A dashboard source over a state file (`trawl dashboard <state>`), for a finished crawl or one
 * running in another process. It replays the state's committed records into its own
 * CrawlMetrics — each new record once, in commit order — so the page shows the same tables and
 * charts as a live crawl. Reads are read-only and at most one per `pollMs`.
 */
export function stateDashboardSource(
  statePath: string,
  pollMs = 1000,
): { source: () => DashboardSnapshot; metrics: CrawlMetrics } {
  const metrics = new CrawlMetrics();
  let lastRowid = 0;
  let lastPoll = 0;
  const poll = () => {
    const state = openState(statePath, { readonly: true });
    try {
      const rows = state.db
        .prepare('SELECT rowid, host, record FROM results WHERE rowid > ? ORDER BY rowid LIMIT 100000')
        .all(lastRowid) as { rowid: number; host: string; record: string }[];
      for (const row of rows) {
        lastRowid = row.rowid;
        const r = JSON.parse(row.record) as PageRecord;
        if (r.attempts > 0) metrics.requestFinished(row.host, r.status, r.duration_ms, r.bytes);
        metrics.pageStored({ url: r.url, status: r.status, title: r.title, error: r.error, host: row.host });
        if (r.error) metrics.error(r.error.split(':')[0] ?? 'error', row.host, r.url, r.error);
      }
    } finally {
      state.close();
    }
    const s = readStatus(statePath);
    metrics.setFrontier({
      queued: s.queued,
      leased: s.leased,
      done: s.done,
      failed: s.failed,
      seen: s.queued + s.leased + s.done,
    });
  };
  return {
    metrics,
    source: () => {
      const now = Date.now();
      if (now - lastPoll >= pollMs) {
        lastPoll = now;
        poll();
      }
      return metrics.dashboardSnapshot();
    },
  };
}
