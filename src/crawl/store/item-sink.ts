import type { Item } from '../record.js';
import type { CsvSinkOptions } from './csv-sink.js';
import { ItemCsvSink } from './item-csv-sink.js';
import { ItemJsonlSink } from './item-jsonl-sink.js';
import { ItemSqliteSink } from './item-sqlite-sink.js';
import { OUTPUT_EXTENSIONS, sinkFormatFor } from './open-sink.js';
import { SinkError, type SinkMark } from './sink.js';
import { ItemStdoutSink } from './stdout-sink.js';

/** One scraped item as the crawl hands it to an ItemSink: what the handler pushed, and where. */
export interface ItemEntry {
  /** The object the handler pushed (JSON-serializable). */
  item: Item;
  /** The URL of the page whose handler pushed it (the request's URL). */
  url: string;
  /** That request's label; null for the default handler. */
  label: string | null;
}

/** The items output formats: by the file's extension as for records, or `stdout` for `-`. */
export type ItemSinkFormat = 'jsonl' | 'csv' | 'sqlite' | 'stdout';

/**
 * An append-only output of scraped items with the same exactly-once protocol as {@link Sink}:
 * `const mark = items.write(entries)` before `frontier.complete(batch, sinkMark, mark)`, and on
 * resume `openItemSink(file, { resumeOffset: committed.offset })` cuts away what was written
 * after the committed mark (a file shorter than it is refused with a SinkError). `write` is all
 * or nothing, throws a StorageFullError when the disk is full, and returns the mark after the
 * entries (bytes for JSONL, CSV and stdout; the last rowid for SQLite); an empty array writes
 * nothing. An item JSON cannot encode (a BigInt, a cycle) throws an ItemEncodingError before
 * anything of that write is written.
 *
 * What each format keeps: JSONL and stdout write exactly the item's JSON, one per line (not the
 * URL or label); CSV writes the item's fields as columns (see ItemCsvSink); SQLite stores the
 * URL, the label and the item's JSON (see ItemSqliteSink).
 *
 * stdout (`-`) cannot be cut back: its resumeOffset is ignored, so across a crash the items of
 * the batches that were written but not committed come out again (at-least-once); an EPIPE
 * (the reader went away) throws a StdoutClosedError.
 */
export interface ItemSink {
  /** The output file, or `-` for stdout. */
  readonly path: string;
  readonly format: ItemSinkFormat;
  /** Bytes (text formats) or rows (SQLite) a fresh open replaced; 0 on resume, for stdout, or a new file. */
  readonly replaced: number;
  /** Appends the entries in order; see above. */
  write(entries: readonly ItemEntry[]): SinkMark;
  /** The mark after everything written so far. */
  mark(): SinkMark;
  /** Closes the output (stdout: refuses further writes, fd 1 stays open); idempotent. */
  close(): void;
}

/**
 * The items format for `file`: `stdout` for exactly `-` (a file named `-` is `./-`), else the
 * format its extension names as for records (`.jsonl`/`.ndjson`, `.csv`, `.sqlite`/`.sqlite3`/
 * `.db`, case-insensitive). Anything else throws a SinkError listing what is accepted.
 */
export function itemSinkFormatFor(file: string): ItemSinkFormat {
  if (file === '-') return 'stdout';
  try {
    return sinkFormatFor(file);
  } catch {
    throw new SinkError(
      `cannot tell the items format of ${file}: use one of the extensions ${OUTPUT_EXTENSIONS.join(', ')}, or - for stdout`,
    );
  }
}

/**
 * Opens the items output for `file` in the format itemSinkFormatFor names, fresh or resumed
 * (`resumeOffset`, see SinkOpenOptions; ignored for stdout); `formulaGuard` applies to CSV (see
 * CsvSinkOptions). Throws a SinkError when the file cannot be opened or resumed, a
 * StorageFullError when its disk is full.
 */
export function openItemSink(file: string, opts: CsvSinkOptions = {}): ItemSink {
  switch (itemSinkFormatFor(file)) {
    case 'stdout':
      return new ItemStdoutSink();
    case 'jsonl':
      return new ItemJsonlSink(file, opts);
    case 'csv':
      return new ItemCsvSink(file, opts);
    case 'sqlite':
      return new ItemSqliteSink(file, opts);
  }
}
