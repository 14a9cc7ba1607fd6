import type { PageRecord } from '../record.js';
import { AppendFile } from './fd-file.js';
import type { Sink, SinkMark, SinkOpenOptions } from './sink.js';

/**
 * JSON Lines output: one PageRecord per line as a JSON object (fields in PageRecord order, optional
 * fields present only when set), UTF-8, `\n`-terminated. The mark is the file's byte length.
 * JSON.stringify escapes U+2028/U+2029 and control characters, so a line never contains a raw
 * newline and a truncated tail is always cut at a line boundary.
 */
export class JsonlSink implements Sink {
  readonly format = 'jsonl' as const;
  private readonly file: AppendFile;

  /** Opens (or resumes, see SinkOpenOptions) the JSONL file at `path`. */
  constructor(path: string, opts: SinkOpenOptions = {}) {
    this.file = new AppendFile(path, opts.resumeOffset, (f, keep) =>
      f.read(keep - 1, 1)[0] === 0x0a
        ? undefined
        : `the committed offset ${keep} is not at a line end (the file was modified; use --fresh to start over)`,
    );
  }

  get path(): string {
    return this.file.path;
  }

  get replaced(): number {
    return this.file.replaced;
  }

  /** Appends one line per record; see Sink.write. */
  write(records: readonly PageRecord[]): SinkMark {
    if (records.length > 0) {
      let text = '';
      for (const r of records) text += `${JSON.stringify(r)}\n`;
      this.file.append(Buffer.from(text, 'utf8'));
    }
    return this.mark();
  }

  /** See Sink.mark. */
  mark(): SinkMark {
    return { path: this.file.path, offset: this.file.size };
  }

  /** See Sink.close. */
  close(): void {
    this.file.close();
  }
}
