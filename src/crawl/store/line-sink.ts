import type { PageRecord } from '../record.js';
import type { SinkFormat, SinkMark } from './sink.js';

/**
 * Where a LineSink's bytes go: an AppendFile (a file, cut back on resume) or a StdoutOutput
 * (fd 1, which cannot be cut back). `append` is all or nothing as far as the output allows and
 * returns the new `size`, the bytes written so far, which is the sink's mark.
 */
export interface LineOutput {
  readonly path: string;
  readonly size: number;
  readonly replaced: number;
  append(buf: Buffer): number;
  close(): void;
}

/**
 * The shared half of the text sinks (JSONL, CSV, stdout; page records by default, scraped items
 * with `T` = ItemEntry): one line per entry appended to a LineOutput, whose byte length is the
 * mark. Subclasses open the output (with their own resume check) and say how an entry becomes
 * a line. With the defaults it is a {@link Sink} (structurally; JsonlSink and CsvSink are used as one).
 */
export abstract class LineSink<T = PageRecord, F extends string = SinkFormat> {
  abstract readonly format: F;
  protected abstract readonly file: LineOutput;

  /** One entry as one line, terminator included. */
  protected abstract line(entry: T): string;

  /**
   * Text written before the first line while the output is still empty (size 0), in the same
   * append, so it is committed with that line or not at all; `first` is the first entry of that
   * write. Default none; the item CSV writes its header here, as its columns come from the first
   * item.
   */
  protected head(_first: T): string {
    return '';
  }

  get path(): string {
    return this.file.path;
  }

  get replaced(): number {
    return this.file.replaced;
  }

  /** Appends one line per entry (after the head, if the output is empty) in one write; see Sink.write. */
  write(records: readonly T[]): SinkMark {
    if (records.length > 0) {
      let text = this.file.size === 0 ? this.head(records[0]!) : '';
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
