import { EXIT } from './exit-codes.js';

/** How the CLI reports an error that ended a command: one stderr line and the exit status. */
export interface Failure {
  /** What to print on stderr, without the trailing newline. */
  line: string;
  code: number;
}

/**
 * The error as a full disk: the StorageFullError of src/crawl/store/storage-full.ts (recognised
 * by its name and `path`, so that an error crossing a module or thread boundary is recognised
 * too), or null for anything else.
 */
export function storageFullOf(err: unknown): (Error & { path: string }) | null {
  if (!(err instanceof Error) || err.name !== 'StorageFullError') return null;
  const path = (err as Error & { path?: unknown }).path;
  return typeof path === 'string' ? (err as Error & { path: string }) : null;
}

/**
 * Maps an error thrown out of a command to its report:
 * - a full disk (StorageFullError: a rerun on a still-full disk refused at open, before any
 *   request, or a crawl that ended on one): `trawl: <path>: no space left on device ...; free
 *   some space and run again`, exit 74;
 * - bad usage (UsageError, and its ScraperError: a scraper module that cannot be used) and a
 *   state or output file refused at open (StateError, SinkError: foreign, corrupt, unwritable,
 *   unknown format), all thrown before any request: the message, exit 2;
 * - anything else is a bug: the stack, exit 1.
 * The line never spans lines except for the stack of an unexpected error.
 */
export function failureOf(err: unknown): Failure {
  const full = storageFullOf(err);
  if (full !== null) {
    return { line: `trawl: ${oneLine(full.message)}; free some space and run again`, code: EXIT.storageFull };
  }
  if (
    err instanceof Error &&
    ['UsageError', 'ScraperError', 'RedisConnectError', 'StateError', 'SinkError'].includes(err.name)
  ) {
    return { line: `trawl: ${oneLine(err.message)}`, code: EXIT.usage };
  }
  return {
    line: `trawl: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    code: EXIT.failure,
  };
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}
