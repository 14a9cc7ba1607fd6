import type { PageRecord } from '../record.js';
import type { AppendFile } from './fd-file.js';
import type { Sink, SinkFormat, SinkMark } from './sink.js';

/**
 * The shared half of the text sinks (JSONL, CSV): one line per record appended to an
 * AppendFile, whose byte length is the mark. Subclasses open the file (with their own resume
 * check) and say how a record becomes a line.
 */
export abstract class LineSink implements Sink {
  abstract readonly format: SinkFormat;
  protected abstract readonly file: AppendFile;

  /** One record as one line, terminator included. */
  protected abstract line(record: PageRecord): string;

  get path(): string {
    return this.file.path;
  }

  get replaced(): number {
    return this.file.replaced;
  }

  /** Appends one line per record in one write; see Sink.write. */
  write(records: readonly PageRecord[]): SinkMark {
    if (records.length > 0) {
      let text = '';
      for (const r of records) text += this.line(r);
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
