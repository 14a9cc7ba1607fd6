import * as fs from 'node:fs';
import Database from 'better-sqlite3';
import { toJson } from './item-json.js';
import type { ItemEntry, ItemSink, ItemSinkFormat } from './item-sink.js';
import { SinkError, type SinkMark, type SinkOpenOptions } from './sink.js';
import { asStorageFull } from './storage-full.js';

const CREATE =
  'CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, url TEXT NOT NULL, label TEXT, item TEXT NOT NULL)';
const INSERT = 'INSERT INTO items (url, label, item) VALUES (?, ?, ?)';
const COLUMNS = 'id,url,label,item';

/**
 * Items in SQLite: a table `items(id INTEGER PRIMARY KEY, url, label, item)` with the page's URL,
 * the request's label (NULL for the default handler) and the item as JSON text (query it with
 * `json_extract(item, '$.price')`). One transaction per write, WAL mode with synchronous=NORMAL
 * (a committed batch survives the death of the process), as the records' SqliteSink. The mark is
 * the last id: rows are only appended, so ids are 1..n, and resuming deletes every row with
 * id > mark (a table with fewer rows than the mark is refused). A new output deletes the rows of
 * an existing `items` table written by trawl; an `items` table with other columns (someone
 * else's) is refused with a SinkError rather than emptied. Other tables are left alone, so the
 * file can also hold the crawl's `pages`.
 */
export class ItemSqliteSink implements ItemSink {
  readonly format: ItemSinkFormat = 'sqlite';
  readonly path: string;
  readonly replaced: number;
  private readonly db: Database.Database;
  private readonly writeBatch: (rows: readonly [string, string | null, string][]) => void;
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
        `cannot resume output ${path}: the file is missing but the state file records ${resume} committed items (use --fresh to start over)`,
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
    try {
      const columns = (db.pragma('table_info(items)') as { name: string }[]).map((c) => c.name).join(',');
      if (columns !== COLUMNS) {
        throw new SinkError(
          `cannot use output ${path}: it has an items table that trawl did not write (columns ${columns}); choose another file`,
        );
      }
      const max = (db.prepare('SELECT coalesce(max(id), 0) AS n FROM items').get() as { n: number }).n;
      if (resume !== undefined && max < resume) {
        throw new SinkError(
          `cannot resume output ${path}: its items table holds ${max} rows but ${resume} were committed (the file was modified; use --fresh to start over)`,
        );
      }
      const keep = resume ?? 0;
      if (max > keep) db.prepare('DELETE FROM items WHERE id > ?').run(keep);
      this.replaced = resume === undefined ? max : 0;
      this.rows = keep;
    } catch (err) {
      db.close();
      throw asStorageFull(err, path) ?? err;
    }
    const insert = db.prepare(INSERT);
    this.writeBatch = db.transaction((rows: readonly [string, string | null, string][]) => {
      for (const r of rows) this.rows = Number(insert.run(r).lastInsertRowid);
    });
  }

  /**
   * Inserts the entries in one transaction; see ItemSink.write. Every item is encoded first, so
   * one JSON cannot encode throws an ItemEncodingError with nothing inserted. A failed
   * transaction is rolled back whole (the mark stays where it was); a full disk (SQLITE_FULL)
   * throws a StorageFullError naming the file.
   */
  write(entries: readonly ItemEntry[]): SinkMark {
    if (!this.db.open) throw new SinkError(`output ${this.path} is closed`);
    if (entries.length > 0) {
      const rows = entries.map((e): [string, string | null, string] => [
        e.url,
        e.label,
        toJson(e, e.item) ?? 'null',
      ]);
      const before = this.rows;
      try {
        this.writeBatch(rows);
      } catch (err) {
        // The ids counted inside the rolled-back transaction were never committed.
        this.rows = before;
        throw asStorageFull(err, this.path) ?? err;
      }
    }
    return this.mark();
  }

  /** See ItemSink.mark. */
  mark(): SinkMark {
    return { path: this.path, offset: this.rows };
  }

  /** Closes the database; idempotent. */
  close(): void {
    if (this.db.open) this.db.close();
  }
}
