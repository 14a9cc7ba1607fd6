/**
 * Cutting records out of the last batch of a WARC file, crash-safe: the kept bytes go to a spool
 * file (written, synced, renamed into place) before the file is cut at the batch start and the
 * spool appended, so running a rewrite again after a crash at any point finishes the same
 * rewrite. The caller removes the spool ({@link removeSpools}) once it has recorded the result.
 * Used by distributed crawls (redis/warc-marks.ts) for records of completions that lost.
 */
import * as fs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { readWarc, warcField } from './cdxj.js';

/** Where the kept bytes of the batch [start, end) of `path` wait while the file is rewritten. */
function spoolOf(path: string, start: number, end: number): string {
  return `${path}.fix-${start}-${end}`;
}

/**
 * Rewrites the batch [start, end) at the end of WARC file `path` without the records of the
 * captures in `drop` (a record goes when its WARC-Record-ID or WARC-Concurrent-To is one of
 * them: a response or revisit and the request written with it) and returns the new end.
 * `replace(start, bytes)` must put `bytes` in place of everything from `start` on (the writer's
 * replaceTail, or {@link replaceFileTail}). If a spool of the same batch exists, an earlier
 * rewrite got that far and its bytes are used as they are (the file may already be cut). The
 * caller deletes the spool ({@link removeSpools}) once the entry is updated. Throws an Error
 * when the batch cannot be read as WARC records.
 */
export function dropRecords(
  path: string,
  start: number,
  end: number,
  drop: ReadonlySet<string>,
  replace: (start: number, bytes: Buffer) => void,
): number {
  const spool = spoolOf(path, start, end);
  let bytes: Buffer;
  if (fs.existsSync(spool)) {
    bytes = fs.readFileSync(spool);
  } else {
    bytes = keptBytes(path, start, end, drop);
    const tmp = `${spool}.tmp`;
    writeSynced(tmp, bytes);
    fs.renameSync(tmp, spool);
  }
  replace(start, bytes);
  return start + bytes.length;
}

/** The bytes of [start, end) of `path` less the records of `drop`, records kept whole and in order. */
function keptBytes(path: string, start: number, end: number, drop: ReadonlySet<string>): Buffer {
  const keep: [number, number][] = [];
  const records = [...readWarc(path, end, start)];
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const id = warcField(r, 'WARC-Record-ID');
    const to = warcField(r, 'WARC-Concurrent-To');
    if ((id !== undefined && drop.has(id)) || (to !== undefined && drop.has(to))) continue;
    keep.push([r.offset, i + 1 < records.length ? records[i + 1]!.offset : end]);
  }
  const fd = fs.openSync(path, 'r');
  try {
    return Buffer.concat(
      keep.map(([from, to]) => {
        const b = Buffer.alloc(to - from);
        fs.readSync(fd, b, 0, b.length, from);
        return b;
      }),
    );
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes `bytes` to a new file `path` and syncs it, so a rename after it publishes it whole. */
function writeSynced(path: string, bytes: Buffer): void {
  const fd = fs.openSync(path, 'w');
  try {
    fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Replaces `path` from `start` on with `bytes` (no writer has it open) and syncs it. */
export function replaceFileTail(path: string, start: number, bytes: Buffer): void {
  const fd = fs.openSync(path, 'r+');
  try {
    fs.ftruncateSync(fd, start);
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done, start + done);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Deletes every spool file of `path` (finished or stale rewrites). */
export function removeSpools(path: string): void {
  const prefix = `${basename(path)}.fix-`;
  let names: string[];
  try {
    names = fs.readdirSync(dirname(path));
  } catch {
    return;
  }
  for (const n of names) if (n.startsWith(prefix)) fs.rmSync(join(dirname(path), n), { force: true });
}
