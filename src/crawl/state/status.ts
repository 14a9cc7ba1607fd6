import { SKIPPED_KINDS } from '../record.js';
import { openState } from './state-db.js';

/** One host's progress in a {@link CrawlStatus}. */
export interface HostStatus {
  host: string;
  /** URLs with a record (ok, failed or skipped). */
  done: number;
  /** URLs whose record has an error that is not a skip (see outcomeOf in record.ts). */
  failed: number;
  /** URLs skipped without a fetch that counts (robots.txt refusals, --max-pages-per-host). */
  skipped: number;
  /** URLs waiting in the queue. */
  queued: number;
  /** Paused until this time (ms since epoch), or null when not paused now. */
  pausedUntil: number | null;
}

/** A snapshot of a crawl read from its state file. */
export interface CrawlStatus {
  name: string;
  seeds: string[];
  queued: number;
  leased: number;
  /** URLs with a record (ok, failed or skipped). */
  done: number;
  failed: number;
  skipped: number;
  /** Failed and skipped URLs by error kind (the `<kind>` before the colon of the record's error). */
  byKind: Record<string, number>;
  /** Per-host progress, most done first (ties by host name). */
  hosts: HostStatus[];
  /** When the state file was created (ISO-8601). */
  startedAt: string;
  /** When the last batch was committed (ISO-8601), or null before the first. */
  updatedAt: string | null;
  /** The output file and its committed length, when a batch was committed with a sink mark. */
  out: { path: string; offset: number; format: string | null } | null;
  /** Scraped items stored with their pages (0 for a crawl without a scraper, or a v2 file). */
  items: number;
  /** The items output (--items) and its committed length, when a batch had an items mark. */
  itemsOut: { path: string; offset: number; format: string | null } | null;
  /**
   * How many stored sessions are live and how many retired (all 0 without sessions, or for a
   * file older than version 4). Counts only: a session's cookies are never read out.
   */
  sessions: { live: number; retired: number };
  /** The WARC output (--warc, --warc-dir): its current file, committed bytes and file count; null without. */
  warc: { path: string; offset: number; files: number } | null;
  /** When the last recrawl pass started (ISO-8601), or null before any. */
  recrawlStartedAt: string | null;
}

/**
 * Reads a crawl's progress from its state file without writing to it (a read-only connection;
 * with WAL this works while the crawl is running and sees its last committed batch). Throws a
 * StateError for a missing, foreign or newer-schema file. Cost: one scan of the queued index and
 * of the results table.
 */
export function readStatus(statePath: string, now = Date.now()): CrawlStatus {
  const state = openState(statePath, { readonly: true });
  try {
    const db = state.db;
    const meta = state.meta;
    const counts = db
      .prepare('SELECT state, count(*) AS n FROM frontier WHERE state IN (0, 1) GROUP BY state')
      .all() as {
      state: number;
      n: number;
    }[];
    const hosts = new Map<string, HostStatus>();
    const host = (h: string) => {
      let s = hosts.get(h);
      if (s === undefined) {
        s = { host: h, done: 0, failed: 0, skipped: 0, queued: 0, pausedUntil: null };
        hosts.set(h, s);
      }
      return s;
    };
    for (const r of db
      .prepare('SELECT host, count(*) AS n FROM frontier WHERE state = 0 GROUP BY host')
      .iterate() as Iterable<{
      host: string;
      n: number;
    }>) {
      host(r.host).queued = r.n;
    }
    let done = 0;
    let failed = 0;
    let skipped = 0;
    // The summary's rule (outcomeOf in record.ts): robots refusals and budget skips are not failures.
    const skip = `error_kind IN (${SKIPPED_KINDS.map((k) => `'${k}'`).join(', ')})`;
    for (const r of db
      .prepare(
        `SELECT host, count(*) AS n, sum(error AND NOT ${skip}) AS f, sum(error AND ${skip}) AS k FROM results GROUP BY host`,
      )
      .iterate() as Iterable<{ host: string; n: number; f: number; k: number }>) {
      const s = host(r.host);
      s.done = r.n;
      s.failed = r.f;
      s.skipped = r.k;
      done += r.n;
      failed += r.f;
      skipped += r.k;
    }
    for (const r of db
      .prepare('SELECT host, paused_until FROM hosts WHERE paused_until > ?')
      .iterate(now) as Iterable<{
      host: string;
      paused_until: number;
    }>) {
      host(r.host).pausedUntil = r.paused_until;
    }
    const byKind: Record<string, number> = {};
    for (const r of db
      .prepare(
        'SELECT error_kind AS k, count(*) AS n FROM results WHERE error = 1 GROUP BY error_kind ORDER BY n DESC',
      )
      .iterate() as Iterable<{ k: string | null; n: number }>) {
      byKind[r.k ?? 'unknown'] = r.n;
    }
    // Counted inside SQLite: the session JSON (cookie values) never reaches this process.
    const sess =
      meta.schemaVersion < 4
        ? { n: 0, r: 0 }
        : (db
            .prepare(
              "SELECT count(*) AS n, coalesce(sum(json_extract(data, '$.retired') = 1), 0) AS r FROM sessions",
            )
            .get() as { n: number; r: number });
    return {
      name: meta.name,
      seeds: meta.seeds,
      queued: counts.find((c) => c.state === 0)?.n ?? 0,
      leased: counts.find((c) => c.state === 1)?.n ?? 0,
      done,
      failed,
      skipped,
      byKind,
      hosts: [...hosts.values()].sort(
        (a, b) => b.done - a.done || (a.host < b.host ? -1 : a.host > b.host ? 1 : 0),
      ),
      startedAt: meta.createdAt,
      updatedAt: meta.updatedAt ?? null,
      out:
        meta.outPath === undefined
          ? null
          : { path: meta.outPath, offset: meta.outOffset ?? 0, format: meta.outFormat ?? null },
      // A read-only open does not migrate: a version-2 file has no items table.
      items: meta.schemaVersion < 3 ? 0 : (db.prepare('SELECT count(*) FROM items').pluck().get() as number),
      itemsOut:
        meta.itemsPath === undefined
          ? null
          : { path: meta.itemsPath, offset: meta.itemsOffset ?? 0, format: meta.itemsFormat ?? null },
      sessions: { live: sess.n - sess.r, retired: sess.r },
      warc:
        meta.warcPath === undefined
          ? null
          : { path: meta.warcPath, offset: meta.warcOffset ?? 0, files: meta.warcFiles?.length ?? 1 },
      recrawlStartedAt:
        meta.recrawlStartedAt === undefined ? null : new Date(meta.recrawlStartedAt).toISOString(),
    };
  } finally {
    state.close();
  }
}

