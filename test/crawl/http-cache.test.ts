import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { Exchange } from '../../src/crawl/exchange.js';
import { parseHead } from '../../src/crawl/fetch/cache-policy.js';
import { CacheError, type CacheLookup, type CacheMode, HttpCache } from '../../src/crawl/fetch/http-cache.js';
import { StorageFullError } from '../../src/crawl/store/storage-full.js';
import { useScratch } from '../helpers/scratch.js';
import { mountTmpfs, tmpfsUnavailable, unmountAll } from '../helpers/tmpfs.js';

const scratch = useScratch('trawl-http-cache-');

const T = Date.parse('Sun, 06 Nov 1994 08:49:37 GMT');
const S = 1000;
const http = (ms: number) => new Date(ms).toUTCString();
const URL_A = 'http://example.com/a';

interface Spec {
  url?: string;
  method?: string;
  status?: number;
  headers?: [string, string][];
  body?: string | Buffer;
  requestBody?: string;
  at?: number;
}

function ex(spec: Spec = {}): Exchange {
  const status = spec.status ?? 200;
  const head = (first: string, fields: [string, string][]) =>
    Buffer.from(`${first}\r\n${fields.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`, 'latin1');
  const url = spec.url ?? URL_A;
  return {
    url,
    date: spec.at ?? T,
    ip: '127.0.0.1',
    requestHead: head(`${spec.method ?? 'GET'} ${new URL(url).pathname} HTTP/1.1`, [['host', 'example.com']]),
    requestBody: spec.requestBody === undefined ? null : Buffer.from(spec.requestBody),
    responseHead: head(`HTTP/1.1 ${status} X`, spec.headers ?? [['Date', http(spec.at ?? T)]]),
    status,
    responseBody: Buffer.isBuffer(spec.body) ? spec.body : Buffer.from(spec.body ?? `body of ${url}`),
  };
}

const open = (mode: CacheMode, dir = scratch.dir()) => HttpCache.open(dir, mode);
const get = (c: HttpCache, now = T, headers: Record<string, string> = {}, url = URL_A) =>
  c.lookup('GET', url, null, headers, now);
const exchangeOf = (l: CacheLookup): Exchange => {
  if (l.kind === 'miss') throw new Error('expected an entry, got a miss');
  return l.exchange;
};
const bodyOf = (l: CacheLookup) => exchangeOf(l).responseBody.toString();

function entryFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) =>
    statSync(join(dir, f)).isFile(),
  );
}

describe('HttpCache.open', () => {
  it('creates the directory with its parents', () => {
    const dir = join(scratch.dir(), 'x', 'y');
    const c = HttpCache.open(dir, 'replay');
    expect(statSync(dir).isDirectory()).toBe(true);
    expect(c.dir).toBe(dir);
    expect(c.mode).toBe('replay');
  });

  it('throws a CacheError naming a path that is a file, or under one', () => {
    const file = join(scratch.dir(), 'cache');
    writeFileSync(file, 'x');
    expect(() => HttpCache.open(file, 'replay')).toThrow(CacheError);
    expect(() => HttpCache.open(file, 'replay')).toThrow(`${file}: exists and is not a directory`);
    expect(() => HttpCache.open(join(file, 'sub'), 'replay')).toThrow(
      `${join(file, 'sub')}: a parent of the cache directory is a file`,
    );
  });

  it('rejects an unknown mode with a CacheError', () => {
    expect(() => HttpCache.open(scratch.dir(), 'sometimes' as CacheMode)).toThrow(
      /unknown cache mode 'sometimes'/,
    );
  });
});

