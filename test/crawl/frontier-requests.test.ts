import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { Completion, FrontierItem, Item } from '../../src/crawl/frontier/frontier.js';
import { MemoryFrontier } from '../../src/crawl/frontier/memory-frontier.js';
import { exportItems, exportState } from '../../src/crawl/state/export.js';
import { APPLICATION_ID, SCHEMA_VERSION } from '../../src/crawl/state/schema.js';
import { SqliteFrontier } from '../../src/crawl/state/sqlite-frontier.js';
import { openState } from '../../src/crawl/state/state-db.js';
import { readStatus } from '../../src/crawl/state/status.js';
import { item, record } from '../helpers/frontier-items.js';
import { useScratch } from '../helpers/scratch.js';

const scratch = useScratch('trawl-requests-');
const tmpState = () => path.join(scratch.dir(), 'crawl.state');

function openSqlite(file: string): SqliteFrontier {
  const f = new SqliteFrontier(openState(file, { create: true, name: 't' }));
  scratch.defer(() => f.close());
  return f;
}

type LocalFrontier = MemoryFrontier | SqliteFrontier;

const frontiers: Array<[string, () => LocalFrontier]> = [
  ['MemoryFrontier', () => new MemoryFrontier()],
  ['SqliteFrontier', () => openSqlite(tmpState())],
];

/** A POST as the scraper runtime enqueues it: key = METHOD url sha1(body)[0:16] (issue 11). */
function post(url: string, body: string, extra: Partial<FrontierItem> = {}): FrontierItem {
  const hash = createHash('sha1').update(body).digest('hex').slice(0, 16);
  return item(url, {
    key: `POST ${url} ${hash}`,
    request: { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body },
    ...extra,
  });
}

function done(
  it: FrontierItem,
  items?: Item[],
  links: FrontierItem[] = [],
  error: string | null = null,
): Completion {
  const c: Completion = { item: it, record: record(it, error), links };
  if (items !== undefined) c.items = items;
  return c;
}

/** Every host may go at once (readyAt 0 ≤ every lease's now). */
const all = () => 0;
const keyOf = (it: FrontierItem) => it.key ?? it.url;

describe.each(frontiers)('requests and items: %s', (_name, make) => {
  it('crawls two POSTs to one URL with different bodies as two items, and the same key once', () => {
    const f = make();
    const a = post('http://a/search', 'q=shoes');
    const b = post('http://a/search', 'q=hats');
    expect(f.add([a, b, post('http://a/search', 'q=shoes')])).toBe(2);
    // A plain GET of the same URL is a third identity.
    expect(f.add([item('http://a/search')])).toBe(1);
    const got = f.lease(10, 0, all);
    expect(got.map(keyOf).sort()).toEqual([a.key, b.key, 'http://a/search'].sort());
    expect(
      got
        .filter((g) => g.key !== undefined)
        .map((g) => g.request?.body)
        .sort(),
    ).toEqual(['q=hats', 'q=shoes']);
    // Completing one POST leaves the other leased; the same key coming back as a link is deduplicated.
    expect(
      f.complete([
        done(got.find((g) => g.request?.body === 'q=shoes')!, [], [post('http://a/search', 'q=shoes')]),
      ]),
    ).toBe(0);
    expect(f.stats()).toMatchObject({ queued: 0, leased: 2, done: 1, seen: 3 });
    f.complete(got.filter((g) => g.request?.body !== 'q=shoes').map((g) => done(g)));
    expect(f.stats()).toMatchObject({ queued: 0, leased: 0, done: 3, seen: 3 });
    expect(f.drained()).toBe(true);
  });

  it('has() answers for plain URLs; an item with a key answers to its key, not its URL', () => {
    const f = make();
    f.add([post('http://a/form', 'x=1'), item('http://a/page')]);
    expect(f.has('http://a/page')).toBe(true);
    expect(f.has('http://a/form')).toBe(false);
    expect(f.has(post('http://a/form', 'x=1').key!)).toBe(true);
  });

  it('releases and requeues by key, keeping the request', () => {
    const f = make();
    const a = post('http://a/s', 'q=1', {
      request: { method: 'POST', body: 'q=1', label: 'LIST', userData: { page: 2 } },
    });
    const b = post('http://a/s', 'q=2');
    f.add([a, b]);
    const got = f.lease(2, 0, all);
    expect(got).toHaveLength(2);
    const gotA = got.find((g) => g.key === a.key)!;
    f.release({ ...gotA, attempts: 1 });
    expect(f.stats()).toMatchObject({ queued: 1, leased: 1 });
    const again = f.lease(2, 0, all);
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({ url: 'http://a/s', key: a.key, attempts: 1, request: a.request });
    // Both fail; requeueFailed brings back both identities.
    f.complete([
      done(again[0]!, undefined, [], 'http: 500'),
      done(got.find((g) => g.key === b.key)!, undefined, [], 'http: 500'),
    ]);
    expect(f.stats()).toMatchObject({ done: 2, failed: 2 });
    expect(f.requeueFailed()).toBe(2);
    expect(f.lease(5, 0, all).map(keyOf).sort()).toEqual([a.key, b.key].sort());
  });

  it('counts the scraped items of completions in stats', () => {
    const f = make();
    f.add([item('http://a/1'), item('http://a/2')]);
    const [one, two] = f.lease(2, 0, all);
    f.complete([done(one!, [{ n: 1 }, { n: 2 }]), done(two!)]);
    expect(f.stats().items).toBe(2);
  });
});

