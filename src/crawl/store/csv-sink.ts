import { type PageRecord, RECORD_COLUMNS } from '../record.js';
import { AppendFile } from './fd-file.js';
import { LineSink } from './line-sink.js';
import type { SinkOpenOptions } from './sink.js';

/** Options of the CSV sink. */
export interface CsvSinkOptions extends SinkOpenOptions {
  /**
   * Guard against CSV formula injection (default true): a text cell whose first character is
   * `=`, `+`, `-`, `@`, TAB or CR gets a leading `'`, so a spreadsheet shows it as text instead of
   * evaluating a formula planted in a crawled page's title or description (OWASP's advice).
   * Numeric and boolean columns are never prefixed. Set false for byte-exact text.
   */
  formulaGuard?: boolean;
}

const HEADER = `${RECORD_COLUMNS.join(',')}\r\n`;
const NEEDS_QUOTES = /[",\r\n]/;
/** A text cell the formula guard prefixes with `'` (see CsvSinkOptions.formulaGuard). */
export const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * Quotes one CSV field per RFC 4180: a field containing a comma, double quote, CR or LF is
 * enclosed in double quotes with inner quotes doubled; any other field is written as is.
 */
export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * Turns a record into one CSV row (without the line break), columns in RECORD_COLUMNS order:
 * null/undefined → empty; `links` joined with single spaces; `fields` as JSON; booleans as
 * `true`/`false`; numbers as JavaScript prints them. With `formulaGuard` text cells are
 * protected as described in CsvSinkOptions.
 */
export function csvRow(r: PageRecord, formulaGuard: boolean): string {
  let row = '';
  for (let i = 0; i < RECORD_COLUMNS.length; i++) {
    const col = RECORD_COLUMNS[i]!;
    const v = r[col];
    let cell: string;
    if (v === null || v === undefined) cell = '';
    else if (typeof v === 'number' || typeof v === 'boolean') cell = String(v);
    else {
      if (col === 'links') cell = (v as string[]).join(' ');
      else if (col === 'fields') cell = JSON.stringify(v);
      else cell = String(v);
      if (formulaGuard && FORMULA_START.test(cell)) cell = `'${cell}`;
    }
    row += i === 0 ? csvField(cell) : `,${csvField(cell)}`;
  }
  return row;
}

/**
 * CSV output (RFC 4180: CRLF line breaks, header row of RECORD_COLUMNS, quoting per csvField).
 * The mark is the file's byte length, header included; a new file gets its header at open, so
 * even an empty crawl produces a valid CSV with a header.
 */
export class CsvSink extends LineSink {
  readonly format = 'csv' as const;
  protected readonly file: AppendFile;
  private readonly guard: boolean;

  /** Opens (or resumes, see SinkOpenOptions) the CSV file at `path`. */
  constructor(path: string, opts: CsvSinkOptions = {}) {
    super();
    this.guard = opts.formulaGuard ?? true;
    // A committed offset of 0 means nothing (not even the header) was committed: start anew.
    const resume = opts.resumeOffset === 0 ? undefined : opts.resumeOffset;
    this.file = new AppendFile(path, resume, (f, keep) =>
      keep >= HEADER.length &&
      f.read(0, HEADER.length).toString('utf8') === HEADER &&
      f.read(keep - 2, 2).toString('latin1') === '\r\n'
        ? undefined
        : 'it is not the CSV this crawl wrote (header or row end differs at the committed offset; use --fresh to start over)',
    );
    if (this.file.size === 0) {
      try {
        this.file.append(Buffer.from(HEADER, 'utf8'));
      } catch (err) {
        this.file.close();
        throw err;
      }
    }
  }

  protected line(r: PageRecord): string {
    return `${csvRow(r, this.guard)}\r\n`;
  }
}