describe('replay mode', () => {
  it('replays a stored exchange byte for byte, from DIR/ab/<sha256>.cache', () => {
    const dir = scratch.dir();
    const c = open('replay', dir);
    expect(get(c).kind).toBe('miss');
    const e = ex({
      headers: [
        ['Cache-Control', 'no-store'],
        ['Set-Cookie', 'a=1'],
      ],
    });
    c.store(e, {}, T, T + 5);
    const l = get(c, T + 10 * 365 * 86_400 * S);
    expect(l.kind).toBe('fresh');
    const r = exchangeOf(l);
    expect(Buffer.compare(r.requestHead, e.requestHead)).toBe(0);
    expect(r.requestBody).toBeNull();
    expect(Buffer.compare(r.responseHead, e.responseHead)).toBe(0);
    expect(Buffer.compare(r.responseBody, e.responseBody)).toBe(0);
    expect({ url: r.url, date: r.date, ip: r.ip, status: r.status }).toEqual({
      url: e.url,
      date: e.date,
      ip: e.ip,
      status: 200,
    });
    expect(r.truncated).toBeUndefined();
    const files = entryFiles(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^([0-9a-f]{2})\/\1[0-9a-f]{62}\.cache$/);
    expect(join(dir, files[0]!)).toBe(c.entryPath('get', URL_A, null));
    const raw = readFileSync(join(dir, files[0]!), 'latin1');
    expect(raw.startsWith('trawl-cache 1\n{')).toBe(true);
    expect(c.stats).toEqual({ hits: 1, misses: 1, stale: 0, stores: 1, revalidated: 0 });
  });

  it('serves 404s and 500s as stored, and keeps a truncated body marked', () => {
    const c = open('replay');
    c.store(ex({ url: 'http://example.com/404', status: 404, body: 'gone' }), {}, T, T);
    c.store(ex({ url: 'http://example.com/500', status: 500, body: 'oops' }), {}, T, T);
    c.store({ ...ex({ url: 'http://example.com/cut' }), truncated: 'length' }, {}, T, T);
    const l404 = get(c, T, {}, 'http://example.com/404');
    expect(exchangeOf(l404).status).toBe(404);
    expect(bodyOf(l404)).toBe('gone');
    expect(exchangeOf(get(c, T, {}, 'http://example.com/500')).status).toBe(500);
    expect(exchangeOf(get(c, T, {}, 'http://example.com/cut')).truncated).toBe('length');
  });

  it('keys a POST by its body: two bodies are two entries; an empty body is no body', () => {
    const dir = scratch.dir();
    const c = open('replay', dir);
    c.store(ex({ method: 'POST', requestBody: 'q=1', body: 'one' }), {}, T, T);
    c.store(ex({ method: 'POST', requestBody: 'q=2', body: 'two' }), {}, T, T);
    expect(entryFiles(dir)).toHaveLength(2);
    expect(bodyOf(c.lookup('POST', URL_A, Buffer.from('q=1'), {}, T))).toBe('one');
    expect(bodyOf(c.lookup('post', URL_A, new TextEncoder().encode('q=2'), {}, T))).toBe('two');
    expect(exchangeOf(c.lookup('POST', URL_A, Buffer.from('q=2'), {}, T)).requestBody?.toString()).toBe(
      'q=2',
    );
    expect(c.lookup('POST', URL_A, Buffer.from('q=3'), {}, T).kind).toBe('miss');
    expect(c.lookup('POST', URL_A, null, {}, T).kind).toBe('miss');
    expect(get(c).kind).toBe('miss'); // a GET is another key
    c.store(ex({ method: 'POST', body: 'none' }), {}, T, T);
    expect(bodyOf(c.lookup('POST', URL_A, new Uint8Array(0), {}, T))).toBe('none');
  });

  it('honours Vary: equal values match, others miss, * never matches', () => {
    const c = open('replay');
    const vary = ex({ headers: [['Vary', 'Accept-Language']], body: 'en' });
    c.store(vary, { 'accept-language': 'en' }, T, T);
    expect(bodyOf(get(c, T, { 'Accept-Language': 'en' }))).toBe('en');
    expect(get(c, T, { 'Accept-Language': 'de' }).kind).toBe('miss');
    expect(get(c, T, {}).kind).toBe('miss');
    c.store(ex({ headers: [['Vary', '*']] }), {}, T, T);
    expect(get(c, T, {}).kind).toBe('miss');
  });

  it('keeps a gzip body in its content coding, byte-exact', () => {
    const c = open('replay');
    const html = `<html>${'<p>hello</p>'.repeat(1000)}</html>`;
    const gz = gzipSync(html);
    c.store(ex({ headers: [['Content-Encoding', 'gzip']], body: gz }), {}, T, T);
    const r = exchangeOf(get(c));
    expect(Buffer.compare(r.responseBody, gz)).toBe(0);
    expect(gunzipSync(r.responseBody).toString()).toBe(html);
    expect(parseHead(r.responseHead).values.get('content-encoding')).toEqual(['gzip']);
  });
});

describe('refresh mode', () => {
  it('never reads but always stores, including no-store responses and POSTs', () => {
    const dir = scratch.dir();
    const c = open('refresh', dir);
    c.store(ex({ headers: [['Cache-Control', 'no-store']], body: 'v1' }), {}, T, T);
    expect(get(c).kind).toBe('miss');
    c.store(ex({ body: 'v2' }), {}, T, T);
    c.store(ex({ method: 'POST', requestBody: 'x', status: 500 }), {}, T, T);
    expect(c.stats).toEqual({ hits: 0, misses: 1, stale: 0, stores: 3, revalidated: 0 });
    const replay = open('replay', dir);
    expect(bodyOf(get(replay))).toBe('v2');
    expect(exchangeOf(replay.lookup('POST', URL_A, Buffer.from('x'), {}, T)).status).toBe(500);
  });
});

