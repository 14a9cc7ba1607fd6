import * as path from 'node:path';
import { CsvSink, type CsvSinkOptions } from './csv-sink.js';
import { JsonlSink } from './jsonl-sink.js';
import { type Sink, SinkError, type SinkFormat } from './sink.js';
import { SqliteSink } from './sqlite-sink.js';
import { StdoutSink } from './stdout-sink.js';

const BY_EXTENSION: Record<string, SinkFormat> = {
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.csv': 'csv',
  '.sqlite': 'sqlite',
  '.sqlite3': 'sqlite',
  '.db': 'sqlite',
};

/** The file extensions an output may have (records and items), in the order messages list them. */
export const OUTPUT_EXTENSIONS: readonly string[] = Object.keys(BY_EXTENSION);

/**
 * The output format for a file name, by its extension (case-insensitive): `.jsonl`/`.ndjson` →
 * jsonl, `.csv` → csv, `.sqlite`/`.sqlite3`/`.db` → sqlite; exactly `-` (stdout) → jsonl (a file
 * named `-` is `./-`). Anything else (including `.json`, which would promise a single JSON
 * document) throws a SinkError listing the accepted extensions.
 */
export function sinkFormatFor(file: string): SinkFormat {
  if (file === '-') return 'jsonl';
  const format = BY_EXTENSION[path.extname(file).toLowerCase()];
  if (format === undefined) {
    throw new SinkError(
      `cannot tell the output format of ${file}: use one of the extensions ${OUTPUT_EXTENSIONS.join(', ')}, or - for stdout`,
    );
  }
  return format;
}

/**
 * Opens the sink for `file` chosen by its extension (see sinkFormatFor), fresh or resumed (see
 * SinkOpenOptions). The path is only ever the user's: nothing from a crawled page reaches it.
 * `-` opens a StdoutSink (JSON Lines on stdout), which cannot be cut back: `resumeOffset` is
 * ignored there, so across a crash records come out at least once, not exactly once.
 */
export function openSink(file: string, opts: CsvSinkOptions = {}): Sink {
  if (file === '-') return new StdoutSink();
  switch (sinkFormatFor(file)) {
    case 'jsonl':
      return new JsonlSink(file, opts);
    case 'csv':
      return new CsvSink(file, opts);
    case 'sqlite':
      return new SqliteSink(file, opts);
  }
}
