import type { PageRecord } from '../record.js';
import type { CsvSinkOptions } from '../store/csv-sink.js';
import { type ItemEntry, openItemSink } from '../store/item-sink.js';
import { openSink } from '../store/open-sink.js';
import type { SinkMark } from '../store/sink.js';
import { openState } from './state-db.js';

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
  if (outPath === statePath) throw new Error(`refusing to export ${statePath} onto itself`);
  const state = openState(statePath, { readonly: true });
  try {
    const sink = openSink(outPath, { ...opts, resumeOffset: undefined });
    try {
      let batch: PageRecord[] = [];
      // One read transaction for a consistent snapshot even while the crawl commits.
      state.db.exec('BEGIN');
      for (const json of state.db
        .prepare('SELECT record FROM results ORDER BY rowid')
        .pluck()
        .iterate() as Iterable<string>) {
        batch.push(JSON.parse(json) as PageRecord);
        if (batch.length === 1000) {
          sink.write(batch);
          batch = [];
        }
      }
      state.db.exec('COMMIT');
      return sink.write(batch);
    } finally {
      sink.close();
    }
  } finally {
    state.close();
  }
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
  if (file === statePath) throw new Error(`refusing to export ${statePath} onto itself`);
  const state = openState(statePath, { readonly: true });
  try {
    const sink = openItemSink(file, { ...opts, resumeOffset: undefined });
    try {
      let batch: ItemEntry[] = [];
      if (state.meta.schemaVersion >= 3) {
        // One read transaction for a consistent snapshot even while the crawl commits.
        state.db.exec('BEGIN');
        for (const r of state.db
          .prepare('SELECT url, label, item FROM items ORDER BY rowid')
          .iterate() as Iterable<{ url: string; label: string | null; item: string }>) {
          batch.push({ item: JSON.parse(r.item) as ItemEntry['item'], url: r.url, label: r.label });
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
