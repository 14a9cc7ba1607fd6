import type { PageRecord } from '../record.js';

/**
 * Where a sink's committed output ends: `offset` is a byte length for the text formats (JSONL,
 * CSV) and a row count (the last rowid) for SQLite. The crawl stores the mark in the state file
 * in the same transaction that marks the batch done, so a resumed crawl can cut the output back
 * to exactly what was committed (see {@link Sink}).
 */
export interface SinkMark {
  /** The output file the mark refers to (as given to openSink). */
  path: string;
  /** Bytes (JSONL, CSV) or rows (SQLite) of committed output. */
  offset: number;
}

/** The output formats, chosen by the --out file's extension (see open-sink.ts). */
export type SinkFormat = 'jsonl' | 'csv' | 'sqlite';

/**
 * An append-only output of page records with exactly-once semantics across process death.
 *
 * Protocol, per batch: `const mark = sink.write(records)` (the records reach the operating system
 * before it returns: they survive a kill -9, not a power cut) and then
 * `frontier.complete(batch, mark)`, which stores the mark with the batch's done marks in one
 * transaction. On resume the sink is reopened with the stored mark as `resumeOffset` and cuts
 * away anything written after it — records of a batch whose commit never happened, whose URLs
 * are still queued and will be fetched and written again.
 */
export interface Sink {
  /** The output file. */
  readonly path: string;
  /** The format written. */
  readonly format: SinkFormat;
  /**
   * Bytes (text formats) or rows (SQLite) an existing file held before this sink replaced it
   * on a fresh (non-resumed) open; 0 when nothing was overwritten. Lets the CLI print a notice.
   */
  readonly replaced: number;
  /**
   * Appends the records (in order) and returns the mark just after them. An empty array writes
   * nothing and returns the current mark. All or nothing: when the disk or quota is full it
   * throws a StorageFullError naming the file, and the output is exactly as before the call (no
   * half-written record; the mark has not moved), so the crawl can stop as a graceful stop does,
   * leaving the batch unmarked, and the same records can be written again once space is freed.
   * Any other I/O error is rethrown; the sink's state is then unknown: stop the crawl (the
   * committed mark in the state file is still correct, and a resume cuts back to it).
   */
  write(records: readonly PageRecord[]): SinkMark;
  /** The mark after everything written so far. */
  mark(): SinkMark;
  /** Closes the file; further writes throw. Idempotent. */
  close(): void;
}

/** A sink could not be opened or resumed; the message names the file and the problem. */
export class SinkError extends Error {
  override readonly name = 'SinkError';
}

/** Options of every sink constructor. */
export interface SinkOpenOptions {
  /**
   * Resume: the committed mark from the state file. The file is cut back to it (bytes beyond it
   * are dropped; a file shorter than it is refused with a SinkError, because committed records
   * would be missing). Undefined: a new output — an existing file is replaced (see `replaced`).
   */
  resumeOffset?: number;
}
