import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { APPLICATION_ID } from './state/schema.js';

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * True when `path` is a trawl state file, recognised from its first 100 bytes as
 * state/state-db.ts's inspectStateFile does (SQLite's magic string and trawl's application_id at
 * offset 68), whatever its schema version; false when it is missing, unreadable, empty or
 * anything else. Reads only: no SQLite connection, no -wal/-shm files.
 */
export function isTrawlStateFile(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    if (!fstatSync(fd).isFile()) return false;
    const head = Buffer.alloc(100);
    const n = readSync(fd, head, 0, 100, 0);
    return n === 100 && head.subarray(0, 16).equals(SQLITE_MAGIC) && head.readUInt32BE(68) === APPLICATION_ID;
  } finally {
    closeSync(fd);
  }
}

/**
 * Checks a crawl's output and state paths before either is opened, so a mistake is refused
 * before any request and before any file or directory is created. One rule for both: the
 * directory a file goes in must already exist (trawl creates no directories for an explicit
 * path). Also refused: an output that is a trawl state file (writing records into it would add a
 * `pages` table to another crawl's state), and an output that is the state file itself (the same
 * path, or the same file through a link). Returns the first problem as one line starting with the
 * flag and naming the file (`--out /x/y.jsonl: directory /x does not exist (create it first)`),
 * or null when all are fine; undefined paths are not checked. The items output (`--items`) obeys
 * the same rules and must not be the records' output; `-` (standard output) is not a file and is
 * not checked, but records and items cannot both go there.
 */
export function storagePathProblem(paths: { out?: string; state?: string; items?: string }): string | null {
  const { state } = paths;
  // '-' is standard output, not a file: nothing to check.
  const out = paths.out === '-' ? undefined : paths.out;
  const items = paths.items === '-' ? undefined : paths.items;
  const stateDir = state === undefined ? null : directoryProblem('state', state);
  if (stateDir !== null) return stateDir;
  for (const [flag, file] of [
    ['out', out],
    ['items', items],
  ] as const) {
    if (file === undefined) continue;
    const dir = directoryProblem(flag, file);
    if (dir !== null) return dir;
    if (state !== undefined && sameFile(file, state)) {
      return `--${flag} ${file} is the state file (--state ${state}): give the ${flag === 'out' ? 'records' : 'items'} a file of their own`;
    }
    if (isTrawlStateFile(file)) {
      return `--${flag} ${file} is a trawl state file: refusing to write ${flag === 'out' ? 'records' : 'items'} into it (choose another output file)`;
    }
  }
  if (out !== undefined && items !== undefined && sameFile(out, items)) {
    return `--items ${items} is the records' output (--out ${out}): give the items a file of their own`;
  }
  if (paths.out === '-' && paths.items === '-') {
    return '--out - and --items - both write to standard output: send one of them to a file';
  }
  return null;
}

/**
 * The problem with the directory `path` goes in (`--FLAG path: ...`, one line), or null when it is
 * an existing directory.
 */
export function directoryProblem(flag: string, path: string): string | null {
  const dir = dirname(resolve(path));
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    return `--${flag} ${path}: directory ${dir} does not exist (create it first)`;
  }
  return isDir ? null : `--${flag} ${path}: ${dir} is not a directory`;
}

function sameFile(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false; // one of them does not exist yet: different paths are different files
  }
}
