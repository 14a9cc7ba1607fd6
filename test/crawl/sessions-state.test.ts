/**
 * Sessions in the SQLite state file (issue 12, crash safety): SqliteFrontier.saveSessions /
 * loadSessions on real state files, the version 3 → 4 migration, the 0600 mode of files that hold
 * cookies, and status showing only counts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { keepsSessions, type StoredSession } from '../../src/crawl/frontier/frontier.js';
import { MemoryFrontier } from '../../src/crawl/frontier/memory-frontier.js';
import { APPLICATION_ID, SCHEMA_VERSION } from '../../src/crawl/state/schema.js';
import { SqliteFrontier } from '../../src/crawl/state/sqlite-frontier.js';
import { openState, StateError } from '../../src/crawl/state/state-db.js';
import { formatStatus, readStatus } from '../../src/crawl/state/status.js';
import { item } from '../helpers/frontier-items.js';
import { runNode } from '../helpers/run-node.js';
import { useScratch } from '../helpers/scratch.js';

const scratch = useScratch('trawl-sessions-');

/** A cookie value that must never show up in a status, message or warning. */
const SECRET = 'sid-9f8e7d6c5b4a';

function jar(value: string): string {
  return JSON.stringify({ cookies: [{ key: 'sid', value, domain: '127.0.0.1', path: '/' }] });
}

function session(id: string, extra: Partial<StoredSession> = {}): StoredSession {
  return { id, cookies: jar(SECRET), proxy: 0, retired: false, loggedIn: true, requests: 3, ...extra };
}

function open(file: string, warnings: string[] = []): SqliteFrontier {
  const state = openState(file, { create: true, name: 'sessions', seeds: ['http://127.0.0.1/'] });
  const f = new SqliteFrontier(state, { onWarning: (m) => warnings.push(m) });
  scratch.defer(() => f.close());
  return f;
}

const stateFile = () => path.join(scratch.dir(), 's.state');
const modeOf = (f: string) => fs.statSync(f).mode & 0o777;

describe('SqliteFrontier sessions', () => {
  it('keeps sessions across close and reopen: equal, in the order saved', async () => {
    const file = stateFile();
    const saved = [
      session('s2', { proxy: 1, requests: 40 }),
      session('s0', { cookies: null, proxy: null, loggedIn: false, requests: 0 }),
      session('s1', { retired: true, cookies: jar('other') }),
    ];
    const f = open(file);
    expect(keepsSessions(f)).toBe(true);
    expect(await f.loadSessions()).toEqual([]);
    await f.saveSessions(saved);
    f.close();
    const g = open(file);
    expect(await g.loadSessions()).toEqual(saved);
  });

  it('a save replaces the whole set; an empty save clears it; duplicate ids store nothing', async () => {
    const f = open(stateFile());
    await f.saveSessions([session('a'), session('b'), session('c')]);
    const next = [session('b', { requests: 9, retired: true }), session('d')];
    await f.saveSessions(next);
    expect(await f.loadSessions()).toEqual(next);
    await expect(f.saveSessions([session('x'), session('y'), session('x')])).rejects.toThrow(
      /session id "x" occurs twice/,
    );
    expect(await f.loadSessions()).toEqual(next);
    await f.saveSessions([]);
    expect(await f.loadSessions()).toEqual([]);
  });

  it('a save is durable once its promise resolves: the process killed right after keeps it', async () => {
    const file = stateFile();
    open(file).close(); // an existing crawl (the child resumes it)
    const src = path.resolve('src/crawl/state');
    const child = await runNode(
      `import { openState } from ${JSON.stringify(`${src}/state-db.ts`)};
       import { SqliteFrontier } from ${JSON.stringify(`${src}/sqlite-frontier.ts`)};`,
      `const f = new SqliteFrontier(openState(${JSON.stringify(file)}));
       await f.saveSessions([{ id: 'old', cookies: null, proxy: null, retired: false, loggedIn: false, requests: 0 }]);
       await f.saveSessions(${JSON.stringify([session('s0'), session('s1', { retired: true })])});
       console.log('saved');
       process.kill(process.pid, 'SIGKILL');`,
    );
    expect(child.out).toEqual(['saved']);
    expect(child.code).toBeNull(); // killed: no close, no checkpoint
    expect(fs.existsSync(`${file}-wal`)).toBe(true);
    const g = open(file);
    expect(await g.loadSessions()).toEqual([session('s0'), session('s1', { retired: true })]);
  });

  it('a malformed stored session is a StateError naming its id, never its contents', async () => {
    const file = stateFile();
    const f = open(file);
    await f.saveSessions([session('s0')]);
    f.state.db.prepare("UPDATE sessions SET data = json_set(data, '$.requests', 'many')").run();
    const err = await f.loadSessions().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StateError);
    expect((err as Error).message).toContain('session "s0" is malformed');
    expect((err as Error).message).not.toContain(SECRET);
  });

  it('only durable frontiers keep sessions (the guard)', () => {
    expect(keepsSessions(new MemoryFrontier())).toBe(false);
  });
});

