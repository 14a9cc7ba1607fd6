import { writeFileSync } from 'node:fs';
import type { PageRecord } from '../record.js';
import { cdxjLines } from '../store/cdxj.js';
import type { CsvSinkOptions } from '../store/csv-sink.js';
import { type ItemEntry, openItemSink } from '../store/item-sink.js';
import { openSink } from '../store/open-sink.js';
import { SinkError, type SinkMark } from '../store/sink.js';
import { openState, type StateDb } from './state-db.js';

/**
 * Writes every record of a state file's results (in completion order) to `outPath`, in the format
 * its extension names (JSONL, CSV or SQLite; see openSink). The state file is read through a
 * read-only connection, so this works while the crawl runs and exports what was committed at the
 * moment it started reading. An existing `outPath` is replaced. Writes in batches of 1000 records,
 * streaming (memory does not grow with the number of results). Refuses (SinkError/StateError) an
 * unknown extension, an unreadable state, or `outPath` equal to the state file. Returns the final
 * mark (rows or bytes written).
 */
export function exportState(statePath: string, outPath: string, opts: CsvSinkOptions = {}): SinkMark {
  return exportRows(statePath, outPath, {
    open: (file) => openSink(file, { ...opts, resumeOffset: undefined }),
    select: () => 'SELECT record FROM results ORDER BY rowid',
    entry: (row: { record: string }) => JSON.parse(row.record) as PageRecord,
  });
}

/**
 * Writes every scraped item of a state file's items table (in the order they were stored: page
 * completion order, then push order) to `file` through openItemSink (its extension names the
 * format; an existing file is replaced), each with its page's URL and handler label. Like
 * exportState it reads one consistent snapshot through a read-only connection (works while the
 * crawl runs), streams in batches of 1000 and refuses `file` equal to the state file; `opts`
 * (formulaGuard) applies to CSV. A state file of schema version 2 (no items table; a read-only
 * open does not migrate) exports no items. Throws SinkError/StateError as exportState does.
 * Returns the final mark.
 */
export function exportItems(statePath: string, file: string, opts: CsvSinkOptions = {}): SinkMark {
  return exportRows(statePath, file, {
    open: (f) => openItemSink(f, { ...opts, resumeOffset: undefined }),
    select: (state) =>
      state.meta.schemaVersion >= 3 ? 'SELECT url, label, item FROM items ORDER BY rowid' : undefined,
    entry: (row: { url: string; label: string | null; item: string }) => ({
      item: JSON.parse(row.item) as ItemEntry['item'],
      url: row.url,
      label: row.label,
    }),
  });
}

/** What exportRows reads from a state file and where it writes it. */
interface RowExport<R, T> {
  /** Opens the output, fresh (an existing file is replaced). */
  open(file: string): { write(entries: readonly T[]): SinkMark; close(): void };
  /** The SELECT of the rows in export order; undefined when this state file has none to export. */
  select(state: StateDb): string | undefined;
  /** One row of that SELECT as one entry of the output. */
  entry(row: R): T;
}

/**
 * The shared loop of exportState and exportItems: refuses `file` equal to the state file, opens
 * the state read-only and the output through `spec.open`, then reads `spec.select`'s rows inside
 * one read transaction (a consistent snapshot even while the crawl commits) and writes them in
 * batches of 1000, streaming. A state without rows to export (select undefined) writes an empty
 * output. Closes the output and the state whatever happens; returns the output's final mark.
 */
function exportRows<R, T>(statePath: string, file: string, spec: RowExport<R, T>): SinkMark {
  if (file === statePath) throw new Error(`refusing to export ${statePath} onto itself`);
  const state = openState(statePath, { readonly: true });
  try {
    const sink = spec.open(file);
    try {
      let batch: T[] = [];
      const select = spec.select(state);
      if (select !== undefined) {
        state.db.exec('BEGIN');
        for (const row of state.db.prepare(select).iterate() as Iterable<R>) {
          batch.push(spec.entry(row));
          if (batch.length === 1000) {
            sink.write(batch);
            batch = [];
          }
        }
        state.db.exec('COMMIT');
      }
      return sink.write(batch);
    } finally {
      sink.close();
    }
  } finally {
    state.close();
  }
}

/**
 * Writes the CDXJ index (see cdxjLines) of the WARC files a crawl wrote (`--warc`, `--warc-dir`;
 * the state remembers them) to `outPath`, replacing it; the last file is read only up to its
 * committed mark. Through a read-only connection, like exportState. Returns the lines written.
 * A state that wrote no WARC is a SinkError naming it.
 */
export function exportCdxj(statePath: string, outPath: string): number {
  const state = openState(statePath, { readonly: true });
  let files: string[];
  let last: { path: string; offset: number } | null = null;
  try {
    const meta = state.meta;
    files = meta.warcFiles ?? [];
    if (meta.warcPath !== undefined) last = { path: meta.warcPath, offset: meta.warcOffset ?? 0 };
  } finally {
    state.close();
  }
  if (files.length === 0)
    throw new SinkError(`state ${statePath} has no WARC files (crawl with --warc or --warc-dir)`);
  const ends = new Map<string, number>();
  if (last !== null) ends.set(last.path, last.offset);
  const lines = cdxjLines(files, ends);
  writeFileSync(outPath, lines.length === 0 ? '' : `${lines.join('\n')}\n`);
  return lines.length;
}
