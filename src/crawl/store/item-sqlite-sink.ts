import { toJson } from './item-json.js';
import type { ItemEntry, ItemSink, ItemSinkFormat } from './item-sink.js';
import type { SinkOpenOptions } from './sink.js';
import { type SqliteTable, SqliteTableSink } from './sqlite-table-sink.js';

const COLUMNS = 'id,url,label,item';

/**
 * The `items` table. Its columns are checked, as a file may hold an `items` table of someone
 * else's that a fresh open must not empty. Every item is encoded before the transaction, so an
 * item JSON cannot encode throws an ItemEncodingError with nothing inserted.
 */
const ITEMS: SqliteTable<ItemEntry> = {
  name: 'items',
  create:
    'CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, url TEXT NOT NULL, label TEXT, item TEXT NOT NULL)',
  insert: 'INSERT INTO items (url, label, item) VALUES (?, ?, ?)',
  unit: 'items',
  row: (e) => [e.url, e.label, toJson(e, e.item) ?? 'null'],
  check(db) {
    const columns = (db.pragma('table_info(items)') as { name: string }[]).map((c) => c.name).join(',');
    return columns === COLUMNS
      ? undefined
      : `it has an items table that trawl did not write (columns ${columns}); choose another file`;
  },
};

/**
 * Items in SQLite: a table `items(id INTEGER PRIMARY KEY, url, label, item)` with the page's URL,
 * the request's label (NULL for the default handler) and the item as JSON text (query it with
 * `json_extract(item, '$.price')`). One transaction per write, WAL mode with synchronous=NORMAL
 * (a committed batch survives the death of the process), as the records' SqliteSink. The mark is
 * the last id (the rowid): rows are only appended, so ids are 1..n, and resuming deletes every row with
 * id > mark (a table with fewer rows than the mark is refused). A new output deletes the rows of
 * an existing `items` table written by trawl; an `items` table with other columns (someone
 * else's) is refused with a SinkError rather than emptied. Other tables are left alone, so the
 * file can also hold the crawl's `pages`.
 */
export class ItemSqliteSink extends SqliteTableSink<ItemEntry> implements ItemSink {
  readonly format: ItemSinkFormat = 'sqlite';

  /** Opens (or resumes, see SinkOpenOptions; the offset counts rows) the SQLite file at `path`. */
  constructor(path: string, opts: SinkOpenOptions = {}) {
    super(path, opts.resumeOffset, ITEMS);
  }
}
