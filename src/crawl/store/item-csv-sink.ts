import type { CsvSinkOptions } from './csv-sink.js';
import { AppendFile } from './fd-file.js';
import { itemCsvHeader, itemCsvRow, parseItemCsvHeader } from './item-csv.js';
import type { ItemEntry, ItemSinkFormat } from './item-sink.js';
import { LineSink } from './line-sink.js';

/** Bytes read at a time while looking for the end of the header on resume. */
const CHUNK = 64 * 1024;

/**
 * Items as CSV (RFC 4180: CRLF line breaks, quoting per csvField). The columns are the fields of
 * the first item written, in its key order, plus a last column `_extra`, always present: a later
 * item's fields that are not columns go there as one JSON object (empty when none), so no field
 * is lost. Nested values are written as JSON. With `formulaGuard` (default true) text cells and
 * column names are protected against formula injection as in the records' CSV (see cell and
 * itemCsvHeader in item-csv.ts).
 *
 * The header is written with the first items, in the same append, so a new output stays empty
 * (0 bytes) until an item is written. The mark is the file's byte length, header included. On
 * resume the columns are read back from the header, so rows written after a restart line up
 * with those before it; a file whose header is not one this sink writes, or whose committed
 * offset is not at a row end, is refused with a SinkError. Resume with the formulaGuard setting
 * of the first run (a column name is read back as the guard setting says).
 */
export class ItemCsvSink extends LineSink<ItemEntry, ItemSinkFormat> {
  readonly format = 'csv' as const;
  protected readonly file: AppendFile;
  private readonly guard: boolean;
  private columns: readonly string[] = [];
  private columnSet: ReadonlySet<string> = new Set();

  /** Opens (or resumes, see SinkOpenOptions) the items CSV at `path`. */
  constructor(path: string, opts: CsvSinkOptions = {}) {
    super();
    const guard = opts.formulaGuard ?? true;
    this.guard = guard;
    // A committed offset of 0 means nothing (not even the header) was committed: start anew.
    const resume = opts.resumeOffset === 0 ? undefined : opts.resumeOffset;
    let columns: string[] | undefined;
    this.file = new AppendFile(path, resume, (f, keep) => {
      const header = readHeader(f, keep, guard);
      if (typeof header === 'string') {
        return `it is not the items CSV this crawl wrote (${header}; use --fresh to start over)`;
      }
      if (f.read(keep - 2, 2).toString('latin1') !== '\r\n') {
        return `the committed offset ${keep} is not at a row end (the file was modified; use --fresh to start over)`;
      }
      columns = header;
      return undefined;
    });
    if (columns !== undefined) this.setColumns(columns);
  }

  /** The header of a still empty file: the first item's fields become the columns. */
  protected override head(first: ItemEntry): string {
    this.setColumns(Object.keys(first.item));
    return itemCsvHeader(this.columns, this.guard);
  }

  protected line(e: ItemEntry): string {
    return itemCsvRow(e, this.columns, this.columnSet, this.guard);
  }

  private setColumns(columns: string[]): void {
    this.columns = columns;
    this.columnSet = new Set(columns);
  }
}

/**
 * The columns named by the header at the start of `f`, which must end (CRLF outside quotes)
 * within the first `keep` bytes; a problem string otherwise. Reads in 64 KiB chunks and scans
 * bytes: `"`, CR and LF never occur inside a UTF-8 multi-byte character.
 */
function readHeader(f: AppendFile, keep: number, guard: boolean): string[] | string {
  const chunks: Buffer[] = [];
  let quoted = false;
  let prevCr = false;
  for (let pos = 0; pos < keep; ) {
    const chunk = f.read(pos, Math.min(CHUNK, keep - pos));
    if (chunk.length === 0) break;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === 0x22) quoted = !quoted;
      else if (b === 0x0a && prevCr && !quoted) {
        chunks.push(chunk.subarray(0, i + 1));
        const text = Buffer.concat(chunks).toString('utf8');
        return parseItemCsvHeader(text.slice(0, -2), guard);
      }
      prevCr = b === 0x0d && !quoted;
    }
    chunks.push(chunk);
    pos += chunk.length;
  }
  return 'no complete header row before the committed offset';
}
