import * as fs from 'node:fs';
import * as path from 'node:path';
import { asStorageFull, StorageFullError } from './storage-full.js';

/** Free bytes a filesystem must have before a crawl starts writing to it (1 MiB). */
export const MIN_FREE_BYTES = 1024 * 1024;

/** Bytes of the test write that proves the space is really usable (64 KiB). */
const PROBE_BYTES = 64 * 1024;

/** Options of {@link ensureWritableSpace}. */
export interface WritableSpaceOptions {
  /** Free bytes each filesystem must have (default {@link MIN_FREE_BYTES}). */
  minFreeBytes?: number;
}

/**
 * Refuses, before a crawl makes any request, to start on a disk that cannot take its next
 * writes. For each of `paths` (the state file, the output file; undefined entries are skipped,
 * as are later paths in a directory already checked) the directory that holds it is checked
 * twice:
 *
 * 1. statfs: the space available to unprivileged users (f_bavail, what `df` shows as free) must
 *    be at least `minFreeBytes`, and a filesystem that counts inodes must have a free one;
 * 2. a test write: a hidden file `.trawl-space-<pid>-<n>` is created next to the path, 64 KiB
 *    are written and fsynced (so a network filesystem reports a full disk now, not at close),
 *    and the file is removed again. This catches what statfs does not show: a user's disk
 *    quota (EDQUOT), or a filesystem whose free count is not what a write can use.
 *
 * Throws a StorageFullError naming the first path whose filesystem is full, e.g.
 * `out.jsonl: no space left on device (12 KiB free; a crawl needs at least 1 MiB)`. Anything
 * else is not this check's business and is left to the opens that follow, which report it in
 * their own words: a missing directory, a permission error, a read-only filesystem, a statfs
 * the platform does not support. The check is conservative: an existing output that a fresh
 * crawl is about to replace still counts as used space.
 */
export function ensureWritableSpace(
  paths: ReadonlyArray<string | undefined>,
  opts: WritableSpaceOptions = {},
): void {
  const minFree = opts.minFreeBytes ?? MIN_FREE_BYTES;
  const checked = new Set<string>();
  for (const p of paths) {
    if (p === undefined) continue;
    const dir = path.dirname(path.resolve(p));
    if (checked.has(dir)) continue;
    checked.add(dir);
    checkStatfs(p, dir, minFree);
    probeWrite(p, dir);
  }
}

/** The statfs half of ensureWritableSpace for one directory. */
function checkStatfs(file: string, dir: string, minFree: number): void {
  let st: fs.StatsFs;
  try {
    st = fs.statfsSync(dir);
  } catch {
    return; // missing directory or no statfs here: the open or the test write will tell
  }
  const free = st.bavail * st.bsize;
  if (free < minFree) {
    throw new StorageFullError(
      file,
      `no space left on device (${formatBytes(free)} free; a crawl needs at least ${formatBytes(minFree)})`,
    );
  }
  // Some filesystems (btrfs) report 0 inodes in total: they allocate them on demand.
  if (st.files > 0 && st.ffree === 0) {
    throw new StorageFullError(file, 'no free inodes left on its filesystem');
  }
}

let probes = 0;

/** The test-write half of ensureWritableSpace for one directory. */
function probeWrite(file: string, dir: string): void {
  const probe = path.join(dir, `.trawl-space-${process.pid}-${probes++}`);
  let fd: number;
  try {
    fd = fs.openSync(probe, 'wx');
  } catch (err) {
    const full = asStorageFull(err, file);
    if (full) throw full;
    return; // EACCES, EROFS, ENOENT...: the real open reports it
  }
  let failure: unknown;
  try {
    const block = Buffer.alloc(PROBE_BYTES);
    let done = 0;
    while (done < block.length) done += fs.writeSync(fd, block, done, block.length - done, done);
    fs.fsyncSync(fd);
  } catch (err) {
    failure = err;
  }
  try {
    fs.closeSync(fd);
  } catch (err) {
    failure ??= err; // a network filesystem may report the full disk only here
  }
  try {
    fs.rmSync(probe, { force: true });
  } catch {
    // leaving a hidden 64 KiB file behind is better than failing the check for it
  }
  const full = failure === undefined ? null : asStorageFull(failure, file);
  if (full) throw full;
}

/** Bytes as a short human figure: `512 B`, `12 KiB`, `3.5 MiB`, `2.0 GiB`. */
function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.floor(n / 1024)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}
