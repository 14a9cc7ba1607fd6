import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { type PageRecord, RECORD_COLUMNS } from '../../src/crawl/record.js';
import { CsvSink } from '../../src/crawl/store/csv-sink.js';
import { JsonlSink } from '../../src/crawl/store/jsonl-sink.js';
import { openSink, sinkFormatFor } from '../../src/crawl/store/open-sink.js';
import { SinkError } from '../../src/crawl/store/sink.js';
import { SqliteSink } from '../../src/crawl/store/sqlite-sink.js';
import { StorageFullError } from '../../src/crawl/store/storage-full.js';
import { parseCsv } from '../helpers/csv.js';
import { fullDiskFile, writeUntilFull } from '../helpers/full-disk.js';
import { tmpfsUnavailable, unmountAll } from '../helpers/tmpfs.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  unmountAll();
});
function tmp(name: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'trawl-sink-'));
  dirs.push(d);
  return path.join(d, name);
}

function rec(i: number, extra: Partial<PageRecord> = {}): PageRecord {
  return {
    url: `https://example.com/p/${i}`,
    final_url: `https://example.com/p/${i}`,
    status: 200,
    depth: i % 4,
    referrer: i === 0 ? null : 'https://example.com/',
    title: `Page ${i}`,
    description: null,
    canonical: null,
    links_count: 2,
    links: [`https://example.com/p/${i + 1}`, `https://example.com/p/${i + 2}`],
    content_type: 'text/html; charset=utf-8',
    bytes: 1000 + i,
    fetched_at: '2026-01-01T00:00:00.000Z',
    duration_ms: 12.5,
    attempts: 1,
    error: null,
    ...extra,
  };
}

describe('JSONL sink', () => {
  it('writes one JSON object per line and returns byte marks', () => {
    const file = tmp('out.jsonl');
    const sink = new JsonlSink(file);
    expect(sink.write([])).toEqual({ path: file, offset: 0 });
    const m1 = sink.write([rec(0), rec(1, { title: 'line\nbreak \u2028 sep', fields: { price: 3 } })]);
    expect(m1.offset).toBe(fs.statSync(file).size);
    sink.close();
    sink.close();
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(JSON.parse(lines[1]!)).toEqual(rec(1, { title: 'line\nbreak \u2028 sep', fields: { price: 3 } }));
    expect(() => sink.write([rec(2)])).toThrow(SinkError);
  });

  it('cuts a resumed file back to the committed mark exactly', () => {
    const file = tmp('out.jsonl');
    const s1 = new JsonlSink(file);
    const committed = s1.write([rec(0), rec(1)]);
    const prefix = fs.readFileSync(file);
    s1.write([rec(2), rec(3)]); // written, never committed
    s1.close();
    expect(fs.statSync(file).size).toBeGreaterThan(committed.offset);
    const s2 = new JsonlSink(file, { resumeOffset: committed.offset });
    expect(s2.replaced).toBe(0);
    expect(fs.readFileSync(file).equals(prefix)).toBe(true);
    const m = s2.write([rec(9)]);
    s2.close();
    expect(m.offset).toBe(prefix.length + JSON.stringify(rec(9)).length + 1);
    expect(
      fs
        .readFileSync(file, 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as PageRecord).url),
    ).toEqual([rec(0).url, rec(1).url, rec(9).url]);
  });

  it('refuses to resume a file shorter than the mark, missing, or cut mid-line; replaces on a fresh open', () => {
    const file = tmp('out.jsonl');
    const s = new JsonlSink(file);
    const { offset } = s.write([rec(0)]);
    s.close();
    expect(() => new JsonlSink(file, { resumeOffset: offset + 1 })).toThrow(
      /holds \d+ bytes but \d+ were committed/,
    );
    expect(() => new JsonlSink(file, { resumeOffset: offset - 3 })).toThrow(/not at a line end/);
    expect(() => new JsonlSink(`${file}.missing.jsonl`, { resumeOffset: 5 })).toThrow(/file is missing/);
    expect(fs.statSync(file).size).toBe(offset);
    const fresh = new JsonlSink(file);
    expect(fresh.replaced).toBe(offset);
    expect(fs.statSync(file).size).toBe(0);
    fresh.close();
  });
});

