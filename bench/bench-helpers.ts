// Small pieces the crawler benchmarks share (scraper, identity, render): medians, counting a run's
// JSONL output, reading GNU time's rusage line, and a process's CPU from /proc.
import { existsSync, readFileSync } from 'node:fs';
import { CLK_TCK } from '../test/helpers/process-tree.js';

/** What a finished run stored, as counted from its output. */
export interface Stored {
  /** Records (pages or items) written. */
  records: number;
  /** Distinct URLs among them. */
  distinct: number;
  /** Problems found (a record that is not a status-200 page, a failed request); empty if none. */
  problems: string[];
}

/** The median of a non-empty list (the mean of the middle two for an even length). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Reads a JSONL file and counts its lines and distinct `url` values; `check` returns a problem
 * for a bad record (the first five are kept). A missing file is zero records and one problem.
 */
export function countJsonl(file: string, check: (rec: Record<string, unknown>) => string | null): Stored {
  const problems: string[] = [];
  if (!existsSync(file)) return { records: 0, distinct: 0, problems: [`${file} was not written`] };
  const urls = new Set<unknown>();
  let records = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    const rec = JSON.parse(line) as Record<string, unknown>;
    records++;
    urls.add(rec.url);
    const problem = check(rec);
    if (problem !== null && problems.length < 5) problems.push(problem);
  }
  return { records, distinct: urls.size, problems };
}

/** A trawl page record's problem: anything but status 200 without an error. */
export const pageOk = (rec: Record<string, unknown>): string | null =>
  rec.status === 200 && rec.error == null
    ? null
    : `page ${String(rec.url)}: ${JSON.stringify(rec).slice(0, 200)}`;

/**
 * The rusage GNU time wrote with `-f '%U %S %M' -o FILE`: user and system seconds of the process
 * and everything it waited for, and the largest single maximum resident set size among them, in
 * KiB. The last line is the one (a line before it reports a non-zero exit status).
 */
export function readGnuTime(file: string): { userS: number; sysS: number; maxRssKB: number } {
  const [userS, sysS, maxRssKB] = readFileSync(file, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return { userS: userS!, sysS: sysS!, maxRssKB: maxRssKB! };
}

/** A process's own user + system CPU in ms (all its threads), from /proc/PID/stat. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the `(comm)` one: state is field 3, utime 14, stime 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}
