import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { Completion, FrontierItem } from '../../src/crawl/frontier/frontier.js';
import type { PageRecord } from '../../src/crawl/record.js';
import { exportState } from '../../src/crawl/state/export.js';
import { SCHEMA_VERSION } from '../../src/crawl/state/schema.js';
import { SqliteFrontier } from '../../src/crawl/state/sqlite-frontier.js';
import { openState, removeState, StateError } from '../../src/crawl/state/state-db.js';
import { formatStatus, readStatus } from '../../src/crawl/state/status.js';
import { openSink } from '../../src/crawl/store/open-sink.js';
import { record as baseRecord, item } from '../helpers/frontier-items.js';
import { useScratch } from '../helpers/scratch.js';

const scratch = useScratch('trawl-state-');
const tmpDir = () => scratch.dir();

/** The helper's record with a title and its own size and duration, and `extra` on top. */
function record(it: FrontierItem, error: string | null = null, extra: Partial<PageRecord> = {}): PageRecord {
  return { ...baseRecord(it, error), title: `title of ${it.url}`, bytes: 10, duration_ms: 3, ...extra };
}

function open(file: string, name = 'test') {
  const state = openState(file, { create: true, name, seeds: ['http://a/'], options: { depth: 3 } });
  const f = new SqliteFrontier(state);
  scratch.defer(() => f.close());
  return f;
}

/** Every host may go at once (readyAt 0 ≤ every lease's now). */
const all = () => 0;