describe('CSV sink', () => {
  it('quotes per RFC 4180 and round-trips through a parser', () => {
    const file = tmp('out.csv');
    const tricky = rec(1, {
      title: 'comma, "quote" and\r\nCRLF, lone\rCR, lone\nLF',
      description: 'ünïcødé ✓ — plain',
      error: 'http: 500 "oops"',
      status: null,
      noindex: true,
      lastmod: '2026-01-01',
      fields: { price: '1,99', tags: ['a', 'b'] },
    });
    const sink = new CsvSink(file, { formulaGuard: false });
    sink.write([rec(0), tricky]);
    sink.close();
    const rows = parseCsv(fs.readFileSync(file, 'utf8'));
    expect(rows[0]).toEqual([...RECORD_COLUMNS]);
    expect(rows).toHaveLength(3);
    const row = Object.fromEntries(RECORD_COLUMNS.map((c, i) => [c, rows[2]![i]]));
    expect(row).toEqual({
      url: tricky.url,
      final_url: tricky.final_url,
      status: '',
      depth: '1',
      referrer: 'https://example.com/',
      title: tricky.title,
      description: tricky.description,
      canonical: '',
      links_count: '2',
      links: tricky.links.join(' '),
      content_type: 'text/html; charset=utf-8',
      bytes: '1001',
      fetched_at: tricky.fetched_at,
      duration_ms: '12.5',
      attempts: '1',
      error: 'http: 500 "oops"',
      noindex: 'true',
      lastmod: '2026-01-01',
      fields: JSON.stringify(tricky.fields),
      rendered: '',
      change: '',
      cached: '',
    });
    expect(JSON.parse(row.fields!)).toEqual(tricky.fields);
    expect(rows[1]![RECORD_COLUMNS.indexOf('noindex')]).toBe('');
  });

  it('defuses spreadsheet formulas in text cells by default, never in numbers', () => {
    const file = tmp('out.csv');
    const sink = new CsvSink(file);
    sink.write([
      rec(0, { title: '=HYPERLINK("http://evil","x")', description: '+1 great', canonical: '@SUM(A1)' }),
      rec(1, { title: '-5 tips', error: '\tx' }),
    ]);
    sink.close();
    const rows = parseCsv(fs.readFileSync(file, 'utf8'));
    const col = (r: number, c: (typeof RECORD_COLUMNS)[number]) => rows[r]![RECORD_COLUMNS.indexOf(c)];
    expect(col(1, 'title')).toBe('\'=HYPERLINK("http://evil","x")');
    expect(col(1, 'description')).toBe("'+1 great");
    expect(col(1, 'canonical')).toBe("'@SUM(A1)");
    expect(col(2, 'title')).toBe("'-5 tips");
    expect(col(2, 'error')).toBe("'\tx");
    expect(col(1, 'duration_ms')).toBe('12.5');
  });

  it('writes the header once, and cuts a resumed file back to the mark', () => {
    const file = tmp('out.csv');
    const s1 = new CsvSink(file);
    expect(s1.mark().offset).toBe(`${RECORD_COLUMNS.join(',')}\r\n`.length);
    const committed = s1.write([rec(0)]);
    s1.write([rec(1), rec(2)]);
    s1.close();
    const s2 = new CsvSink(file, { resumeOffset: committed.offset });
    expect(fs.statSync(file).size).toBe(committed.offset);
    s2.write([rec(3)]);
    s2.close();
    const rows = parseCsv(fs.readFileSync(file, 'utf8'));
    expect(rows.map((r) => r[0])).toEqual(['url', rec(0).url, rec(3).url]);
    // Offset 0 = nothing committed: start again with a header.
    const s3 = new CsvSink(file, { resumeOffset: 0 });
    s3.close();
    expect(parseCsv(fs.readFileSync(file, 'utf8'))).toEqual([[...RECORD_COLUMNS]]);
    fs.writeFileSync(file, 'a,b\r\n1,2\r\n');
    expect(() => new CsvSink(file, { resumeOffset: 5 })).toThrow(/not the CSV this crawl wrote/);
    expect(fs.readFileSync(file, 'utf8')).toBe('a,b\r\n1,2\r\n');
  });
});

