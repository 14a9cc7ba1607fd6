import * as fs from 'node:fs';
import Database from 'better-sqlite3';
import type { WarcCommit } from '../frontier/frontier.js';
import { itemSinkFormatFor } from '../store/item-sink.js';
import { sinkFormatFor } from '../store/open-sink.js';
import type { SinkMark } from '../store/sink.js';
import {
  APPLICATION_ID,
  APPLICATION_NAME,
  MIGRATE_1_TO_2,
  MIGRATE_2_TO_3,
  MIGRATE_3_TO_4,
  MIGRATE_4_TO_5,
  SCHEMA,
  SCHEMA_VERSION,
} from './schema.js';

/**
 * A state file could not be opened or does not belong to this crawl. The message names the
 * file and the problem; the file is left as it was found.
 */
export class StateError extends Error {
  override readonly name = 'StateError';
}

/** The crawl-level facts kept in the state file's meta table. */
export interface StateMeta {
  /** The crawl's name (a state file serves one crawl). */
  name: string;
  /** The seed URLs the crawl started from. */
  seeds: string[];
  /** The crawl options it was created with (JSON-serializable). */
  options: Record<string, unknown>;
  /** ISO-8601 time the state file was created. */
  createdAt: string;
  /** ISO-8601 time of the last committed batch; undefined before the first. */
  updatedAt?: string;
  /** The output file of the last committed batch. */
  outPath?: string;
  /** Committed output length (bytes for JSONL/CSV, rows for SQLite) after the last batch. */
  outOffset?: number;
  /** Output format of outPath ('jsonl' | 'csv' | 'sqlite'). */
  outFormat?: string;
  /** The items output (--items) of the last committed batch that had an items mark. */
  itemsPath?: string;
  /** Committed items output length (bytes for JSONL/CSV, rows for SQLite) after that batch. */
  itemsOffset?: number;
  /** Format of itemsPath ('jsonl' | 'csv' | 'sqlite' | 'stdout'), when known. */
  itemsFormat?: string;
  /** Schema version the file was written with. */
  schemaVersion: number;
  /** When the current (or last) recrawl pass started, ms since epoch; undefined before any recrawl. */
  recrawlStartedAt?: number;
  /** The WARC file of the last committed batch that wrote WARC records. */
  warcPath?: string;
  /** Committed bytes of warcPath after that batch. */
  warcOffset?: number;
  /** Every WARC file the crawl has written, oldest first (for `trawl export --out x.cdxj`). */
  warcFiles?: string[];
}

/** Options of {@link openState}. */
export interface OpenStateOptions {
  /** Create the file when it does not exist (otherwise a missing file is a StateError). */
  create?: boolean;
  /** Crawl name to record in a new file (required with create when the file is new). */
  name?: string;
  /** Seeds to record in a new file. */
  seeds?: readonly string[];
  /** Options to record in a new file. */
  options?: Record<string, unknown>;
  /** Open without writing anything (for status/export while a crawl runs). */
  readonly?: boolean;
  /** SQLite page cache size in MiB (default 32): bounds the state's memory whatever its size. */
  cacheMiB?: number;
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * Checks, from the first 100 bytes only (the file is not opened as a database, so nothing is
 * written to it and no -wal/-shm files appear next to it), that `path` is a trawl state file
 * SQLite can read: the SQLite magic string, trawl's application_id and a schema version not newer
 * than this trawl's. Returns 'missing' (no file), 'empty' (0 bytes: a creation that died before
 * writing anything) or 'ok'; throws a StateError naming the file for anything else.
 */
