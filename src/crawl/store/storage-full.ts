/**
 * The disk (or quota) holding the crawl's output or state is full. The crawl stops as a graceful
 * stop does: nothing of the failed batch is marked done, so its pages come back on resume. The
 * message names the file and the problem in one line.
 */
export class StorageFullError extends Error {
  override readonly name = 'StorageFullError';
  /** The file that could not be written. */
  readonly path: string;

  constructor(path: string, detail = 'no space left on device') {
    super(`${path}: ${detail}`);
    this.path = path;
  }
}

/**
 * `err` as a StorageFullError when it reports a full disk or an exceeded quota (ENOSPC, EDQUOT,
 * EFBIG, SQLite's SQLITE_FULL), naming `path`; null for any other error. An error that already
 * is a StorageFullError is returned as it is.
 */
export function asStorageFull(err: unknown, path: string): StorageFullError | null {
  if (err instanceof StorageFullError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new StorageFullError(path);
  if (code === 'EFBIG') return new StorageFullError(path, 'file too large');
  if (code === 'SQLITE_FULL') return new StorageFullError(path, 'database or disk is full');
  return null;
}
