import type { PageRecord } from '../record.js';
import type { CsvSinkOptions } from '../store/csv-sink.js';
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