export function inspectStateFile(path: string): 'missing' | 'empty' | 'ok' {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw new StateError(`cannot read state file ${path}: ${(err as Error).message}`);
  }
  const head = Buffer.alloc(100);
  let n: number;
  try {
    if (!fs.fstatSync(fd).isFile()) throw new StateError(`state file ${path} is not a regular file`);
    n = fs.readSync(fd, head, 0, 100, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (n === 0) return 'empty';
  if (n < 100 || !head.subarray(0, 16).equals(SQLITE_MAGIC)) {
    throw new StateError(
      `${path} is not a trawl state file: it is not an SQLite database (refusing to touch it)`,
    );
  }
  const appId = head.readUInt32BE(68);
  if (appId !== APPLICATION_ID) {
    throw new StateError(
      `${path} is not a trawl state file: it is an SQLite database of another application (application_id 0x${appId.toString(16).padStart(8, '0')}; refusing to touch it)`,
    );
  }
  const version = head.readUInt32BE(60);
  if (version > SCHEMA_VERSION) {
    throw new StateError(
      `${path} was written by a newer trawl (state schema version ${version}; this trawl reads up to ${SCHEMA_VERSION}): upgrade trawl or use another --state file`,
    );
  }
  return 'ok';
}

/**
 * Deletes a state file and its -wal/-shm companions (for --fresh). Missing files are fine; a file
 * that exists but is not a trawl state is refused with a StateError (so --fresh can never delete
 * someone's database by a mistyped path).
 */
export function removeState(path: string): void {
  if (inspectStateFile(path) === 'missing') return;
  for (const f of [path, `${path}-wal`, `${path}-shm`]) fs.rmSync(f, { force: true });
}

/**
 * Opens (or creates) a trawl state file.
 *
 * The file is first recognised from its header (see inspectStateFile) so a foreign or corrupt file
 * is refused before SQLite writes to it. A new file is built with a rollback journal — so its
 * header (application_id, user_version) is in the main file from the first commit, never only in
 * a WAL — and then switched to WAL mode with synchronous=NORMAL: a committed transaction survives
 * the death of the process (kill -9, OOM), which is what resumability protects against; the last
 * transactions before a power cut or kernel panic may be lost (the file stays consistent).
 *
 * A file this call creates is created with mode 0600 (exactly, whatever the umask) before SQLite
 * opens it, because it may come to hold session cookies; SQLite gives the -journal, -wal and -shm
 * files it makes the database file's mode. An existing file's mode is left as it is here (see
 * {@link StateDb.makePrivate} for when it is tightened).
 *
 * Errors are StateErrors naming the file: missing without `create`, not SQLite, another
 * application's database, a newer schema, corruption, or a file in use by another live trawl
 * process (meta owner_pid). `readonly` opens never write (not even the owner mark).
 */
export function openState(path: string, opts: OpenStateOptions = {}): StateDb {
  const found = inspectStateFile(path);
  if (found !== 'ok' && !opts.create) {
    throw new StateError(
      found === 'missing'
        ? `state file ${path} does not exist`
        : `state file ${path} is empty (not a trawl state)`,
    );
  }
  if (found !== 'ok' && opts.readonly) throw new StateError(`state file ${path} does not exist`);
  if (found === 'missing' && opts.name !== undefined) createPrivate(path);
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: opts.readonly === true, timeout: 5000 });
  } catch (err) {
    throw new StateError(`cannot open state file ${path}: ${(err as Error).message}`);
  }
  try {
    db.pragma(`cache_size = ${-1024 * (opts.cacheMiB ?? 32)}`);
    if (found !== 'ok') {
      if (opts.name === undefined)
        throw new StateError(`cannot create state file ${path}: no crawl name given`);
      db.exec('BEGIN');
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      db.exec(SCHEMA);
      const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
      put.run('application', APPLICATION_NAME);
      put.run('schema_version', String(SCHEMA_VERSION));
      put.run('name', opts.name);
      put.run('seeds', JSON.stringify(opts.seeds ?? []));
      put.run('options', JSON.stringify(opts.options ?? {}));
      put.run('created_at', new Date().toISOString());
      db.exec('COMMIT');
    }
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      // Checkpoint every ~40 MB of WAL instead of 4 MB: a page rewritten by many transactions is
      // copied back once per checkpoint, which halves the write volume of link-heavy batches.
      db.pragma('wal_autocheckpoint = 10000');
    }
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new StateError(
        `${path} was written by a newer trawl (state schema version ${version}; this trawl reads up to ${SCHEMA_VERSION})`,
      );
    }
    const app = db.prepare("SELECT value FROM meta WHERE key = 'application'").get() as
      | { value: string }
      | undefined;
    if (app?.value !== APPLICATION_NAME) {
      throw new StateError(`${path} is not a trawl state file: its meta table lacks application=trawl`);
    }
    if (version < SCHEMA_VERSION && !opts.readonly) migrate(db, version);
    const state = new StateDb(path, db, found !== 'ok', opts.readonly === true);
    if (!opts.readonly) state.claim();
    return state;
  } catch (err) {
    if (db.open) db.close();
    if (err instanceof StateError) throw err;
    throw new StateError(`state file ${path} is unreadable or corrupt: ${(err as Error).message}`);
  }
}

/**
 * Brings an older state file up to SCHEMA_VERSION in one transaction (schema and version number
 * together, so a crash leaves it at one version or the other). Version 1 → 2 drops the host
 * columns that were never written; 2 → 3 adds the request column and the items table; 3 → 4 the
 * sessions table (schema.ts).
 */
function migrate(db: Database.Database, from: number): void {
  db.transaction(() => {
    if (from < 2) db.exec(MIGRATE_1_TO_2);
    if (from < 3) db.exec(MIGRATE_2_TO_3);
    if (from < 4) db.exec(MIGRATE_3_TO_4);
    if (from < 5) db.exec(MIGRATE_4_TO_5);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(SCHEMA_VERSION));
  })();
}

