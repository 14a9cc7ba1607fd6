import * as fs from 'node:fs';
import type { LineOutput } from './line-sink.js';
import { SinkError } from './sink.js';
import { asStorageFull } from './storage-full.js';

/**
 * The reader of the process's stdout went away (EPIPE: `trawl … --out - | head` after `head`
 * exited). Nothing more can be delivered, so the crawl should stop as a graceful stop does:
 * leave the batch whose write failed unmarked, write nothing more to stdout, and exit without a
 * stack trace.
 */
export class StdoutClosedError extends Error {
  override readonly name = 'StdoutClosedError';

  constructor() {
    super('stdout was closed by its reader (broken pipe): stopping');
  }
}

/** Longest pause between two tries of a write that found the pipe full (ms). */
const MAX_WAIT_MS = 50;

/** One Int32 to sleep on with Atomics.wait: a synchronous sleep that burns no CPU. */
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * The process's stdout (fd 1) as a LineOutput, written with synchronous `write(2)` calls so a
 * line is in the pipe (or file) before `append` returns, in order with every other line.
 *
 * fd 1 may be non-blocking: Node makes a pipe non-blocking as soon as anything touches
 * `process.stdout`, and then a write to a full pipe fails with EAGAIN instead of waiting for the
 * reader. `append` then sleeps (1 ms, doubling up to 50 ms, with Atomics.wait) and tries again,
 * so a slow reader (`| jq`, `| less`) slows the crawl down instead of losing output; `stalls`
 * counts those waits. While it waits the thread is blocked, as a blocking write would be.
 *
 * Unlike a file it cannot be cut back: `path` is `-`, `replaced` is 0, `size` counts the bytes
 * written by this process, and a write that fails part-way may leave a partial line behind.
 * Closing it does not close fd 1 (other code may still print to it); it only refuses further
 * appends.
 */
export class StdoutOutput implements LineOutput {
  readonly path = '-';
  readonly replaced = 0;
  /** Bytes written to stdout so far. */
  size = 0;
  /** Times a write found the pipe full (EAGAIN) and waited for the reader. */
  stalls = 0;
  private closed = false;

  /**
   * Writes the whole buffer to fd 1 (looping over short writes and EAGAIN) and returns the new
   * `size`. On failure `size` is unchanged (the bytes already in the pipe cannot be taken back)
   * and the error is: a StdoutClosedError when the reader is gone (EPIPE); a StorageFullError
   * naming `stdout` when stdout is a file on a full disk (ENOSPC, EDQUOT, EFBIG); otherwise the
   * system error as it is. A closed output throws a SinkError.
   */
  append(buf: Buffer): number {
    if (this.closed) throw new SinkError('output - (stdout) is closed');
    let done = 0;
    let wait = 1;
    while (done < buf.length) {
      try {
        done += fs.writeSync(1, buf, done, buf.length - done);
        wait = 1;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          this.stalls++;
          Atomics.wait(sleeper, 0, 0, wait);
          wait = Math.min(wait * 2, MAX_WAIT_MS);
          continue;
        }
        if (code === 'EPIPE') throw new StdoutClosedError();
        throw asStorageFull(err, 'stdout') ?? err;
      }
    }
    this.size += buf.length;
    return this.size;
  }

  /** Refuses further appends; fd 1 stays open. Idempotent. */
  close(): void {
    this.closed = true;
  }
}