describe('SQLite sink', () => {
  it('stores records in a pages table, marks by row count, deletes uncommitted rows on resume', () => {
    const file = tmp('out.sqlite');
    const s1 = new SqliteSink(file);
    const committed = s1.write([rec(0), rec(1, { noindex: false, fields: { a: 1 } })]);
    expect(committed).toEqual({ path: file, offset: 2 });
    expect(s1.write([rec(2), rec(3)]).offset).toBe(4);
    s1.close();
    const s2 = new SqliteSink(file, { resumeOffset: committed.offset });
    expect(s2.write([rec(7)]).offset).toBe(3);
    s2.close();
    const db = new Database(file, { readonly: true });
    const rows = db.prepare('SELECT rowid, * FROM pages ORDER BY rowid').all() as Array<
      Record<string, unknown>
    >;
    db.close();
    expect(rows.map((r) => r.url)).toEqual([rec(0).url, rec(1).url, rec(7).url]);
    expect(rows.map((r) => r.rowid)).toEqual([1, 2, 3]);
    expect(Object.keys(rows[0]!).slice(1)).toEqual([...RECORD_COLUMNS]);
    expect(JSON.parse(rows[1]!.links as string)).toEqual(rec(1).links);
    expect(rows[1]!.noindex).toBe(0);
    expect(rows[0]!.noindex).toBeNull();
    expect(JSON.parse(rows[1]!.fields as string)).toEqual({ a: 1 });
    expect(() => new SqliteSink(file, { resumeOffset: 10 })).toThrow(/holds 3 rows but 10 were committed/);
    const fresh = new SqliteSink(file);
    expect(fresh.replaced).toBe(3);
    expect(fresh.mark().offset).toBe(0);
    fresh.close();
  });

  it('stores rendered as 1, and gives an output written before that column existed the column on resume', () => {
    const file = tmp('old.sqlite');
    const old = new Database(file);
    const cols = RECORD_COLUMNS.filter((c) => c !== 'rendered');
    old.exec(
      `CREATE TABLE pages (${cols.map((c) => `${c} ${c === 'url' ? 'TEXT NOT NULL' : ''}`).join(', ')})`,
    );
    old
      .prepare(
        `INSERT INTO pages (url, depth, links_count, links, bytes, fetched_at, duration_ms, attempts) VALUES ('https://example.com/old', 0, 0, '[]', 0, 'x', 1, 1)`,
      )
      .run();
    old.close();
    const s = new SqliteSink(file, { resumeOffset: 1 });
    s.write([rec(1, { rendered: true }), rec(2)]);
    s.close();
    const db = new Database(file, { readonly: true });
    const rows = db.prepare('SELECT url, rendered FROM pages ORDER BY rowid').all();
    db.close();
    expect(rows).toEqual([
      { url: 'https://example.com/old', rendered: null },
      { url: rec(1).url, rendered: 1 },
      { url: rec(2).url, rendered: null },
    ]);
  });
});

describe('openSink', () => {
  it('picks the format by extension and refuses unknown ones', () => {
    expect(sinkFormatFor('a/b.JSONL')).toBe('jsonl');
    expect(sinkFormatFor('x.ndjson')).toBe('jsonl');
    expect(sinkFormatFor('x.csv')).toBe('csv');
    expect(sinkFormatFor('x.sqlite')).toBe('sqlite');
    expect(sinkFormatFor('x.db')).toBe('sqlite');
    expect(() => sinkFormatFor('x.json')).toThrow(
      /cannot tell the output format of x\.json: use one of the extensions \.jsonl/,
    );
    expect(() => sinkFormatFor('noext')).toThrow(SinkError);
    for (const [name, format] of [
      ['o.jsonl', 'jsonl'],
      ['o.csv', 'csv'],
      ['o.sqlite', 'sqlite'],
    ] as const) {
      const s = openSink(tmp(name));
      expect(s.format).toBe(format);
      s.write([rec(0)]);
      s.close();
    }
  });
});

const noTmpfs = tmpfsUnavailable();

