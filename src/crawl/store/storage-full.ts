import { statfsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

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
 *
 * SQLite reports some writes that fail for lack of space as an I/O error instead (growing the
 * -shm index, an fsync after delayed allocation failed: SQLITE_IOERR_SHMSIZE, _FSYNC, ...), and
 * better-sqlite3 does not expose the errno. So an SQLITE_IOERR* is taken as a full disk when the
 * filesystem holding `path` has less than 64 KiB free at that moment (one statfs, only on this
 * path); otherwise it stays an I/O error (null).
 */
export function asStorageFull(err: unknown, path: string): StorageFullError | null {
  if (err instanceof StorageFullError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new StorageFullError(path);
  if (code === 'EFBIG') return new StorageFullError(path, 'file too large');
  if (code === 'SQLITE_FULL') return new StorageFullError(path, 'database or disk is full');
  if (typeof code === 'string' && code.startsWith('SQLITE_IOERR') && nearlyFull(path)) {
    return new StorageFullError(path, 'database or disk is full');
  }
  return null;
}

/** True when the filesystem holding `file` has under 64 KiB free; false if statfs fails. */
function nearlyFull(file: string): boolean {
  try {
    const st = statfsSync(dirname(resolve(file)));
    return st.bavail * st.bsize < 64 * 1024;
  } catch {
    return false;
  }
}
