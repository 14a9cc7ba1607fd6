import { type PageRecord, RECORD_COLUMNS } from '../record.js';
import type { Sink, SinkOpenOptions } from './sink.js';
import { type SqliteTable, SqliteTableSink } from './sqlite-table-sink.js';

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
  rendered: 'INTEGER',
  change: 'TEXT',
  cached: 'INTEGER',
};

type Row = Record<(typeof RECORD_COLUMNS)[number], string | number | null>;

/** Maps a record to the `pages` row: links/fields as JSON, noindex as 0/1, rendered and cached as 1, absent as NULL. */
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
    rendered: r.rendered === true ? 1 : null,
    change: r.change ?? null,
    cached: r.cached === true ? 1 : null,
  };
}

/** The `pages` table: the RECORD_COLUMNS, bound by name from toRow. */
const PAGES: SqliteTable<PageRecord> = {
  name: 'pages',
  create: `CREATE TABLE IF NOT EXISTS pages (${RECORD_COLUMNS.map((c) => `${c} ${COLUMN_TYPES[c]}`).join(', ')})`,
  insert: `INSERT INTO pages (${RECORD_COLUMNS.join(', ')}) VALUES (${RECORD_COLUMNS.map((c) => `@${c}`).join(', ')})`,
  unit: 'rows',
  row: toRow,
  // An output written before a column existed (`rendered`, `change`, `cached`) gains it (NULL in
  // its old rows), so a resumed crawl can go on writing to it.
  check: (db) => {
    const cols = new Set(
      (db.prepare('PRAGMA table_info(pages)').all() as { name: string }[]).map((c) => c.name),
    );
    for (const c of ['rendered', 'change', 'cached'] as const)
      if (!cols.has(c)) db.exec(`ALTER TABLE pages ADD COLUMN ${c} ${COLUMN_TYPES[c]}`);
    return undefined;
  },
};

/**
 * SQLite output: a `pages` table with the RECORD_COLUMNS (links and fields as JSON text, noindex
 * 0/1), one transaction per write, WAL mode with synchronous=NORMAL (a committed batch survives
 * the death of the process). The mark is the last rowid: rows are only appended, so rowids are
 * 1..n, and resuming deletes every row with rowid > mark. A new output replaces an existing
 * `pages` table (its rows are deleted); other tables in the file are left alone.
 */
export class SqliteSink extends SqliteTableSink<PageRecord> implements Sink {
  readonly format = 'sqlite' as const;

  /** Opens (or resumes, see SinkOpenOptions; the offset counts rows) the SQLite file at `path`. */
  constructor(path: string, opts: SinkOpenOptions = {}) {
    super(path, opts.resumeOffset, PAGES);
  }
}