/** The DDL of state schema version 3 (as released), to build old files with raw SQL. */
const SCHEMA_V3 = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE frontier (
  url TEXT PRIMARY KEY, host TEXT NOT NULL, depth INTEGER NOT NULL, referrer TEXT,
  attempts INTEGER NOT NULL DEFAULT 0, not_before INTEGER NOT NULL DEFAULT 0,
  state INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL, lastmod TEXT, request TEXT
);
CREATE INDEX frontier_queue ON frontier (host, seq) WHERE state = 0;
CREATE INDEX frontier_leased ON frontier (state) WHERE state = 1;
CREATE INDEX frontier_delayed ON frontier (not_before) WHERE state = 0 AND not_before > 0;
CREATE TABLE results (
  url TEXT NOT NULL UNIQUE, host TEXT NOT NULL, error INTEGER NOT NULL, error_kind TEXT,
  record TEXT NOT NULL, done_at INTEGER NOT NULL
);
CREATE INDEX results_failed ON results (host) WHERE error = 1;
CREATE TABLE items (key TEXT NOT NULL, url TEXT NOT NULL, label TEXT, item TEXT NOT NULL);
CREATE INDEX items_key ON items (key);
CREATE TABLE hosts (host TEXT PRIMARY KEY, paused_until INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('application', 'trawl'), ('schema_version', '3'),
  ('name', 'sessions'), ('seeds', '["http://127.0.0.1/"]'), ('options', '{}'),
  ('created_at', '2026-01-01T00:00:00.000Z');
INSERT INTO frontier (url, host, depth, seq, request)
  VALUES ('http://a/1', 'a', 0, 0, NULL), ('POST http://a/login', 'a', 0, 1, '{"url":"http://a/login","method":"POST"}');
`;

function makeV3(file: string, extraSql = ''): void {
  const db = new Database(file);
  db.pragma(`application_id = ${APPLICATION_ID}`);
  db.pragma('user_version = 3');
  db.exec(SCHEMA_V3 + extraSql);
  db.close();
}

describe('state file version 3 → current', () => {
  it('migrates on a writable open, keeping the queue; a read-only status reads it as it is', async () => {
    const file = stateFile();
    makeV3(file);
    expect(readStatus(file)).toMatchObject({ queued: 2, sessions: { live: 0, retired: 0 } });
    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(3);
    check.close();

    const f = open(file);
    expect(SCHEMA_VERSION).toBe(5);
    expect(f.state.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(f.state.meta.schemaVersion).toBe(SCHEMA_VERSION);
    expect(f.stats()).toMatchObject({ queued: 2, seen: 2 });
    expect(f.lease(5, 0, () => 0).map((i) => i.key ?? i.url)).toEqual(['http://a/1', 'POST http://a/login']);
    expect(await f.loadSessions()).toEqual([]);
    await f.saveSessions([session('s0')]);
    expect(await f.loadSessions()).toEqual([session('s0')]);
  });

  it('a migration that fails leaves the file as it was: every step and the version in one transaction', () => {
    const file = stateFile();
    // A version-2 file (no request column, no items table) with a table in the way of 3 → 4:
    // the 2 → 3 step runs, the 3 → 4 step fails, and both must roll back.
    makeV3(file, "CREATE TABLE sessions (x); UPDATE meta SET value = '2' WHERE key = 'schema_version';");
    const raw = new Database(file);
    raw.exec('DROP TABLE items; ALTER TABLE frontier DROP COLUMN request;');
    raw.pragma('user_version = 2');
    raw.close();
    expect(() => openState(file, { create: true, name: 'sessions' })).toThrow(StateError);
    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(2);
    expect(check.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()).toBe('2');
    const cols = check.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('frontier');
    expect(cols).not.toContain('request');
    expect(check.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'items'").pluck().get()).toBe(0);
    expect(check.prepare('SELECT count(*) FROM frontier').pluck().get()).toBe(2);
    check.close();
  });
});

describe('state file mode', () => {
  let umask: number | null = null;
  afterEach(() => {
    if (umask !== null) process.umask(umask);
    umask = null;
  });

  it('a new state file and its -wal/-shm are 0600 whatever the umask', async () => {
    umask = process.umask(0); // the worst case: SQLite alone would make them 0666
    const file = stateFile();
    const warnings: string[] = [];
    const f = open(file, warnings);
    f.add([item('http://a/1')]);
    // Before any session is saved (which would tighten a wider file): created private.
    for (const p of [file, `${file}-wal`, `${file}-shm`]) expect([p, modeOf(p)]).toEqual([p, 0o600]);
    await f.saveSessions([session('s0')]);
    expect(warnings).toEqual([]);
  });

  it('an existing readable file keeps its mode until cookies are saved into it, then is made private with one warning', async () => {
    const file = stateFile();
    open(file).close();
    fs.chmodSync(file, 0o644);
    const warnings: string[] = [];
    const f = open(file, warnings);
    fs.chmodSync(`${file}-wal`, 0o644); // as an older trawl, or a user's chmod, left them
    fs.chmodSync(`${file}-shm`, 0o640);
    expect(modeOf(file)).toBe(0o644);
    // Sessions without a cookie jar hold no secret: the user's mode stays.
    await f.saveSessions([session('s0', { cookies: null })]);
    expect(modeOf(file)).toBe(0o644);
    expect(warnings).toEqual([]);
    // The first cookie: every file is tightened first, and the caller hears of it once.
    await f.saveSessions([session('s0')]);
    expect([modeOf(file), modeOf(`${file}-wal`), modeOf(`${file}-shm`)]).toEqual([0o600, 0o600, 0o600]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`state file ${file} now holds session cookies`);
    expect(warnings[0]).toContain('was 0644, now 0600');
    expect(warnings[0]).not.toContain(SECRET);
    await f.saveSessions([session('s0'), session('s1')]);
    expect(warnings).toHaveLength(1);
  });

  it("keeps the owner's bits of an existing file and leaves an already private file alone", async () => {
    const file = stateFile();
    open(file).close();
    fs.chmodSync(file, 0o700);
    const warnings: string[] = [];
    const f = open(file, warnings);
    await f.saveSessions([session('s0')]);
    expect(modeOf(file)).toBe(0o700);
    expect(warnings).toEqual([]);
  });
});

describe('status of a state file with sessions', () => {
  it('shows how many sessions are live and retired, and no cookie', async () => {
    const file = stateFile();
    const f = open(file);
    await f.saveSessions([session('s0'), session('s1', { retired: true }), session('s2')]);
    const s = readStatus(file);
    expect(s.sessions).toEqual({ live: 2, retired: 1 });
    const text = formatStatus(s);
    expect(text).toContain('sessions 2 live, 1 retired\n');
    expect(text).not.toContain(SECRET);
    expect(JSON.stringify(s)).not.toContain(SECRET);
  });

  it('prints no sessions line for a crawl without sessions', () => {
    const file = stateFile();
    open(file).close();
    const s = readStatus(file);
    expect(s.sessions).toEqual({ live: 0, retired: 0 });
    expect(formatStatus(s)).not.toMatch(/^sessions /m);
  });
});
