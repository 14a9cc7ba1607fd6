import type { CrawlSummary } from '../crawl/summary.js';
import { EXIT } from './exit-codes.js';

/** What the CLI prints after a crawl's summary, and its exit status. */
export interface EndOfCrawl {
  /** Error lines, printed even with --quiet (and with --json, on stderr). */
  errors: string[];
  code: number;
}

/**
 * The CLI's verdict on a crawl that ended (its summary, printed before, already says how to go
 * on: "rerun to resume" only when there is a state file to resume from):
 * - stopped by a full disk (stopReason 'storage-full'): one line naming the file and the
 *   problem, `trawl: <path>: no space left on device; the crawl stopped: ...`, saying whether a
 *   rerun after freeing space resumes; exit 74 (sysexits EX_IOERR, see exit-codes.ts);
 * - anything else: no line, exit 0 (a graceful stop or a limit is a success; an abort exits 130
 *   from the signal handler before this is reached).
 */
export function endOfCrawl(summary: CrawlSummary): EndOfCrawl {
  if (summary.stopReason !== 'storage-full') return { errors: [], code: EXIT.ok };
  const e = summary.storageError;
  // StorageFullError's message already starts with the path; say it once.
  const what =
    e === undefined
      ? 'no space left on device'
      : e.message.startsWith(e.path)
        ? e.message
        : `${e.path}: ${e.message}`;
  const next = summary.resumable
    ? 'free some space, then rerun the same command to resume'
    : 'free some space and run again (--no-state: nothing to resume)';
  return {
    errors: [`trawl: ${what.replace(/\s*\n\s*/g, ' ')}; the crawl stopped: ${next}`],
    code: EXIT.storageFull,
  };
}
