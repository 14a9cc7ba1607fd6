import * as fs from 'node:fs';
import Database from 'better-sqlite3';
import { type PageRecord, RECORD_COLUMNS } from '../record.js';
import { type Sink, SinkError, type SinkMark, type SinkOpenOptions } from './sink.js';
import { asStorageFull } from './storage-full.js';

/** SQL type of each output column (links and fields are stored as JSON text). */
const COLUMN_TYPES: Record<(typeof RECORD_COLUMNS)[number], string> = {
  url: 'TEXT NOT NULL',
  final_url: 'TEXT',
  status: 'INTEGER',
  depth: 'INTEGER NOT NULL',
  referrer: 'TEXT',
  title: 'TEXT',
  description: 'TEXT',
  canonical: 'TEXT',
  links_count: 'INTEGER NOT NULL',
  links: 'TEXT NOT NULL',
  content_type: 'TEXT',
  bytes: 'INTEGER NOT NULL',
  fetched_at: 'TEXT NOT NULL',
  duration_ms: 'REAL NOT NULL',
  attempts: 'INTEGER NOT NULL',
  error: 'TEXT',
  noindex: 'INTEGER',
  lastmod: 'TEXT',
  fields: 'TEXT',
};

const CREATE = `CREATE TABLE IF NOT EXISTS pages (${RECORD_COLUMNS.map((c) => `${c} ${COLUMN_TYPES[c]}`).join(', ')})`;
const INSERT = `INSERT INTO pages (${RECORD_COLUMNS.join(', ')}) VALUES (${RECORD_COLUMNS.map((c) => `@${c}`).join(', ')})`;

type Row = Record<(typeof RECORD_COLUMNS)[number], string | number | null>;

/** Maps a record to the `pages` row: links/fields as JSON, noindex as 0/1, absent as NULL. */
function toRow(r: PageRecord): Row {
  return {
    url: r.url,
    final_url: r.final_url,
    status: r.status,
    depth: r.depth,
    referrer: r.referrer,
    title: r.title,
    description: r.description,
    canonical: r.canonical,
    links_count: r.links_count,
    links: JSON.stringify(r.links),
    content_type: r.content_type,
    bytes: r.bytes,
    fetched_at: r.fetched_at,
    duration_ms: r.duration_ms,
    attempts: r.attempts,
    error: r.error,
    noindex: r.noindex === undefined ? null : r.noindex ? 1 : 0,
    lastmod: r.lastmod ?? null,
    fields: r.fields === undefined ? null : JSON.stringify(r.fields),
  };
}

/**
 * SQLite output: a `pages` table with the RECORD_COLUMNS (links and fields as JSON text, noindex
 * 0/1), one transaction per write, WAL mode with synchronous=NORMAL (a committed batch survives
 * the death of the process). The mark is the last rowid: rows are only appended, so rowids are
 * 1..n, and resuming deletes every row with rowid > mark. A new output replaces an existing
 * `pages` table (its rows are deleted); other tables in the file are left alone.
 */
export class SqliteSink implements Sink {
  readonly format = 'sqlite' as const;
  readonly path: string;
  readonly replaced: number;
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly writeBatch: (records: readonly PageRecord[]) => void;
  private rows: number;

  /** Opens (or resumes, see SinkOpenOptions; the offset counts rows) the SQLite file at `path`. */
  constructor(path: string, opts: SinkOpenOptions = {}) {
    this.path = path;
    const resume = opts.resumeOffset;
    if (resume !== undefined && (!Number.isSafeInteger(resume) || resume < 0)) {
      throw new SinkError(`cannot resume output ${path}: invalid committed row count ${resume}`);
    }
    if (resume !== undefined && resume > 0 && !fs.existsSync(path)) {
      throw new SinkError(
        `cannot resume output ${path}: the file is missing but the state file records ${resume} committed rows (use --fresh to start over)`,
      );
    }
    let db: Database.Database | undefined;
    try {
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.exec(CREATE);
    } catch (err) {
      db?.close();
      throw (
        asStorageFull(err, path) ?? new SinkError(`cannot open output ${path}: ${(err as Error).message}`)
      );
    }
    this.db = db;
    const max = (this.db.prepare('SELECT coalesce(max(rowid), 0) AS n FROM pages').get() as { n: number }).n;
    if (resume !== undefined && max < resume) {
      this.db.close();
      throw new SinkError(
        `cannot resume output ${path}: its pages table holds ${max} rows but ${resume} were committed (the file was modified; use --fresh to start over)`,
      );
    }
    const keep = resume ?? 0;
    try {
      if (max > keep) this.db.prepare('DELETE FROM pages WHERE rowid > ?').run(keep);
    } catch (err) {
      this.db.close();
      throw asStorageFull(err, path) ?? err;
    }
    this.replaced = resume === undefined ? max : 0;
    this.rows = keep;
    this.insert = this.db.prepare(INSERT);
    this.writeBatch = this.db.transaction((records: readonly PageRecord[]) => {
      for (const r of records) this.rows = Number(this.insert.run(toRow(r)).lastInsertRowid);
    });
  }

  /**
   * Inserts the records in one transaction; see Sink.write. A failed transaction is rolled back
   * whole (the mark stays where it was); a full disk (SQLITE_FULL) throws a StorageFullError
   * naming the file.
   */
  write(records: readonly PageRecord[]): SinkMark {
    if (!this.db.open) throw new SinkError(`output ${this.path} is closed`);
    if (records.length > 0) {
      const before = this.rows;
      try {
        this.writeBatch(records);
      } catch (err) {
        // The rowids counted inside the rolled-back transaction were never committed.
        this.rows = before;
        throw asStorageFull(err, this.path) ?? err;
      }
    }
    return this.mark();
  }

  /** See Sink.mark. */
  mark(): SinkMark {
    return { path: this.path, offset: this.rows };
  }

  /** Closes the database; idempotent. */
  close(): void {
    if (this.db.open) this.db.close();
  }
}