describe('rfc9111 mode', () => {
  it('stores and serves by freshness: fresh until max-age, then stale with validators', () => {
    const c = open('rfc9111');
    c.store(
      ex({
        headers: [
          ['Date', http(T)],
          ['Cache-Control', 'max-age=60'],
          ['ETag', '"v1"'],
        ],
      }),
      {},
      T,
      T,
    );
    expect(get(c, T + 59 * S).kind).toBe('fresh');
    const l = get(c, T + 60 * S);
    expect(l).toMatchObject({ kind: 'stale', conditional: { 'If-None-Match': '"v1"' } });
    expect(c.stats).toMatchObject({ hits: 1, stale: 1, misses: 0 });
  });

  it('a stale entry without validators is a miss', () => {
    const c = open('rfc9111');
    c.store(
      ex({
        headers: [
          ['Date', http(T)],
          ['Cache-Control', 'max-age=60'],
        ],
      }),
      {},
      T,
      T,
    );
    expect(get(c, T + 60 * S).kind).toBe('miss');
  });

  it('no-cache always revalidates', () => {
    const lm = http(T - 86_400 * S);
    const c = open('rfc9111');
    c.store(
      ex({
        headers: [
          ['Cache-Control', 'no-cache, max-age=600'],
          ['Last-Modified', lm],
        ],
      }),
      {},
      T,
      T,
    );
    expect(get(c, T)).toMatchObject({ kind: 'stale', conditional: { 'If-Modified-Since': lm } });
  });

  it('does not store no-store, POST or an uncacheable 500; replaces an entry by a no-store response', () => {
    const dir = scratch.dir();
    const c = open('rfc9111', dir);
    c.store(ex({ headers: [['Cache-Control', 'no-store']] }), {}, T, T);
    c.store(ex({ method: 'POST', requestBody: 'q', headers: [['Cache-Control', 'max-age=60']] }), {}, T, T);
    c.store(ex({ status: 500 }), {}, T, T);
    expect(entryFiles(dir)).toEqual([]);
    expect(c.stats.stores).toBe(0);
    c.store(ex({ headers: [['Cache-Control', 'max-age=60']] }), {}, T, T);
    expect(get(c).kind).toBe('fresh');
    c.store(ex({ headers: [['Cache-Control', 'no-store']] }), {}, T, T);
    expect(get(c).kind).toBe('miss');
  });

  it('a successful POST invalidates the stored GET of its URL', () => {
    const c = open('rfc9111');
    c.store(ex({ headers: [['Cache-Control', 'max-age=60']] }), {}, T, T);
    c.store(ex({ method: 'POST', requestBody: 'q', status: 400 }), {}, T, T);
    expect(get(c).kind).toBe('fresh');
    c.store(ex({ method: 'POST', requestBody: 'q', status: 303 }), {}, T, T);
    expect(get(c).kind).toBe('miss');
  });

  it('does not use entries stored by replay mode that it would not have stored', () => {
    const dir = scratch.dir();
    open('replay', dir).store(ex({ headers: [['Cache-Control', 'no-store, max-age=60']] }), {}, T, T);
    expect(get(open('rfc9111', dir)).kind).toBe('miss');
  });

  it('a 304 refreshes the entry: updated headers, stored body, stored again', () => {
    const dir = scratch.dir();
    const c = open('rfc9111', dir);
    const gz = gzipSync('<p>cached</p>');
    c.store(
      ex({
        body: gz,
        headers: [
          ['Date', http(T)],
          ['Cache-Control', 'max-age=60'],
          ['ETag', '"v1"'],
          ['Content-Encoding', 'gzip'],
          ['Content-Length', String(gz.length)],
        ],
      }),
      {},
      T,
      T,
    );
    const t1 = T + 120 * S;
    const l = get(c, t1);
    if (l.kind !== 'stale') throw new Error(`expected stale, got ${l.kind}`);
    const notModified = ex({
      status: 304,
      at: t1,
      body: '',
      headers: [
        ['Date', http(t1)],
        ['Cache-Control', 'max-age=300'],
        ['ETag', '"v1"'],
      ],
    });
    const merged = c.revalidated(l.exchange, notModified, {}, t1, t1 + 10);
    expect(merged).not.toBeNull();
    expect(Buffer.compare((merged as Exchange).responseBody, gz)).toBe(0);
    expect(c.stats).toMatchObject({ revalidated: 1, stores: 2 });
    // Another instance on the directory sees the refreshed entry.
    const other = open('rfc9111', dir);
    const again = get(other, t1 + 299 * S);
    expect(again.kind).toBe('fresh');
    const h = parseHead(exchangeOf(again).responseHead);
    expect(h.values.get('cache-control')).toEqual(['max-age=300']);
    expect(h.values.get('content-length')).toEqual([String(gz.length)]);
    expect(Buffer.compare(exchangeOf(again).responseBody, gz)).toBe(0);
    expect(get(other, t1 + 300 * S).kind).toBe('stale');
  });

  it('a 304 that does not select the entry deletes it and returns null', () => {
    const c = open('rfc9111');
    c.store(
      ex({
        headers: [
          ['Date', http(T)],
          ['Cache-Control', 'max-age=0'],
          ['ETag', '"v1"'],
        ],
      }),
      {},
      T,
      T,
    );
    const l = get(c, T);
    if (l.kind !== 'stale') throw new Error(`expected stale, got ${l.kind}`);
    const nm = ex({ status: 304, body: '', headers: [['ETag', '"v2"']] });
    expect(c.revalidated(l.exchange, nm, {}, T, T)).toBeNull();
    expect(get(c, T).kind).toBe('miss');
  });
});

