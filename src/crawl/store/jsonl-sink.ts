import { type PageRecord, recordJson } from '../record.js';
import { AppendFile } from './fd-file.js';
import { LineSink } from './line-sink.js';
import type { SinkOpenOptions } from './sink.js';

/**
 * The resume check of a JSON Lines file (see AppendFile): the committed prefix must end with a
 * `\n`, or the file was changed behind the crawl's back.
 */
export function atLineEnd(f: AppendFile, keep: number): string | undefined {
  return f.read(keep - 1, 1)[0] === 0x0a
    ? undefined
    : `the committed offset ${keep} is not at a line end (the file was modified; use --fresh to start over)`;
}

/**
 * JSON Lines output: one PageRecord per line as a JSON object (fields in PageRecord order, optional
 * fields present only when set), UTF-8, `\n`-terminated. The mark is the file's byte length.
 * JSON.stringify escapes U+2028/U+2029 and control characters, so a line never contains a raw
 * newline and a truncated tail is always cut at a line boundary.
 */
export class JsonlSink extends LineSink {
  readonly format = 'jsonl' as const;
  protected readonly file: AppendFile;

  /** Opens (or resumes, see SinkOpenOptions) the JSONL file at `path`. */
  constructor(path: string, opts: SinkOpenOptions = {}) {
    super();
    this.file = new AppendFile(path, opts.resumeOffset, atLineEnd);
  }

  protected line(r: PageRecord): string {
    return `${recordJson(r)}\n`;
  }
}
