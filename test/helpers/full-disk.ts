import * as path from 'node:path';
import { mountTmpfs, type Tmpfs } from './tmpfs.js';

/** A file name on an all but full filesystem, and that filesystem (to grow it later). */
export interface FullDiskFile {
  /** `name` in the tmpfs's directory; not created. */
  file: string;
  disk: Tmpfs;
}

/**
 * Mounts a new tmpfs of `size` bytes (default 256 KiB), fills it until only `leave` bytes
 * (default 40 KiB) are free, and names the file `name` on it. Needs what mountTmpfs needs (skip
 * with tmpfsUnavailable); unmountAll in afterEach removes it.
 */
export function fullDiskFile(name: string, leave = 40 * 1024, size = 256 * 1024): FullDiskFile {
  const disk = mountTmpfs(size);
  disk.fill(leave);
  return { file: path.join(disk.dir, name), disk };
}

/**
 * Writes `batch(0)`, `batch(10)`, `batch(20)`, … into `sink`, one write each, until a write
 * throws; returns the entries of the writes that went through (`taken`), the batch of the one
 * that threw (`refused`) and what it threw. Throws if 1000 writes all succeed: the disk never
 * filled, so the test's sizes are wrong.
 */
export function writeUntilFull<T>(
  sink: { write(entries: readonly T[]): unknown },
  batch: (from: number) => T[],
): { taken: T[]; refused: T[]; err: unknown } {
  const taken: T[] = [];
  for (let i = 0; i < 10_000; i += 10) {
    const b = batch(i);
    try {
      sink.write(b);
    } catch (err) {
      return { taken, refused: b, err };
    }
    taken.push(...b);
  }
  throw new Error('the disk never filled');
}
