/**
 * The layout of a trawl state file (an SQLite database). Version history:
 * 1 — first release.
 * 2 — `hosts` keeps only a host's pause (`paused_until`); version 1's robots.txt cache, backoff
 *     and crawl-delay columns were never written and are dropped (MIGRATE_1_TO_2).
 * 3 — scrapers: `frontier.url` and `results.url` hold an item's identity (its key: the URL, or a
 *     POST's or a scraper's own uniqueKey), `frontier.request` keeps what a scraper asked for
 *     beyond a plain GET, and the `items` table keeps scraped items with their page's completion;
 *     meta gains `items_path`/`items_offset`/`items_format` (MIGRATE_2_TO_3).
 * 4 — sessions: the `sessions` table keeps the crawl's sessions (cookie jars, proxy, retired)
 *     so a resumed crawl keeps its logins (MIGRATE_3_TO_4).
 * 5 — recrawls: `results` gains the page's validators and content hash (`etag`, `last_modified`,
 *     `body_hash`), its recrawl interval (`interval_ms`) and its WARC capture (`capture_id`,
 *     `captured_at`); `done_at` is when it was fetched (MIGRATE_4_TO_5).
 * A state file records its SCHEMA_VERSION in `PRAGMA user_version` (and in meta); trawl opens
 * files of this or an older version it can migrate (a writable open migrates them; a read-only
 * open reads them as they are), and refuses newer ones.
 */
export const SCHEMA_VERSION = 5;

/**
 * `PRAGMA application_id` of a trawl state file: the bytes 'trwl' read as a big-endian int32.
 * SQLite stores it at byte offset 68 of the file header, so a file can be recognised from its
 * first 100 bytes without opening it (see state-db.ts).
 */
export const APPLICATION_ID = 0x7472776c;

/** The value of meta 'application' in every trawl state file. */
export const APPLICATION_NAME = 'trawl';

/** Frontier row states. */
export const QUEUED = 0;
export const LEASED = 1;
export const DONE = 2;

/**
 * The DDL of the current schema version (a new file is created with it directly; older files
 * get there by the MIGRATE_* steps).
 *
 * frontier: every item ever accepted (the exact seen set, so its size is the crawl's "seen").
 * `url` is the item's identity, `itemKey(item)`: its normalized URL for a plain link, else its
 * key (a POST's `METHOD url bodyhash` or a scraper's uniqueKey) — two POSTs to one URL with
 * different bodies are two rows. `request` is NULL for a plain link (the common path stores and
 * parses nothing more); otherwise the JSON of `{url?, method?, headers?, body?, label?,
 * userData?}`, the item's RequestSpec plus, when the item has a key, its real URL in `url`.
 * `seq` orders each host's queue (FIFO); release and requeue give a row a new seq, putting it at
 * the back. The partial index frontier_queue covers only queued rows, so it shrinks as the crawl
 * progresses and leasing is an index range scan; frontier_leased finds the (few) leased rows for
 * crash recovery; frontier_delayed finds the (few) rows with a future not_before for nextDueAt.
 *
 * results: one row per finished item with the whole PageRecord as JSON, in completion order
 * (rowid); `url` is the item's identity as in frontier (the record holds the real URL);
 * `error` 0/1 and `error_kind` (the `<kind>` prefix of record.error) serve status. What a recrawl
 * needs of the page as last fetched: `done_at` (ms since epoch), the final response's `etag` and
 * `last_modified` header values, `body_hash` (base64 SHA-1 of the decompressed body; NULL when no
 * body was kept), `interval_ms` (--recrawl-after auto's interval for the page; NULL until a
 * recrawl set one), and with --warc the WARC-Record-ID and WARC-Date (ms) of the response record
 * that holds the page's current content (`capture_id`, `captured_at`), which a revisit record of
 * an unchanged page refers to.
 *
 * items: the scraped items (Completion.items), one row each in push order (rowid), written in the
 * transaction that stores their page's result and only when it stores it; a result replaced
 * (a completion of an item already done) or deleted (requeueFailed) takes its items with it, so
 * every page's items are there exactly once. `key` is the page's identity (results.url; indexed
 * for that replacement), `url` the page's record URL, `label` its handler label (NULL: default),
 * `item` the item's JSON.
 *
 * hosts: a host's pause (Retry-After, 429/503 backoff) set through SqliteFrontier.pauseHost, so
 * a resumed crawl still skips the host until then. Nothing else about hosts is persisted.
 *
 * sessions: the crawl's sessions as the last SqliteFrontier.saveSessions left them (a save
 * replaces the whole set in one transaction). `data` is the JSON of the session with its
 * position in the saved list (stored-session.ts): it holds cookie values, which is why a state
 * file is created with mode 0600 (state-db.ts). `updated` is the save's time (ms since epoch).
 */