/** The DDL of state schema version 2 (as released), to build old files with raw SQL. */
const SCHEMA_V2 = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE frontier (
  url TEXT PRIMARY KEY, host TEXT NOT NULL, depth INTEGER NOT NULL, referrer TEXT,
  attempts INTEGER NOT NULL DEFAULT 0, not_before INTEGER NOT NULL DEFAULT 0,
  state INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL, lastmod TEXT
);
CREATE INDEX frontier_queue ON frontier (host, seq) WHERE state = 0;
CREATE INDEX frontier_leased ON frontier (state) WHERE state = 1;
CREATE INDEX frontier_delayed ON frontier (not_before) WHERE state = 0 AND not_before > 0;
CREATE TABLE results (
  url TEXT NOT NULL UNIQUE, host TEXT NOT NULL, error INTEGER NOT NULL, error_kind TEXT,
  record TEXT NOT NULL, done_at INTEGER NOT NULL
);
CREATE INDEX results_failed ON results (host) WHERE error = 1;
CREATE TABLE hosts (host TEXT PRIMARY KEY, paused_until INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
`;

function makeV2(file: string): void {
  const db = new Database(file);
  db.pragma(`application_id = ${APPLICATION_ID}`);
  db.pragma('user_version = 2');
  db.exec(SCHEMA_V2);
  const meta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
  for (const [k, v] of [
    ['application', 'trawl'],
    ['schema_version', '2'],
    ['name', 'old'],
    ['seeds', '["http://a/"]'],
    ['options', '{}'],
    ['created_at', '2026-01-01T00:00:00.000Z'],
    ['out_path', '/tmp/old.jsonl'],
    ['out_offset', '120'],
    ['out_format', 'jsonl'],
  ])
    meta.run(k, v);
  const row = db.prepare(
    'INSERT INTO frontier (url, host, depth, referrer, attempts, not_before, state, seq, lastmod) VALUES (?, ?, ?, ?, 0, 0, ?, ?, ?)',
  );
  row.run('http://a/', 'a', 0, null, 2, 0, null);
  row.run('http://a/1', 'a', 1, 'http://a/', 0, 1, '2025-12-01');
  row.run('http://a/2', 'a', 1, 'http://a/', 1, 2, null); // leased when the old trawl died
  db.prepare(
    'INSERT INTO results (url, host, error, error_kind, record, done_at) VALUES (?, ?, 0, NULL, ?, 1)',
  ).run('http://a/', 'a', JSON.stringify(record(item('http://a/'))));
  db.close();
}

describe('SqliteFrontier state file, schema 3', () => {
  it('keeps key and request across close and reopen, and stores nothing extra for plain links', () => {
    const file = tmpState();
    const f = openSqlite(file);
    const withKey = post('http://a/search', 'q=1', {
      request: {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"q":1}',
        label: 'RESULTS',
        userData: { page: 3, tags: ['x'] },
      },
    });
    const labelled = item('http://a/list', { request: { label: 'LIST', userData: { n: 1 } } });
    const custom = item('http://a/p?ref=1', { key: 'sku-42' });
    const plain = item('http://a/plain', { lastmod: '2026-01-02' });
    expect(f.add([withKey, labelled, custom, plain])).toBe(4);
    f.close();

    const db = new Database(file, { readonly: true });
    const rows = db.prepare('SELECT url, request FROM frontier ORDER BY seq').all() as {
      url: string;
      request: string | null;
    }[];
    db.close();
    expect(rows).toEqual([
      { url: withKey.key, request: JSON.stringify({ url: 'http://a/search', ...withKey.request }) },
      { url: 'http://a/list', request: JSON.stringify(labelled.request) },
      { url: 'sku-42', request: JSON.stringify({ url: 'http://a/p?ref=1' }) },
      { url: 'http://a/plain', request: null },
    ]);

    const g = openSqlite(file);
    const got = g.lease(10, 0, all);
    expect(got).toEqual([withKey, labelled, custom, plain]);
  });

  it('migrates a version-2 file on a writable open; a read-only open reads it as it is', () => {
    const file = tmpState();
    makeV2(file);
    // Read-only: no migration, status still reads.
    const ro = openState(file, { readonly: true });
    expect(ro.db.pragma('user_version', { simple: true })).toBe(2);
    ro.close();
    expect(readStatus(file)).toMatchObject({
      name: 'old',
      done: 1,
      queued: 1,
      leased: 1,
      items: 0,
      itemsOut: null,
    });
    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(2);
    check.close();

    const f = openSqlite(file);
    expect(f.state.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(5);
    expect(f.state.meta).toMatchObject({ schemaVersion: 5, outPath: '/tmp/old.jsonl', outOffset: 120 });
    expect(f.stats()).toEqual({ queued: 2, leased: 0, done: 1, failed: 0, seen: 3, items: 0 });
    // Old rows are plain links: they lease as before, with their lastmod.
    const got = f.lease(5, 0, all);
    expect(got).toEqual([
      item('http://a/1', { depth: 1, referrer: 'http://a/', lastmod: '2025-12-01' }),
      item('http://a/2', { depth: 1, referrer: 'http://a/' }),
    ]);
    // And the new columns work: a POST link and items.
    expect(
      f.complete([done(got[0]!, [{ a: 1 }], [post('http://a/s', 'q=1')])], undefined, {
        path: '/tmp/i.jsonl',
        offset: 8,
      }),
    ).toBe(1);
    f.close();
    const g = openSqlite(file);
    expect(g.stats()).toMatchObject({ done: 2, items: 1, queued: 2 });
    expect(g.state.meta).toMatchObject({ itemsPath: '/tmp/i.jsonl', itemsOffset: 8, itemsFormat: 'jsonl' });
    expect(g.lease(5, 0, all).map(keyOf)).toEqual(['http://a/2', post('http://a/s', 'q=1').key]);
  });

  it("stores a completion's items in its transaction, in push order, with page URL and label", () => {
    const file = tmpState();
    const f = openSqlite(file);
    const list = item('http://a/list', { request: { label: 'LIST' } });
    f.add([list, item('http://a/plain')]);
    const got = f.lease(2, 0, all);
    f.complete(
      [
        done(got[0]!, [
          { name: 'x', price: 1 },
          { name: 'y', nested: { a: [1, 2] } },
        ]),
        done(got[1]!, []),
      ],
      { path: '/tmp/out.jsonl', offset: 100 },
      { path: '/tmp/items.csv', offset: 42 },
    );
    expect(f.stats().items).toBe(2);
    const rows = f.state.db.prepare('SELECT key, url, label, item FROM items ORDER BY rowid').all();
    expect(rows).toEqual([
      { key: 'http://a/list', url: 'http://a/list', label: 'LIST', item: '{"name":"x","price":1}' },
      {
        key: 'http://a/list',
        url: 'http://a/list',
        label: 'LIST',
        item: '{"name":"y","nested":{"a":[1,2]}}',
      },
    ]);
    expect(f.state.meta).toMatchObject({
      outPath: '/tmp/out.jsonl',
      outOffset: 100,
      itemsPath: '/tmp/items.csv',
      itemsOffset: 42,
      itemsFormat: 'csv',
    });
    expect(readStatus(file)).toMatchObject({
      items: 2,
      itemsOut: { path: '/tmp/items.csv', offset: 42, format: 'csv' },
    });
  });

  it('a failed completion stores neither its record, its items nor the items mark', () => {
    const f = openSqlite(tmpState());
    f.add([item('http://a/1'), item('http://a/2')]);
    const [one, two] = f.lease(2, 0, all);
    f.complete([done(one!, [{ ok: 1 }])], undefined, { path: '/tmp/i.jsonl', offset: 10 });
    const bad = done(two!, [{ fine: true }]);
    (bad.record as unknown as { title: unknown }).title = 10n; // JSON.stringify throws on BigInt
    expect(() =>
      f.complete([done(two!, [{ before: 1 }]), bad], undefined, { path: '/tmp/i.jsonl', offset: 99 }),
    ).toThrow();
    expect(f.stats()).toMatchObject({ done: 1, leased: 1, items: 1 });
    expect(f.state.db.prepare('SELECT count(*) FROM items').pluck().get()).toBe(1);
    expect(f.state.meta.itemsOffset).toBe(10);
    // The same page completes fine afterwards: its items appear once.
    f.complete([done(two!, [{ fine: true }])], undefined, { path: '/tmp/i.jsonl', offset: 20 });
    expect(f.stats()).toMatchObject({ done: 2, leased: 0, items: 2 });
  });

  it('a completion of an item already done replaces its record and its items, never adding them twice', () => {
    const file = tmpState();
    const f = openSqlite(file);
    f.add([item('http://a/1'), item('http://a/2')]);
    const [one, two] = f.lease(2, 0, all);
    f.complete([done(one!, [{ v: 1 }, { v: 2 }]), done(two!, [{ w: 1 }])]);
    f.complete([done(one!, [{ v: 3 }])]);
    expect(f.stats()).toMatchObject({ done: 2, failed: 0, items: 2 });
    // Twice in one batch: the last wins.
    f.complete([done(two!, [{ w: 2 }]), done(two!, [{ w: 3 }, { w: 4 }])]);
    expect(f.stats()).toMatchObject({ done: 2, items: 3 });
    f.close();
    const g = openSqlite(file);
    expect(g.stats()).toMatchObject({ done: 2, items: 3 });
    expect(g.state.db.prepare('SELECT item FROM items ORDER BY rowid').pluck().all()).toEqual([
      '{"v":3}',
      '{"w":3}',
      '{"w":4}',
    ]);
    expect(g.state.db.prepare('SELECT count(*) FROM results').pluck().get()).toBe(2);
  });

  it('a replaced failure no longer counts as failed', () => {
    const f = openSqlite(tmpState());
    f.add([item('http://a/1')]);
    const [one] = f.lease(1, 0, all);
    f.complete([done(one!, undefined, [], 'http: 500')]);
    expect(f.stats()).toMatchObject({ done: 1, failed: 1 });
    f.complete([done(one!)]);
    expect(f.stats()).toMatchObject({ done: 1, failed: 0 });
  });

  it("requeueFailed forgets the failed pages' items with their records", () => {
    const file = tmpState();
    const f = openSqlite(file);
    f.add([item('http://a/1'), post('http://a/2', 'b=1')]);
    const [one, two] = f.lease(2, 0, all);
    f.complete([done(one!, [{ keep: 1 }]), done(two!, [{ gone: 1 }], [], 'handler: boom')]);
    expect(f.stats()).toMatchObject({ items: 2, failed: 1 });
    expect(f.requeueFailed()).toBe(1);
    expect(f.stats()).toMatchObject({ items: 1, failed: 0, done: 1, queued: 1 });
    const [again] = f.lease(1, 0, all);
    expect(again).toMatchObject({ key: two!.key, request: two!.request, attempts: 0 });
    f.complete([done(again!, [{ back: 1 }])]);
    expect(f.state.db.prepare('SELECT item FROM items ORDER BY rowid').pluck().all()).toEqual([
      '{"keep":1}',
      '{"back":1}',
    ]);
  });

  it('exportItems rewrites the items output from the items table, in order, with URL and label', () => {
    const file = tmpState();
    const f = openSqlite(file);
    f.add([item('http://a/1', { request: { label: 'P' } }), post('http://a/2', 'q=1'), item('http://a/3')]);
    const [one, two, three] = f.lease(3, 0, all);
    f.complete([done(one!, [{ n: 1 }, { n: 2 }]), done(two!, [{ n: 3 }]), done(three!)]);
    const dir = path.dirname(file);
    // Works while the crawl holds the file open (a read-only snapshot).
    const mark = exportItems(file, path.join(dir, 'items.jsonl'));
    const lines = fs.readFileSync(path.join(dir, 'items.jsonl'), 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(mark.offset).toBe(fs.statSync(path.join(dir, 'items.jsonl')).size);
    exportItems(file, path.join(dir, 'items.sqlite'));
    const out = new Database(path.join(dir, 'items.sqlite'), { readonly: true });
    expect(out.prepare('SELECT url, label, item FROM items ORDER BY id').all()).toEqual([
      { url: 'http://a/1', label: 'P', item: '{"n":1}' },
      { url: 'http://a/1', label: 'P', item: '{"n":2}' },
      { url: 'http://a/2', label: null, item: '{"n":3}' },
    ]);
    out.close();
  });

  it('exports a version-2 file read-only: its records, and no items', () => {
    const file = tmpState();
    makeV2(file);
    const dir = path.dirname(file);
    exportState(file, path.join(dir, 'out.jsonl'));
    expect(fs.readFileSync(path.join(dir, 'out.jsonl'), 'utf8').trimEnd().split('\n')).toHaveLength(1);
    expect(exportItems(file, path.join(dir, 'items.jsonl')).offset).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'items.jsonl'), 'utf8')).toBe('');
    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(2);
    check.close();
  });
});