/**
 * Creates the empty file `path` with mode 0600 (fchmod after the open, so a umask cannot widen or
 * narrow it); SQLite then builds the database in it. A file that appeared meanwhile (EEXIST: a
 * race with another process) is left to the checks that follow; any other failure (no such
 * directory, no permission) is a StateError naming the file.
 */
function createPrivate(path: string): void {
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw new StateError(`cannot create state file ${path}: ${(err as Error).message}`);
  }
  try {
    fs.fchmodSync(fd, 0o600);
  } finally {
    fs.closeSync(fd);
  }
}

/** The sink format a path's extension names, or undefined. */
function formatOf(file: string): string | undefined {
  try {
    return sinkFormatFor(file);
  } catch {
    return undefined;
  }
}

/** The items format a path names (itemSinkFormatFor), or undefined. */
function itemsFormatOf(file: string): string | undefined {
  try {
    return itemSinkFormatFor(file);
  } catch {
    return undefined;
  }
}

/** Is a process with this pid alive (on this machine)? */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An open state file: the SQLite connection (`db`, shared by the SqliteFrontier) and the meta
 * table. Create it with {@link openState}.
 */
export class StateDb {
  /** The state file path. */
  readonly path: string;
  /** The better-sqlite3 connection (WAL mode). */
  readonly db: Database.Database;
  /** True when this open created the file (a new crawl), false when it resumed an existing one. */
  readonly created: boolean;
  /** True when opened read-only. */
  readonly readonly: boolean;
  private readonly getMeta: Database.Statement;
  private readonly putMeta: Database.Statement | null;

  /** @internal use openState. */
  constructor(path: string, db: Database.Database, created: boolean, readonly: boolean) {
    this.path = path;
    this.db = db;
    this.created = created;
    this.readonly = readonly;
    this.getMeta = db.prepare('SELECT key, value FROM meta');
    this.putMeta = readonly
      ? null
      : db.prepare(
          'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
        );
  }

  /** The meta table, parsed (read afresh on every access). */
  get meta(): StateMeta {
    const m = new Map<string, string>();
    for (const row of this.getMeta.iterate() as Iterable<{ key: string; value: string }>)
      m.set(row.key, row.value);
    const num = (k: string) => (m.has(k) ? Number(m.get(k)) : undefined);
    const meta: StateMeta = {
      name: m.get('name') ?? '',
      seeds: JSON.parse(m.get('seeds') ?? '[]') as string[],
      options: JSON.parse(m.get('options') ?? '{}') as Record<string, unknown>,
      createdAt: m.get('created_at') ?? '',
      schemaVersion: num('schema_version') ?? 0,
    };
    if (m.has('updated_at')) meta.updatedAt = m.get('updated_at')!;
    if (m.has('out_path')) meta.outPath = m.get('out_path')!;
    if (m.has('out_offset')) meta.outOffset = num('out_offset')!;
    if (m.has('out_format')) meta.outFormat = m.get('out_format')!;
    if (m.has('items_path')) meta.itemsPath = m.get('items_path')!;
    if (m.has('items_offset')) meta.itemsOffset = num('items_offset')!;
    if (m.has('items_format')) meta.itemsFormat = m.get('items_format')!;
    if (m.has('recrawl_started')) meta.recrawlStartedAt = num('recrawl_started')!;
    if (m.has('warc_path')) meta.warcPath = m.get('warc_path')!;
    if (m.has('warc_offset')) meta.warcOffset = num('warc_offset')!;
    if (m.has('warc_files')) meta.warcFiles = JSON.parse(m.get('warc_files')!) as string[];
    return meta;
  }

  /** Sets one meta key (string value) in its own statement (inside a caller's transaction if any). */
  setMeta(key: string, value: string): void {
    if (this.putMeta === null) throw new StateError(`state file ${this.path} is open read-only`);
    this.putMeta.run(key, value);
  }

  /**
   * Records the committed output mark (path, offset, and the format: `format`, else the one the
   * path's extension names, else none) and updated_at.
   * The SqliteFrontier calls it inside complete()'s transaction; call it directly only when the
   * output is rewritten outside a batch (e.g. after requeueFailed + export).
   */
  setOutMark(mark: SinkMark, format?: string): void {
    this.setMeta('out_path', mark.path);
    this.setMeta('out_offset', String(mark.offset));
    const fmt = format ?? formatOf(mark.path);
    if (fmt !== undefined) this.setMeta('out_format', fmt);
    this.setMeta('updated_at', new Date().toISOString());
  }