/**
 * Renders a status as plain text for the terminal: a summary block, the failure kinds, and the
 * `maxHosts` busiest hosts (default 20; the rest are counted in one line).
 */
export function formatStatus(s: CrawlStatus, maxHosts = 20): string {
  const lines: string[] = [];
  lines.push(`crawl    ${s.name}`);
  lines.push(`seeds    ${s.seeds.join(' ')}`);
  lines.push(`started  ${s.startedAt}`);
  lines.push(`updated  ${s.updatedAt ?? '-'}`);
  lines.push(
    `done     ${s.done} (${s.done - s.failed - s.skipped} ok, ${s.failed} failed, ${s.skipped} skipped)`,
  );
  lines.push(`queued   ${s.queued}`);
  lines.push(`leased   ${s.leased}`);
  if (s.out !== null)
    lines.push(`output   ${s.out.path} (${s.out.offset} ${s.out.format === 'sqlite' ? 'rows' : 'bytes'})`);
  if (s.items > 0 || s.itemsOut !== null) lines.push(`items    ${s.items}`);
  if (s.itemsOut !== null)
    lines.push(
      `items to ${s.itemsOut.path} (${s.itemsOut.offset} ${s.itemsOut.format === 'sqlite' ? 'rows' : 'bytes'})`,
    );
  if (s.sessions.live + s.sessions.retired > 0)
    lines.push(`sessions ${s.sessions.live} live, ${s.sessions.retired} retired`);
  if (s.warc !== null)
    lines.push(
      `warc     ${s.warc.path} (${s.warc.offset} bytes; ${s.warc.files} file${s.warc.files === 1 ? '' : 's'})`,
    );
  if (s.recrawlStartedAt !== null) lines.push(`recrawl  pass started ${s.recrawlStartedAt}`);
  const kinds = Object.entries(s.byKind);
  if (kinds.length > 0) {
    lines.push('', 'failed and skipped by kind');
    for (const [k, n] of kinds) lines.push(`  ${k.padEnd(20)} ${n}`);
  }
  if (s.hosts.length > 0) {
    lines.push(
      '',
      `  ${'host'.padEnd(40)} ${'done'.padStart(8)} ${'failed'.padStart(8)} ${'queued'.padStart(8)}  paused until`,
    );
    for (const h of s.hosts.slice(0, maxHosts)) {
      const paused = h.pausedUntil === null ? '' : new Date(h.pausedUntil).toISOString();
      lines.push(
        `  ${h.host.padEnd(40)} ${String(h.done).padStart(8)} ${String(h.failed).padStart(8)} ${String(h.queued).padStart(8)}  ${paused}`,
      );
    }
    if (s.hosts.length > maxHosts) lines.push(`  … and ${s.hosts.length - maxHosts} more hosts`);
  }
  return `${lines.join('\n')}\n`;
}