describe.skipIf(noTmpfs !== null)(`sinks on a full disk${noTmpfs ? ` (skipped: ${noTmpfs})` : ''}`, () => {
  /** A record of about 1 KiB, so a batch of 10 straddles the last free page. */
  const big = (i: number) => rec(i, { description: `${i} `.padEnd(900, 'd') });
  const batch = (from: number) => Array.from({ length: 10 }, (_, k) => big(from + k));

  for (const [format, open] of [
    ['JSONL', (f: string, resumeOffset?: number) => new JsonlSink(f, { resumeOffset })],
    ['CSV', (f: string, resumeOffset?: number) => new CsvSink(f, { resumeOffset })],
  ] as const) {
    const ext = format.toLowerCase();
    const urls = (file: string) =>
      format === 'JSONL'
        ? fs
            .readFileSync(file, 'utf8')
            .split('\n')
            .slice(0, -1)
            .map((l) => (JSON.parse(l) as PageRecord).url)
        : parseCsv(fs.readFileSync(file, 'utf8'))
            .slice(1)
            .map((r) => r[0]);

    it(`${format}: a full disk throws StorageFullError naming the file and leaves no half-written line`, () => {
      const { file } = fullDiskFile(`out.${ext}`);
      const sink = open(file);
      const { taken, err } = writeUntilFull(sink, batch);
      expect(err).toBeInstanceOf(StorageFullError);
      expect((err as StorageFullError).path).toBe(file);
      expect((err as Error).message).toBe(`${file}: no space left on device`);
      // The file is cut back to the end of the last complete batch: the mark did not move.
      expect(fs.statSync(file).size).toBe(sink.mark().offset);
      expect(urls(file)).toEqual(taken.map((r) => r.url));
      sink.close();
    });

    it(`${format}: after a full disk is freed the same sink takes the refused batch, each record once`, () => {
      const { file, disk } = fullDiskFile(`out.${ext}`);
      const sink = open(file);
      const { taken, refused } = writeUntilFull(sink, batch);
      disk.resize(1024 * 1024);
      const mark = sink.write(refused);
      sink.close();
      expect(fs.statSync(file).size).toBe(mark.offset);
      expect(urls(file)).toEqual([...taken, ...refused].map((r) => r.url));
      // And a resume from that mark keeps all of it.
      open(file, mark.offset).close();
      expect(urls(file)).toEqual([...taken, ...refused].map((r) => r.url));
    });
  }

  it('CSV: a new file on a full disk is refused at open with StorageFullError (header cannot be written)', () => {
    const { file } = fullDiskFile('out.csv', 0, 64 * 1024);
    expect(() => new CsvSink(file)).toThrow(StorageFullError);
    expect(() => new CsvSink(file)).toThrow(`${file}: no space left on device`);
    expect(fs.statSync(file).size).toBe(0);
  });

  it('SQLite: a full disk throws StorageFullError naming the file; the failed batch is rolled back and the mark stays', () => {
    // SQLite needs room for its -wal and a 32 KiB -shm before the first row.
    const { file, disk } = fullDiskFile('out.sqlite', 128 * 1024);
    const sink = new SqliteSink(file);
    const { taken, refused, err } = writeUntilFull(sink, batch);
    expect(err).toBeInstanceOf(StorageFullError);
    expect((err as StorageFullError).path).toBe(file);
    expect((err as Error).message).toBe(`${file}: database or disk is full`);
    expect(sink.mark().offset).toBe(taken.length);
    disk.resize(1024 * 1024);
    const mark = sink.write(refused);
    sink.close();
    expect(mark.offset).toBe(taken.length + refused.length);
    const db = new Database(file, { readonly: true });
    const rows = db.prepare('SELECT rowid, url FROM pages ORDER BY rowid').all() as Array<{
      rowid: number;
      url: string;
    }>;
    db.close();
    expect(rows.map((r) => r.url)).toEqual([...taken, ...refused].map((r) => r.url));
    expect(rows.map((r) => r.rowid)).toEqual(rows.map((_, i) => i + 1));
  });

  it('SQLite: a new output on a full disk is refused at open with StorageFullError', () => {
    const { file } = fullDiskFile('out.sqlite', 0, 64 * 1024);
    expect(() => new SqliteSink(file)).toThrow(StorageFullError);
  });
});