  /**
   * Records the committed WARC mark (warc_path, warc_offset) and, when given, the list of every
   * WARC file the crawl wrote (warc_files, for CDXJ export). Inside the caller's transaction.
   */
  setWarcMark(mark: WarcCommit): void {
    this.setMeta('warc_path', mark.path);
    this.setMeta('warc_offset', String(mark.offset));
    if (mark.files !== undefined) this.setMeta('warc_files', JSON.stringify(mark.files));
  }

  /**
   * Records the committed items-output mark (items_path, items_offset, and items_format: `format`,
   * else the one itemSinkFormatFor names — `stdout` for `-` — else none) and updated_at.
   * The SqliteFrontier calls it inside complete()'s transaction; call it directly only when the
   * items output is rewritten outside a batch (e.g. after requeueFailed + exportItems).
   */
  setItemsMark(mark: SinkMark, format?: string): void {
    this.setMeta('items_path', mark.path);
    this.setMeta('items_offset', String(mark.offset));
    const fmt = format ?? itemsFormatOf(mark.path);
    if (fmt !== undefined) this.setMeta('items_format', fmt);
    this.setMeta('updated_at', new Date().toISOString());
  }

  /**
   * Checks that this state file belongs to the crawl about to run: a different `name` throws a
   * StateError (a state file serves one crawl; pick another --state or --fresh). Returns the
   * option keys whose recorded value differs from `options` (JSON comparison, keys of either
   * side), so the caller can warn that a resume runs with changed settings; [] when none differ
   * or no options are given.
   */
  checkCompatible(expected: { name: string; options?: Record<string, unknown> }): string[] {
    const meta = this.meta;
    if (meta.name !== expected.name) {
      throw new StateError(
        `state file ${this.path} belongs to crawl "${meta.name}", not "${expected.name}": use another --state file, or --fresh to discard it`,
      );
    }
    if (expected.options === undefined) return [];
    const keys = new Set([...Object.keys(meta.options), ...Object.keys(expected.options)]);
    return [...keys]
      .filter((k) => JSON.stringify(meta.options[k]) !== JSON.stringify(expected.options![k]))
      .sort();
  }

  /**
   * Marks the file as in use by this process; a StateError if another live process holds it (two
   * crawls appending to one state and output would break exactly-once). A mark left by a dead
   * process (kill -9) is taken over.
   * @internal called by openState.
   */
  claim(): void {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'owner_pid'").get() as
      | { value: string }
      | undefined;
    const pid = row === undefined ? 0 : Number(row.value);
    if (pid > 0 && pid !== process.pid && alive(pid)) {
      throw new StateError(`state file ${this.path} is in use by another trawl process (pid ${pid})`);
    }
    this.setMeta('owner_pid', String(process.pid));
  }

  /**
   * Makes the state file private before session cookies are written to it: when the file, or its
   * -wal or -shm companion, is readable or writable by group or others (any of mode 0o077), those
   * bits are cleared (0644 → 0600, 0664 → 0600; the owner's bits are kept) and a message saying
   * so is returned for the caller to warn with; null when nothing needed changing (the usual case:
   * trawl creates its files 0600). Files that do not exist are skipped. The policy: trawl leaves
   * the mode a user gave an existing state file alone, except that it never stores cookies in a
   * file others can read. A chmod that fails (the file belongs to another user) throws a
   * StateError naming the file, so the caller stores no cookie in it. No-op on Windows.
   */
  makePrivate(): string | null {
    if (process.platform === 'win32') return null;
    const widened: string[] = [];
    for (const f of [this.path, `${this.path}-wal`, `${this.path}-shm`]) {
      let mode: number;
      try {
        mode = fs.statSync(f).mode & 0o777;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw new StateError(`cannot check the permissions of state file ${f}: ${(err as Error).message}`);
      }
      if ((mode & 0o077) === 0) continue;
      try {
        fs.chmodSync(f, mode & 0o700);
      } catch (err) {
        throw new StateError(
          `state file ${f} is readable by other users (mode ${octal(mode)}) and cannot be made private (${(err as Error).message}): not storing session cookies in it; chmod 600 it or use another --state file`,
        );
      }
      widened.push(`${f} (was ${octal(mode)}, now ${octal(mode & 0o700)})`);
    }
    if (widened.length === 0) return null;
    return `state file ${this.path} now holds session cookies, so it was made private: ${widened.join(', ')}`;
  }

  /**
   * Closes the connection (checkpointing the WAL into the main file) and drops the in-use mark.
   * Idempotent.
   */
  close(): void {
    if (!this.db.open) return;
    if (!this.readonly) this.db.prepare("DELETE FROM meta WHERE key = 'owner_pid'").run();
    this.db.close();
  }
}

/** A file mode as `0644`. */
function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}