describe('damaged entries and sharing', () => {
  it('a truncated, garbled or foreign entry file is a miss, and the next store replaces it', () => {
    const c = open('replay');
    const file = c.entryPath('GET', URL_A, null);
    const damage: Array<(f: string) => void> = [
      (f) => truncateSync(f, statSync(f).size - 1),
      (f) => truncateSync(f, 20),
      (f) => truncateSync(f, 0),
      (f) => writeFileSync(f, 'trawl-cache 2\n{}\n'),
      (f) => writeFileSync(f, 'trawl-cache 1\n{"url": \n'),
      (f) => {
        const b = readFileSync(f);
        b[b.length - 1] = (b[b.length - 1] ?? 0) ^ 0xff; // a flipped body byte: the CRC catches it
        writeFileSync(f, b);
      },
    ];
    for (const [i, d] of damage.entries()) {
      c.store(ex({ body: `v${i}` }), {}, T, T);
      expect(bodyOf(get(c))).toBe(`v${i}`);
      d(file);
      expect(get(c).kind, `damage #${i}`).toBe('miss');
    }
    c.store(ex({ body: 'whole' }), {}, T, T);
    expect(bodyOf(get(c))).toBe('whole');
  });

  it('two instances on one directory see each other’s entries', () => {
    const dir = scratch.dir();
    const a = open('replay', dir);
    const b = open('replay', dir);
    a.store(ex({ body: 'from a' }), {}, T, T);
    expect(bodyOf(get(b))).toBe('from a');
    b.store(ex({ body: 'from b' }), {}, T, T);
    expect(bodyOf(get(a))).toBe('from b');
    expect(entryFiles(dir)).toHaveLength(1); // no temporary files left
  });
});

describe.skipIf(tmpfsUnavailable() !== null)(
  `a full or read-only disk (${tmpfsUnavailable() ?? 'tmpfs'})`,
  () => {
    afterEach(() => unmountAll());

    it('a read-only directory is a CacheError naming it', () => {
      const disk = mountTmpfs(64 * 1024);
      execFileSync('mount', ['-o', 'remount,ro', disk.dir], { stdio: 'pipe' });
      expect(() => HttpCache.open(disk.dir, 'replay')).toThrow(
        `${disk.dir}: cache directory is not writable (EROFS)`,
      );
    });

    it('throws StorageFullError naming the entry, leaves no temporary file, keeps older entries', () => {
      const disk = mountTmpfs(256 * 1024);
      const c = HttpCache.open(join(disk.dir, 'cache'), 'replay');
      c.store(ex({ body: 'first' }), {}, T, T);
      const big = Buffer.alloc(64 * 1024, 0x61);
      let err: unknown;
      for (let i = 0; i < 10 && err === undefined; i++) {
        try {
          c.store(ex({ url: `http://example.com/${i}`, body: big }), {}, T, T);
        } catch (e) {
          err = e;
        }
      }
      expect(err).toBeInstanceOf(StorageFullError);
      expect((err as StorageFullError).path).toMatch(/\.cache$/);
      expect(entryFiles(join(disk.dir, 'cache')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      expect(bodyOf(get(c))).toBe('first');
    });
  },
);