describe('state file', () => {
  it('is created in WAL mode with trawl application id, schema version and meta', () => {
    const file = path.join(tmpDir(), 's.state');
    const f = open(file);
    expect(f.state.created).toBe(true);
    expect(f.state.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(f.state.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(f.state.db.pragma('application_id', { simple: true })).toBe(0x7472776c);
    expect(f.state.meta).toMatchObject({
      name: 'test',
      seeds: ['http://a/'],
      options: { depth: 3 },
      schemaVersion: SCHEMA_VERSION,
    });
    f.close();
    const again = openState(file, { create: true, name: 'ignored' });
    expect(again.created).toBe(false);
    expect(again.meta.name).toBe('test');
    again.close();
  });

  it('refuses a missing file without create, and a newer schema, leaving the file untouched', () => {
    const dir = tmpDir();
    expect(() => openState(path.join(dir, 'none.state'))).toThrow(/none\.state does not exist/);
    const file = path.join(dir, 's.state');
    open(file).close();
    const raw = new Database(file);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.pragma('journal_mode = DELETE');
    raw.close();
    const before = fs.readFileSync(file);
    expect(() => openState(file, { create: true, name: 'test' })).toThrow(StateError);
    expect(() => openState(file, { create: true, name: 'test' })).toThrow(
      /s\.state was written by a newer trawl/,
    );
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
  });

  it('refuses a foreign SQLite database without touching it (no -wal/-shm created)', () => {
    const file = path.join(tmpDir(), 'other.db');
    const raw = new Database(file);
    raw.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    raw.close();
    const before = fs.readFileSync(file);
    const mtime = fs.statSync(file).mtimeMs;
    expect(() => openState(file, { create: true, name: 'test' })).toThrow(
      /other\.db is not a trawl state file: .*another application/,
    );
    expect(() => removeState(file)).toThrow(StateError);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.statSync(file).mtimeMs).toBe(mtime);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['other.db']);
  });

  it('refuses a file that is not SQLite at all (random bytes, text, short), untouched', () => {
    const dir = tmpDir();
    const cases: Array<[string, Buffer]> = [
      ['random.state', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251))],
      ['text.state', Buffer.from('hello, this is not a database\n'.repeat(10))],
      ['short.state', Buffer.from('SQLite format 3\0')],
    ];
    for (const [name, bytes] of cases) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, bytes);
      expect(() => openState(file, { create: true, name: 'test' })).toThrow(
        new RegExp(`${name.replace('.', '\\.')} is not a trawl state file: it is not an SQLite database`),
      );
      expect(fs.readFileSync(file).equals(bytes)).toBe(true);
    }
    expect(fs.readdirSync(dir).sort()).toEqual(['random.state', 'short.state', 'text.state']);
  });

  it('reports corruption behind a valid header as a StateError', () => {
    const file = path.join(tmpDir(), 's.state');
    const f = open(file);
    f.add(Array.from({ length: 2000 }, (_, i) => item(`http://a/${i}`)));
    f.close();
    const bytes = fs.readFileSync(file);
    // Keep the 100-byte header, scramble every page after the first.
    for (let i = 4096; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;
    fs.writeFileSync(file, bytes);
    expect(() => new SqliteFrontier(openState(file, { create: true, name: 'test' }))).toThrow(
      /state file .*s\.state is unreadable or corrupt: database disk image is malformed/,
    );
  });

  it('refuses a state file of another crawl, and reports changed options', () => {
    const file = path.join(tmpDir(), 's.state');
    const f = open(file, 'shop');
    expect(f.state.checkCompatible({ name: 'shop', options: { depth: 3 } })).toEqual([]);
    expect(f.state.checkCompatible({ name: 'shop', options: { depth: 5, rate: 2 } })).toEqual([
      'depth',
      'rate',
    ]);
    expect(() => f.state.checkCompatible({ name: 'blog' })).toThrow(/belongs to crawl "shop", not "blog"/);
  });

  it('refuses a file in use by another live process, takes over one left by a dead process', () => {
    const file = path.join(tmpDir(), 's.state');
    open(file).close();
    const raw = new Database(file);
    raw.prepare("INSERT INTO meta VALUES ('owner_pid', ?)").run(String(process.ppid));
    raw.close();
    expect(() => openState(file, { create: true, name: 'test' })).toThrow(
      /in use by another trawl process \(pid \d+\)/,
    );
    const raw2 = new Database(file);
    raw2.prepare("UPDATE meta SET value = '2147483646' WHERE key = 'owner_pid'").run();
    raw2.close();
    openState(file, { create: true, name: 'test' }).close();
  });

  it("persists queue, seen set, results and a host's pause across reopen", () => {
    const file = path.join(tmpDir(), 's.state');
    const f = open(file);
    f.add([item('http://a/1'), item('http://a/2'), item('http://b/1')]);
    const got = f.lease(2, 0, all);
    f.complete([{ item: got[0]!, record: record(got[0]!), links: [item('http://a/3')] }]);
    f.pauseHost('b', 9e12);
    f.close();
    const g = open(file);
    // The unfinished lease came back: 1 leased → queued.
    expect(g.stats()).toEqual({ queued: 3, leased: 0, done: 1, failed: 0, seen: 4, items: 0 });
    expect(g.add([item('http://a/1'), item('http://a/3'), item('http://b/1')])).toBe(0);
    // b is still paused after the reopen.
    expect(g.lease(10, Date.now(), all).map((i) => i.host)).toEqual(['a', 'a']);
  });

  it('migrates a version 1 state file: keeps its pauses, drops the never-written host columns', () => {
    const file = path.join(tmpDir(), 'v1.state');
    const raw = new Database(file);
    raw.pragma('application_id = 0x7472776c');
    raw.pragma('user_version = 1');
    raw.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE frontier (url TEXT PRIMARY KEY, host TEXT NOT NULL, depth INTEGER NOT NULL, referrer TEXT,
        attempts INTEGER NOT NULL DEFAULT 0, not_before INTEGER NOT NULL DEFAULT 0, state INTEGER NOT NULL DEFAULT 0,
        seq INTEGER NOT NULL, lastmod TEXT);
      CREATE INDEX frontier_queue ON frontier (host, seq) WHERE state = 0;
      CREATE INDEX frontier_leased ON frontier (state) WHERE state = 1;
      CREATE INDEX frontier_delayed ON frontier (not_before) WHERE state = 0 AND not_before > 0;
      CREATE TABLE results (url TEXT NOT NULL UNIQUE, host TEXT NOT NULL, error INTEGER NOT NULL, error_kind TEXT,
        record TEXT NOT NULL, done_at INTEGER NOT NULL);
      CREATE TABLE hosts (host TEXT PRIMARY KEY, robots_status INTEGER, robots_body TEXT, robots_fetched_at INTEGER,
        robots_expires INTEGER, paused_until INTEGER NOT NULL DEFAULT 0, backoff INTEGER NOT NULL DEFAULT 0,
        crawl_delay REAL) WITHOUT ROWID;
      INSERT INTO meta VALUES ('application', 'trawl'), ('schema_version', '1'), ('name', 'test'),
        ('seeds', '["http://a/"]'), ('options', '{}'), ('created_at', '2026-01-01T00:00:00.000Z');
      INSERT INTO frontier (url, host, depth, seq) VALUES ('http://a/1', 'a', 0, 0), ('http://b/1', 'b', 0, 1);
      INSERT INTO hosts (host, paused_until) VALUES ('b', 9000000000000), ('a', 0);
    `);
    raw.close();
    // A read-only open (status, export) reads it as it is.
    expect(readStatus(file, 1000)).toMatchObject({ queued: 2 });
    const f = open(file);
    expect(f.state.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(f.state.meta.schemaVersion).toBe(SCHEMA_VERSION);
    const cols = f.state.db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('hosts');
    expect(cols).toEqual(['host', 'paused_until']);
    // b's pause survived the migration: only a is leased.
    expect(f.lease(10, Date.now(), all).map((i) => i.host)).toEqual(['a']);
  });

  it('returns leased rows to the queue on reopen after a crash (second connection, first never closed)', () => {
    const file = path.join(tmpDir(), 's.state');
    const crashed = open(file);
    crashed.add(['http://a/1', 'http://a/2', 'http://a/3', 'http://b/1'].map((u) => item(u)));
    const got = crashed.lease(3, 0, all);
    expect(got.map((i) => i.url)).toEqual(['http://a/1', 'http://b/1', 'http://a/2']);
    // A committed batch (b/1) goes from queued to done; the other leases (a/1, a/2) are still
    // queued in the file (not yet marked) ...
    crashed.complete([{ item: got[1]!, record: record(got[1]!), links: [] }]);
    const peek = new Database(file, { readonly: true });
    const rows = peek.prepare('SELECT url, state FROM frontier ORDER BY url');
    expect(rows.all()).toEqual([
      { url: 'http://a/1', state: 0 },
      { url: 'http://a/2', state: 0 },
      { url: 'http://a/3', state: 0 },
      { url: 'http://b/1', state: 2 },
    ]);
    // ... until MAX_UNMARKED pile up or a delayed row exists: then a batch marks them leased.
    crashed.add([item('http://c/1', { notBefore: Date.now() + 60_000 })]);
    crashed.complete([{ item: item('http://d/1'), record: record(item('http://d/1')), links: [] }]);
    expect(peek.prepare('SELECT url FROM frontier WHERE state = 1 ORDER BY url').pluck().all()).toEqual([
      'http://a/1',
      'http://a/2',
    ]);
    peek.close();
    // No close: the process "died". A new process opens the same file.
    const resumed = new SqliteFrontier(openState(file, { create: true, name: 'test' }));
    scratch.defer(() => resumed.close());
    expect(resumed.stats()).toEqual({ queued: 4, leased: 0, done: 2, failed: 0, seen: 6, items: 0 });
    expect(resumed.state.db.prepare('SELECT count(*) FROM frontier WHERE state = 1').pluck().get()).toBe(0);
    // Recovered rows keep their queue position (FIFO per host).
    const again: string[] = [];
    for (let i = 0; i < 6; i++) again.push(...resumed.lease(1, 0, all).map((x) => x.url));
    expect(again.filter((u) => u.startsWith('http://a/'))).toEqual([
      'http://a/1',
      'http://a/2',
      'http://a/3',
    ]);
  });

  it('hands out every queued row exactly once across interleaved leases and completes', () => {
    for (const delayed of [false, true]) {
      const f = open(path.join(tmpDir(), 's.state'));
      const urls = Array.from({ length: 100 }, (_, i) => `http://${i % 3 === 0 ? 'b' : 'a'}/${i}`);
      f.add(urls.map((u) => item(u)));
      // A delayed row makes every complete mark the leases and read the queue afresh.
      if (delayed) f.add([item('http://c/later', { notBefore: Date.now() + 60_000 })]);
      const leased: FrontierItem[] = [];
      const got: string[] = [];
      let seeds = 0;
      for (let round = 0; seeds < urls.length && round < 1000; round++) {
        for (const it of f.lease(1 + (round % 3), 0, all)) {
          leased.push(it);
          got.push(it.url);
          if (!it.url.endsWith('/x')) seeds++;
        }
        // Complete the oldest lease every other round, with a link to a known and a new URL.
        if (round % 2 === 1 && leased.length > 0) {
          const it = leased.shift()!;
          f.complete([{ item: it, record: record(it), links: [item(urls[0]!), item(`${it.url}/x`)] }]);
        }
      }
      expect(new Set(got).size).toBe(got.length);
      expect(got.filter((u) => !u.endsWith('/x')).sort()).toEqual([...urls].sort());
      f.close();
    }
  });

  it('complete is atomic: a throw inside a batch stores nothing of it', () => {
    const file = path.join(tmpDir(), 's.state');
    const f = open(file);
    f.add([item('http://a/1'), item('http://a/2')]);
    const [one, two] = f.lease(2, 0, all);
    f.complete([{ item: one!, record: record(one!), links: [] }], { path: '/tmp/out.jsonl', offset: 100 });
    const before = f.stats();
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const bad: Completion[] = [
      { item: two!, record: record(two!), links: [item('http://c/new')] },
      {
        item: item('http://a/zzz'),
        record: record(item('http://a/zzz'), null, { fields: circular }),
        links: [],
      },
    ];
    expect(() => f.complete(bad, { path: '/tmp/out.jsonl', offset: 200 })).toThrow(/circular/i);
    expect(f.stats()).toEqual(before);
    const db = f.state.db;
    expect(db.prepare('SELECT count(*) FROM results').pluck().get()).toBe(1);
    // a/2 is still leased (in memory; the file shows it queued until leases are marked).
    expect(db.prepare("SELECT state FROM frontier WHERE url = 'http://a/2'").pluck().get()).toBe(0);
    expect(
      db.prepare("SELECT count(*) FROM frontier WHERE url IN ('http://c/new', 'http://a/zzz')").pluck().get(),
    ).toBe(0);
    expect(f.state.meta.outOffset).toBe(100);
    // The batch can be completed afterwards (nothing half-stored blocks it).
    expect(f.complete([bad[0]!], { path: '/tmp/out.jsonl', offset: 200 })).toBe(1);
    expect(f.stats()).toEqual({ queued: 1, leased: 0, done: 2, failed: 0, seen: 3, items: 0 });
    expect(f.state.meta).toMatchObject({ outPath: '/tmp/out.jsonl', outOffset: 200, outFormat: 'jsonl' });
    expect(readStatus(file).out).toEqual({ path: '/tmp/out.jsonl', offset: 200, format: 'jsonl' });
  });

  it('requeueFailed puts failed URLs back durably and forgets their records', () => {
    const file = path.join(tmpDir(), 's.state');
    const f = open(file);
    f.add([item('http://a/1'), item('http://a/2')]);
    const [one, two] = f.lease(2, 0, all);
    f.complete([
      { item: one!, record: record(one!, 'timeout: slow'), links: [] },
      { item: two!, record: record(two!), links: [] },
    ]);
    expect(f.requeueFailed()).toBe(1);
    f.close();
    const g = open(file);
    expect(g.stats()).toEqual({ queued: 1, leased: 0, done: 1, failed: 0, seen: 2, items: 0 });
    expect(g.lease(5, 0, all).map((i) => i.url)).toEqual(['http://a/1']);
  });

  it('status and export read a running crawl (read-only, concurrent with the writer)', () => {
    const dir = tmpDir();
    const file = path.join(dir, 's.state');
    const f = open(file, 'demo');
    f.add([item('http://a/1'), item('http://a/2'), item('http://b/1'), item('http://b/2')]);
    const got = f.lease(3, 0, all);
    f.complete([
      { item: got[0]!, record: record(got[0]!), links: [] },
      { item: got[1]!, record: record(got[1]!, 'timeout: no response within 5000 ms'), links: [] },
      { item: got[2]!, record: record(got[2]!, 'http: 404 Not Found'), links: [] },
    ]);
    // A robots.txt refusal is a skip, not a failure, as in the crawl's summary.
    f.add([item('http://e/1')]);
    const [refused] = f.lease(1, 0, (h) => (h === 'e' ? 0 : Number.POSITIVE_INFINITY));
    f.complete([{ item: refused!, record: record(refused!, 'robots: disallowed by robots.txt'), links: [] }]);
    f.add([item('http://c/1')]);
    f.pauseHost('c', 8e12);
    const s = readStatus(file, 1000);
    expect(s).toMatchObject({
      name: 'demo',
      seeds: ['http://a/'],
      queued: 2,
      leased: 0,
      done: 4,
      failed: 2,
      skipped: 1,
    });
    expect(s.byKind).toEqual({ http: 1, timeout: 1, robots: 1 });
    expect(s.hosts).toEqual([
      { host: 'a', done: 2, failed: 1, skipped: 0, queued: 0, pausedUntil: null },
      { host: 'b', done: 1, failed: 1, skipped: 0, queued: 1, pausedUntil: null },
      { host: 'e', done: 1, failed: 0, skipped: 1, queued: 0, pausedUntil: null },
      { host: 'c', done: 0, failed: 0, skipped: 0, queued: 1, pausedUntil: 8e12 },
    ]);
    expect(s.updatedAt).not.toBeNull();
    const text = formatStatus(s);
    expect(text).toContain('crawl    demo');
    expect(text).toMatch(/timeout\s+1/);
    expect(text).toMatch(/done\s+4 \(1 ok, 2 failed, 1 skipped\)/);
    const out = path.join(dir, 'export.jsonl');
    expect(exportState(file, out)).toEqual({ path: out, offset: fs.statSync(out).size });
    const lines = fs
      .readFileSync(out, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as PageRecord);
    expect(lines.map((r) => r.url)).toEqual([...got, refused!].map((i) => i.url));
    expect(lines[1]!.error).toBe('timeout: no response within 5000 ms');
    const csv = path.join(dir, 'export.csv');
    exportState(file, csv);
    expect(fs.readFileSync(csv, 'utf8').split('\r\n')).toHaveLength(6);
    // The writer keeps working after readers came and went.
    f.complete([{ item: got[0]!, record: record(got[0]!), links: [item('http://d/1')] }]);
    expect(readStatus(file)).toMatchObject({ queued: 3, leased: 0, done: 4 });
    // A lease shows in the file from the next commit (here: close) on.
    f.lease(1, 0, all);
    expect(readStatus(file)).toMatchObject({ queued: 3, leased: 0 });
    f.close();
    expect(readStatus(file)).toMatchObject({ queued: 2, leased: 1, done: 4 });
    expect(() => readStatus(path.join(dir, 'missing.state'))).toThrow(StateError);
  });

  it('gives exactly-once output across a crash between the sink write and the commit', () => {
    const dir = tmpDir();
    const file = path.join(dir, 's.state');
    const outPath = path.join(dir, 'out.jsonl');
    const crawl = (f: SqliteFrontier, sink: ReturnType<typeof openSink>, crashAfterWrite: boolean) => {
      for (;;) {
        const batch = f.lease(2, 0, all);
        if (batch.length === 0) return;
        const done = batch.map((it) => ({
          item: it,
          record: record(it),
          links: [0, 1, 2].map((k) =>
            item(`http://h${k}/${(Number(new URL(it.url).pathname.slice(1)) * 3 + k) % 20}`),
          ),
        }));
        const mark = sink.write(done.map((d) => d.record));
        if (crashAfterWrite && f.stats().done >= 6) return; // "kill -9" before the commit
        f.complete(done, mark);
      }
    };
    const first = open(file);
    first.add([item('http://h0/0')]);
    const sink1 = openSink(outPath, { resumeOffset: first.state.meta.outOffset });
    crawl(first, sink1, true);
    // The process died: no close of either. Resume in a "new process".
    const f2 = new SqliteFrontier(openState(file, { create: true, name: 'test' }));
    scratch.defer(() => f2.close());
    const committed = f2.state.meta.outOffset!;
    expect(fs.statSync(outPath).size).toBeGreaterThan(committed);
    const sink2 = openSink(outPath, { resumeOffset: committed });
    expect(fs.statSync(outPath).size).toBe(committed);
    crawl(f2, sink2, false);
    sink2.close();
    sink1.close();
    const out = fs
      .readFileSync(outPath, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => (JSON.parse(l) as PageRecord).url);
    expect(out.length).toBe(f2.stats().done);
    expect(new Set(out).size).toBe(out.length);
    expect(out.length).toBe(f2.stats().seen);
  });
});
