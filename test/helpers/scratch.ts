import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach } from 'vitest';

/** A test file's temp directories and open handles, released after each test. */
export interface Scratch {
  /** A fresh temp directory (`<tmp>/<prefix>XXXXXX`), removed after the test. */
  dir(): string;
  /** Runs `close` after the test, before the directories are removed (a SQLite file must be closed first). */
  defer(close: () => void): void;
}

/**
 * Registers an afterEach that first runs every deferred close (in the order deferred; one that
 * throws, say because the test closed it already, is ignored) and then removes every directory
 * made by `dir()` during the test. Call it once at the top level of a test file.
 */
export function useScratch(prefix: string): Scratch {
  const dirs: string[] = [];
  const closers: Array<() => void> = [];
  afterEach(() => {
    for (const c of closers.splice(0)) {
      try {
        c();
      } catch {}
    }
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  return {
    dir() {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    defer(close) {
      closers.push(close);
    },
  };
}