export const SCHEMA = `
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE frontier (
  url TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  depth INTEGER NOT NULL,
  referrer TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  not_before INTEGER NOT NULL DEFAULT 0,
  state INTEGER NOT NULL DEFAULT 0,
  seq INTEGER NOT NULL,
  lastmod TEXT,
  request TEXT
);
CREATE INDEX frontier_queue ON frontier (host, seq) WHERE state = 0;
CREATE INDEX frontier_leased ON frontier (state) WHERE state = 1;
CREATE INDEX frontier_delayed ON frontier (not_before) WHERE state = 0 AND not_before > 0;

CREATE TABLE results (
  url TEXT NOT NULL UNIQUE,
  host TEXT NOT NULL,
  error INTEGER NOT NULL,
  error_kind TEXT,
  record TEXT NOT NULL,
  done_at INTEGER NOT NULL,
  etag TEXT,
  last_modified TEXT,
  body_hash TEXT,
  interval_ms INTEGER,
  capture_id TEXT,
  captured_at INTEGER
);
CREATE INDEX results_failed ON results (host) WHERE error = 1;

CREATE TABLE items (
  key TEXT NOT NULL,
  url TEXT NOT NULL,
  label TEXT,
  item TEXT NOT NULL
);
CREATE INDEX items_key ON items (key);

CREATE TABLE hosts (
  host TEXT PRIMARY KEY,
  paused_until INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  data TEXT NOT NULL,
  updated INTEGER NOT NULL
) WITHOUT ROWID;
`;

/**
 * Version 1 → 2: rebuilds `hosts` with only `host` and `paused_until` (pauses still in force are
 * kept; the other columns were never written). Run in one transaction with the version bump.
 */
export const MIGRATE_1_TO_2 = `
CREATE TABLE hosts_v2 (
  host TEXT PRIMARY KEY,
  paused_until INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO hosts_v2 (host, paused_until) SELECT host, paused_until FROM hosts WHERE paused_until > 0;
DROP TABLE hosts;
ALTER TABLE hosts_v2 RENAME TO hosts;
`;

/**
 * Version 2 → 3: adds `frontier.request` (NULL for every existing row: they are all plain links,
 * whose identity column already holds their URL) and the empty `items` table. Run in one
 * transaction with the version bump.
 */
export const MIGRATE_2_TO_3 = `
ALTER TABLE frontier ADD COLUMN request TEXT;
CREATE TABLE items (
  key TEXT NOT NULL,
  url TEXT NOT NULL,
  label TEXT,
  item TEXT NOT NULL
);
CREATE INDEX items_key ON items (key);
`;

/**
 * Version 3 → 4: adds the empty `sessions` table (a file of version 3 never kept sessions). Run
 * in one transaction with the version bump.
 */
export const MIGRATE_3_TO_4 = `
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  data TEXT NOT NULL,
  updated INTEGER NOT NULL
) WITHOUT ROWID;
`;

/**
 * Version 4 → 5: adds the recrawl columns to `results` (NULL for existing rows: a recrawl of them
 * sends no validators and compares no hash, so each counts as changed once). Run in one
 * transaction with the version bump.
 */
export const MIGRATE_4_TO_5 = `
ALTER TABLE results ADD COLUMN etag TEXT;
ALTER TABLE results ADD COLUMN last_modified TEXT;
ALTER TABLE results ADD COLUMN body_hash TEXT;
ALTER TABLE results ADD COLUMN interval_ms INTEGER;
ALTER TABLE results ADD COLUMN capture_id TEXT;
ALTER TABLE results ADD COLUMN captured_at INTEGER;
`;
