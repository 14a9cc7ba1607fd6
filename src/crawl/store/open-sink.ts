import * as path from 'node:path';
import { CsvSink, type CsvSinkOptions } from './csv-sink.js';
import { JsonlSink } from './jsonl-sink.js';
import { type Sink, SinkError, type SinkFormat } from './sink.js';
import { SqliteSink } from './sqlite-sink.js';

const BY_EXTENSION: Record<string, SinkFormat> = {
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.csv': 'csv',
  '.sqlite': 'sqlite',
  '.sqlite3': 'sqlite',
  '.db': 'sqlite',
};

/**
 * The output format for a file name, by its extension (case-insensitive): `.jsonl`/`.ndjson` →
 * jsonl, `.csv` → csv, `.sqlite`/`.sqlite3`/`.db` → sqlite. Anything else (including `.json`,
 * which would promise a single JSON document) throws a SinkError listing the accepted extensions.
 */
export function sinkFormatFor(file: string): SinkFormat {
  const format = BY_EXTENSION[path.extname(file).toLowerCase()];
  if (format === undefined) {
    throw new SinkError(
      `cannot tell the output format of ${file}: use one of the extensions ${Object.keys(BY_EXTENSION).join(', ')}`,
    );
  }
  return format;
}

/**
 * Opens the sink for `file` chosen by its extension (see sinkFormatFor), fresh or resumed (see
 * SinkOpenOptions). The path is only ever the user's: nothing from a crawled page reaches it.
 */
export function openSink(file: string, opts: CsvSinkOptions = {}): Sink {
  switch (sinkFormatFor(file)) {
    case 'jsonl':
      return new JsonlSink(file, opts);
    case 'csv':
      return new CsvSink(file, opts);
    case 'sqlite':
      return new SqliteSink(file, opts);
  }
}
