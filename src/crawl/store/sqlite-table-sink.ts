import * as fs from 'node:fs';
import Database from 'better-sqlite3';
import { SinkError, type SinkMark } from './sink.js';
import { asStorageFull } from './storage-full.js';

/** The one table a SqliteTableSink appends `T`s to, and how an entry becomes its row. */
export interface SqliteTable<T> {
  /** The table's name, as the statements and the messages spell it (`pages`, `items`). */
  readonly name: string;
  /** Its `CREATE TABLE IF NOT EXISTS` statement. */
  readonly create: string;
  /** The INSERT of one row; its parameters are bound from `row(entry)`. */
  readonly insert: string;
  /** What a resume offset counts, for the message about a missing file (`rows`, `items`). */
  readonly unit: string;
  /** One entry as the INSERT's parameters: an array for `?`, an object for `@name`. */
  row(entry: T): unknown[] | Record<string, unknown>;
  /**
   * Inspects the table (it exists by then) before anything is deleted, and may bring an older
   * table up to date (add a column); a returned message refuses the file with a SinkError
   * `cannot use output <path>: <message>`, leaving its rows as they were.
   */
  check?(db: Database.Database): string | undefined;
}

/**
 * The shared body of the SQLite sinks (records and items), as LineSink is of the text sinks:
 * one table in one SQLite file, rows only appended, so rowids are 1..n and the row count is the
 * mark. Subclasses name the format and pass their table. WAL mode with synchronous=NORMAL and
 * one transaction per write, so a committed write survives the death of the process (not a
 * power cut). Tables other than `table.name` are left alone, so one file can hold both the
 * pages and the items.
 */
export abstract class SqliteTableSink<T> {
  readonly path: string;
  /** Rows a fresh open deleted from an existing table (0 on resume or a new table). */
  readonly replaced: number;
  private readonly db: Database.Database;
  private readonly table: SqliteTable<T>;
  private readonly insertAll: (rows: readonly (unknown[] | Record<string, unknown>)[]) => void;
  private rows: number;

  /**
   * Opens `path` (creating the file and the table when absent). With `resume` (the committed
   * mark's offset) the table must hold at least that many rows and every row with a rowid above
   * it is deleted; a `resume` that is not a whole number ≥ 0, a file that is missing although
   * rows were committed, or a table that holds fewer rows throws a SinkError. Without it every
   * row is deleted (a new output; `replaced` says how many). `table.check` runs first and can
   * refuse the file. A file that cannot be opened throws a SinkError, a full disk a
   * StorageFullError; the database is closed again whenever the open fails.
   */
  constructor(path: string, resume: number | undefined, table: SqliteTable<T>) {
    this.path = path;
    this.table = table;
    if (resume !== undefined && (!Number.isSafeInteger(resume) || resume < 0)) {
      throw new SinkError(`cannot resume output ${path}: invalid committed row count ${resume}`);
    }
    if (resume !== undefined && resume > 0 && !fs.existsSync(path)) {
      throw new SinkError(
        `cannot resume output ${path}: the file is missing but the state file records ${resume} committed ${table.unit} (use --fresh to start over)`,
      );
    }
    let db: Database.Database | undefined;
    try {
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.exec(table.create);
    } catch (err) {
      db?.close();
      throw (
        asStorageFull(err, path) ?? new SinkError(`cannot open output ${path}: ${(err as Error).message}`)
      );
    }
    this.db = db;
    try {
      const problem = table.check?.(db);
      if (problem !== undefined) throw new SinkError(`cannot use output ${path}: ${problem}`);
      const max = (
        db.prepare(`SELECT coalesce(max(rowid), 0) AS n FROM ${table.name}`).get() as { n: number }
      ).n;
      if (resume !== undefined && max < resume) {
        throw new SinkError(
          `cannot resume output ${path}: its ${table.name} table holds ${max} rows but ${resume} were committed (the file was modified; use --fresh to start over)`,
        );
      }
      const keep = resume ?? 0;
      if (max > keep) db.prepare(`DELETE FROM ${table.name} WHERE rowid > ?`).run(keep);
      this.replaced = resume === undefined ? max : 0;
      this.rows = keep;
    } catch (err) {
      db.close();
      throw asStorageFull(err, path) ?? err;
    }
    const insert = db.prepare(table.insert);
    this.insertAll = db.transaction((rows: readonly (unknown[] | Record<string, unknown>)[]) => {
      for (const r of rows) this.rows = Number(insert.run(r).lastInsertRowid);
    });
  }

  /**
   * Appends the entries in one transaction and returns the mark after them (`offset` = rows in
   * the table). Every entry is turned into its row first, so a `row` that throws leaves the
   * table untouched. All or nothing: a failed transaction is rolled back whole and the mark
   * stays where it was; a full disk (SQLITE_FULL) throws a StorageFullError naming the file,
   * any other error is rethrown. An empty array writes nothing. Throws a SinkError once closed,
   * even for an empty array.
   */
  write(entries: readonly T[]): SinkMark {
    if (!this.db.open) throw new SinkError(`output ${this.path} is closed`);
    if (entries.length > 0) {
      const rows = entries.map((e) => this.table.row(e));
      const before = this.rows;
      try {
        this.insertAll(rows);
      } catch (err) {
        // The rowids counted inside the rolled-back transaction were never committed.
        this.rows = before;
        throw asStorageFull(err, this.path) ?? err;
      }
    }
    return this.mark();
  }

  /** The mark after everything written so far: the path and the table's row count. */
  mark(): SinkMark {
    return { path: this.path, offset: this.rows };
  }

  /** Closes the database; idempotent. */
  close(): void {
    if (this.db.open) this.db.close();
  }
}
