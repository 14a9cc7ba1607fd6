/**
 * Issue 11: the items outputs (--items FILE). Real files in a temp directory (and a real tmpfs
 * for the full-disk cases): what each format writes, the CSV's columns and `_extra`, quoting and
 * the formula guard, and the exactly-once protocol shared with the record sinks (all-or-nothing
 * writes, resume cut back to the committed mark, refusal of a file shorter than the mark).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { Item } from '../../src/crawl/frontier/frontier.js';
import { ItemCsvSink } from '../../src/crawl/store/item-csv-sink.js';
import { ItemEncodingError } from '../../src/crawl/store/item-json.js';
import { ItemJsonlSink } from '../../src/crawl/store/item-jsonl-sink.js';
import { type ItemEntry, itemSinkFormatFor, openItemSink } from '../../src/crawl/store/item-sink.js';
import { ItemSqliteSink } from '../../src/crawl/store/item-sqlite-sink.js';
import { openSink } from '../../src/crawl/store/open-sink.js';
import { SinkError } from '../../src/crawl/store/sink.js';
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
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'trawl-items-'));
  dirs.push(d);
  return path.join(d, name);
}

function entry(item: Item, i = 0, label: string | null = 'PRODUCT'): ItemEntry {
  return { item, url: `https://shop.example/p/${i}`, label };
}
const product = (i: number): Item => ({
  sku: `S-${i}`,
  name: `Product ${i}`,
  price: 10 + i,
  tags: ['a', 'b'],
});
const entries = (from: number, n: number) =>
  Array.from({ length: n }, (_, k) => entry(product(from + k), from + k));

const jsonLines = (file: string) =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .slice(0, -1)
    .map((l) => JSON.parse(l) as Item);

describe('itemSinkFormatFor / openItemSink', () => {
  it('names the format by extension as for records, and stdout for exactly "-"', () => {
    expect(itemSinkFormatFor('-')).toBe('stdout');
    expect(itemSinkFormatFor('a/items.JSONL')).toBe('jsonl');
    expect(itemSinkFormatFor('x.ndjson')).toBe('jsonl');
    expect(itemSinkFormatFor('x.csv')).toBe('csv');
    expect(itemSinkFormatFor('x.sqlite3')).toBe('sqlite');
    expect(itemSinkFormatFor('x.db')).toBe('sqlite');
    expect(itemSinkFormatFor('./-.jsonl')).toBe('jsonl');
  });

  it('refuses any other name with a SinkError listing what is accepted, stdout included', () => {
    expect(() => itemSinkFormatFor('items.json')).toThrow(SinkError);
    expect(() => itemSinkFormatFor('items.json')).toThrow(
      'cannot tell the items format of items.json: use one of the extensions .jsonl, .ndjson, .csv, .sqlite, .sqlite3, .db, or - for stdout',
    );
    expect(() => itemSinkFormatFor('./-')).toThrow(SinkError);
  });

  it('opens the sink of each format, which writes and marks', () => {
    for (const [name, format, content] of [
      ['i.jsonl', 'jsonl', '{"a":1,"b":"x"}\n'],
      ['i.csv', 'csv', 'a,b,_extra\r\n1,x,\r\n'],
      ['i.db', 'sqlite', null],
    ] as const) {
      const file = tmp(name);
      const s = openItemSink(file);
      expect(s.format).toBe(format);
      expect(s.path).toBe(file);
      expect(s.write([entry({ a: 1, b: 'x' })]).offset).toBe(content === null ? 1 : content.length);
      if (content !== null) expect(fs.readFileSync(file, 'utf8')).toBe(content);
      s.close();
      expect(() => s.write([entry({ a: 2 })])).toThrow(SinkError);
    }
  });
});

describe('items as JSONL', () => {
  it('writes exactly the pushed object per line, nothing added, and marks the byte length', () => {
    const file = tmp('items.jsonl');
    const sink = new ItemJsonlSink(file);
    const item = { name: 'Ünïcode\u2028"quoted"\nline', nested: { a: [1, { b: null }] }, n: -1.5 };
    const mark = sink.write([entry(item), entry({ z: true }, 1, null)]);
    sink.close();
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toBe(`${JSON.stringify(item)}\n{"z":true}\n`);
    expect(mark).toEqual({ path: file, offset: Buffer.byteLength(text) });
    expect(jsonLines(file)).toEqual([item, { z: true }]);
  });

  it('resume cuts back to the committed mark and goes on from there, each item once', () => {
    const file = tmp('items.jsonl');
    const first = new ItemJsonlSink(file);
    const committed = first.write(entries(0, 3)).offset;
    first.write(entries(3, 2)); // written, never committed: the process dies here
    first.close();
    const again = new ItemJsonlSink(file, { resumeOffset: committed });
    expect(again.replaced).toBe(0);
    expect(fs.statSync(file).size).toBe(committed);
    const mark = again.write(entries(3, 2)); // the batch is redone after the restart
    again.close();
    expect(jsonLines(file)).toEqual(entries(0, 5).map((e) => e.item));
    expect(fs.statSync(file).size).toBe(mark.offset);
  });

  it('refuses to resume a file shorter than the mark, missing, or cut mid-line', () => {
    const file = tmp('items.jsonl');
    const s = new ItemJsonlSink(file);
    const { offset } = s.write(entries(0, 2));
    s.close();
    expect(() => new ItemJsonlSink(file, { resumeOffset: offset + 1 })).toThrow(
      /holds \d+ bytes but \d+ were committed/,
    );
    expect(() => new ItemJsonlSink(file, { resumeOffset: offset - 2 })).toThrow(/not at a line end/);
    expect(() => new ItemJsonlSink(`${file}.gone.jsonl`, { resumeOffset: 5 })).toThrow(/file is missing/);
    expect(fs.statSync(file).size).toBe(offset); // a refused resume changes nothing
  });

  it('a fresh open replaces an existing file and says how much it replaced', () => {
    const file = tmp('items.jsonl');
    fs.writeFileSync(file, 'old\nstuff\n');
    const s = new ItemJsonlSink(file);
    expect(s.replaced).toBe(10);
    s.close();
    expect(fs.statSync(file).size).toBe(0);
  });

  it('an item JSON cannot encode throws ItemEncodingError naming the page; nothing of the write is written', () => {
    const file = tmp('items.jsonl');
    const s = new ItemJsonlSink(file);
    const before = s.write(entries(0, 1));
    const bad = entry({ big: 1n }, 7);
    expect(() => s.write([entry(product(1), 1), bad])).toThrow(ItemEncodingError);
    expect(() => s.write([bad])).toThrow(`an item pushed on ${bad.url} cannot be written as JSON`);
    expect(s.mark()).toEqual(before);
    s.close();
    expect(fs.statSync(file).size).toBe(before.offset);
  });
});

describe('items as CSV', () => {
  it('takes its columns from the first item; fields of later items that are not columns go to _extra as JSON', () => {
    const file = tmp('items.csv');
    const sink = new ItemCsvSink(file);
    sink.write([entry({ sku: 'A1', name: 'Kettle', price: 19.9 })]);
    sink.write([
      entry({ price: 5, sku: 'B2', colour: 'red', specs: { watts: 2000 } }), // other order, extras
      entry({ name: 'Only a name' }), // missing columns
      entry({ sku: 'C3', name: 'Mug', price: 3, _extra: 'mine' }), // a field named like the column
    ]);
    sink.close();
    expect(parseCsv(fs.readFileSync(file, 'utf8'))).toEqual([
      ['sku', 'name', 'price', '_extra'],
      ['A1', 'Kettle', '19.9', ''],
      ['B2', '', '5', '{"colour":"red","specs":{"watts":2000}}'],
      ['', 'Only a name', '', ''],
      ['C3', 'Mug', '3', '{"_extra":"mine"}'],
    ]);
  });

  it('writes nested values as JSON and null/undefined as empty, quoting per RFC 4180', () => {
    const file = tmp('items.csv');
    const sink = new ItemCsvSink(file);
    const item = {
      comma: 'a,b',
      quote: 'say "hi"',
      lines: 'one\r\ntwo\nthree',
      list: ['x', 'y,z'],
      obj: { k: 'v"w' },
      none: null,
      undef: undefined,
      yes: false,
      when: new Date('2026-01-02T03:04:05.000Z'),
      text: 'Grüße 🙂',
    };
    sink.write([entry(item)]);
    sink.close();
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain('\r\n"a,b","say ""hi""","one\r\ntwo\nthree","[""x"",""y,z""]",');
    const [header, row] = parseCsv(text);
    expect(header).toEqual([...Object.keys(item), '_extra']);
    expect(row).toEqual([
      'a,b',
      'say "hi"',
      'one\r\ntwo\nthree',
      '["x","y,z"]',
      '{"k":"v\\"w"}',
      '',
      '',
      'false',
      '2026-01-02T03:04:05.000Z',
      'Grüße 🙂',
      '',
    ]);
  });

  it('guards text cells and column names against formula injection; numbers are never prefixed', () => {
    const file = tmp('items.csv');
    const sink = new ItemCsvSink(file);
    sink.write([entry({ '=cmd': '=HYPERLINK("x")', n: -3, s: '-3', t: '@sum', extra0: 'ok' })]);
    sink.write([entry({ n: 1, '+x': '+1' })]);
    sink.close();
    expect(parseCsv(fs.readFileSync(file, 'utf8'))).toEqual([
      ["'=cmd", 'n', 's', 't', 'extra0', '_extra'],
      ['\'=HYPERLINK("x")', '-3', "'-3", "'@sum", 'ok', ''],
      ['', '1', '', '', '', '{"+x":"+1"}'], // _extra is JSON (starts with {): the data is exact
    ]);
    const raw = tmp('raw.csv');
    const plain = new ItemCsvSink(raw, { formulaGuard: false });
    plain.write([entry({ '=cmd': '=1+1' })]);
    plain.close();
    expect(parseCsv(fs.readFileSync(raw, 'utf8'))).toEqual([
      ['=cmd', '_extra'],
      ['=1+1', ''],
    ]);
  });

  it('a first item without fields gives only the _extra column, and no row is a blank line', () => {
    const file = tmp('items.csv');
    const sink = new ItemCsvSink(file);
    sink.write([entry({}), entry({ a: 1 }), entry({})]);
    sink.close();
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toBe('_extra\r\n""\r\n"{""a"":1}"\r\n""\r\n');
    expect(parseCsv(text)).toEqual([['_extra'], [''], ['{"a":1}'], ['']]);
  });

  it('a new file stays empty until the first item (its columns are not known before)', () => {
    const file = tmp('items.csv');
    const sink = new ItemCsvSink(file);
    expect(sink.write([])).toEqual({ path: file, offset: 0 });
    sink.close();
    expect(fs.readFileSync(file, 'utf8')).toBe('');
    // Resuming at 0 (nothing committed) starts anew: the first item then fixes the columns.
    const again = new ItemCsvSink(file, { resumeOffset: 0 });
    again.write([entry({ only: 1 })]);
    again.close();
    expect(fs.readFileSync(file, 'utf8')).toBe('only,_extra\r\n1,\r\n');
  });

  it('resume cuts back to the mark and reads the columns back from the header, awkward names included', () => {
    const file = tmp('items.csv');
    // Column names a spreadsheet or a naive parser would trip on; each must come back exactly.
    const first: Item = { 'a,b': 1, '"q"': 2, 'multi\r\nline': 3, '=f': 4, "'=g": 5, "'plain": 6, '': 7 };
    const s1 = new ItemCsvSink(file);
    const committed = s1.write([entry(first)]).offset;
    s1.write([entry({ 'a,b': 'lost' })]); // written, never committed
    s1.close();
    const s2 = new ItemCsvSink(file, { resumeOffset: committed });
    expect(fs.statSync(file).size).toBe(committed);
    // Fields in another order and one that is not a column: they line up with the old header.
    const mark = s2.write([entry({ "'=g": 'G', '=f': 'F', 'multi\r\nline': 'M', new: 'N', 'a,b': 'A' })]);
    s2.close();
    expect(fs.statSync(file).size).toBe(mark.offset);
    const rows = parseCsv(fs.readFileSync(file, 'utf8'));
    expect(rows).toEqual([
      ['a,b', '"q"', 'multi\r\nline', "'=f", "''=g", "'plain", '', '_extra'],
      ['1', '2', '3', '4', '5', '6', '7', ''],
      ['A', '', 'M', 'F', 'G', '', '', '{"new":"N"}'],
    ]);
  });

  it('refuses to resume a file shorter than the mark, one that is not its CSV, or a mark mid-row', () => {
    const file = tmp('items.csv');
    const s = new ItemCsvSink(file);
    const { offset } = s.write(entries(0, 3));
    s.close();
    expect(() => new ItemCsvSink(file, { resumeOffset: offset + 10 })).toThrow(
      /holds \d+ bytes but \d+ were committed/,
    );
    expect(() => new ItemCsvSink(file, { resumeOffset: offset - 3 })).toThrow(/not at a row end/);
    expect(() => new ItemCsvSink(file, { resumeOffset: 5 })).toThrow(/no complete header row/);
    const foreign = tmp('foreign.csv');
    fs.writeFileSync(foreign, 'a,b\r\n1,2\r\n');
    expect(() => new ItemCsvSink(foreign, { resumeOffset: 10 })).toThrow(
      /not the items CSV this crawl wrote \(its header does not end with the _extra column/,
    );
    const broken = tmp('broken.csv');
    fs.writeFileSync(broken, 'a,b"c",_extra\r\n');
    expect(() => new ItemCsvSink(broken, { resumeOffset: 15 })).toThrow(/stray quote/);
    expect(fs.readFileSync(foreign, 'utf8')).toBe('a,b\r\n1,2\r\n'); // refused: left as it was
  });

  it('header and rows of the first write are one append: an unencodable item leaves the file empty', () => {
    const file = tmp('items.csv');
    const s = new ItemCsvSink(file);
    expect(() => s.write([entry({ a: 1 }), entry({ b: { n: 1n } }, 9)])).toThrow(ItemEncodingError);
    expect(fs.statSync(file).size).toBe(0);
    // The next first write fixes the columns afresh from its own first item.
    s.write([entry({ c: 3 })]);
    s.close();
    expect(fs.readFileSync(file, 'utf8')).toBe('c,_extra\r\n3,\r\n');
  });
});

describe('items in SQLite', () => {
  const rows = (file: string) => {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare('SELECT id, url, label, item FROM items ORDER BY id').all() as {
        id: number;
        url: string;
        label: string | null;
        item: string;
      }[];
    } finally {
      db.close();
    }
  };

  it('stores url, label and the item as JSON; the mark is the last id', () => {
    const file = tmp('items.sqlite');
    const s = new ItemSqliteSink(file);
    const mark = s.write([entry(product(1), 1), entry({ x: [1, 2] }, 2, null)]);
    s.close();
    expect(mark).toEqual({ path: file, offset: 2 });
    expect(rows(file)).toEqual([
      { id: 1, url: 'https://shop.example/p/1', label: 'PRODUCT', item: JSON.stringify(product(1)) },
      { id: 2, url: 'https://shop.example/p/2', label: null, item: '{"x":[1,2]}' },
    ]);
    const db = new Database(file, { readonly: true });
    expect(db.prepare("SELECT json_extract(item, '$.price') AS p FROM items WHERE id = 1").get()).toEqual({
      p: 11,
    });
    db.close();
  });

  it('resume deletes the rows after the mark and goes on with the next id, each item once', () => {
    const file = tmp('items.db');
    const s1 = new ItemSqliteSink(file);
    const committed = s1.write(entries(0, 3)).offset;
    s1.write(entries(3, 2)); // never committed
    s1.close();
    const s2 = new ItemSqliteSink(file, { resumeOffset: committed });
    expect(s2.replaced).toBe(0);
    expect(s2.mark().offset).toBe(3);
    expect(s2.write(entries(3, 2)).offset).toBe(5);
    s2.close();
    expect(rows(file).map((r) => [r.id, JSON.parse(r.item).sku])).toEqual(
      [0, 1, 2, 3, 4].map((i) => [i + 1, `S-${i}`]),
    );
  });

  it('refuses to resume with fewer rows than the mark, or a missing file', () => {
    const file = tmp('items.db');
    const s = new ItemSqliteSink(file);
    s.write(entries(0, 2));
    s.close();
    expect(() => new ItemSqliteSink(file, { resumeOffset: 3 })).toThrow(/holds 2 rows but 3 were committed/);
    expect(() => new ItemSqliteSink(tmp('gone.db'), { resumeOffset: 1 })).toThrow(/file is missing/);
    expect(rows(file)).toHaveLength(2);
  });

  it("a fresh open empties trawl's items table only: another application's items table is refused, other tables are kept", () => {
    const file = tmp('shared.db');
    const pages = openSink(file); // the records may share the file
    const s1 = new ItemSqliteSink(file);
    s1.write(entries(0, 4));
    s1.close();
    const s2 = new ItemSqliteSink(file);
    expect(s2.replaced).toBe(4);
    expect(s2.write(entries(10, 1)).offset).toBe(1);
    s2.close();
    pages.close();
    const db = new Database(file, { readonly: true });
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all();
    db.close();
    expect(tables).toEqual([{ name: 'items' }, { name: 'pages' }]);

    const theirs = tmp('theirs.db');
    const db2 = new Database(theirs);
    db2.exec(
      "CREATE TABLE items (id INTEGER PRIMARY KEY, title TEXT); INSERT INTO items VALUES (1, 'keep me')",
    );
    db2.close();
    expect(() => new ItemSqliteSink(theirs)).toThrow(
      /it has an items table that trawl did not write \(columns id,title\)/,
    );
    const db3 = new Database(theirs, { readonly: true });
    expect(db3.prepare('SELECT count(*) AS n FROM items').get()).toEqual({ n: 1 });
    db3.close();
  });

  it('an unencodable item throws ItemEncodingError and inserts nothing of that write', () => {
    const file = tmp('items.db');
    const s = new ItemSqliteSink(file);
    s.write(entries(0, 1));
    expect(() => s.write([entry(product(1)), entry({ b: 1n })])).toThrow(ItemEncodingError);
    expect(s.mark().offset).toBe(1);
    expect(s.write(entries(1, 1)).offset).toBe(2);
    s.close();
    expect(rows(file).map((r) => r.id)).toEqual([1, 2]);
  });
});

const noTmpfs = tmpfsUnavailable();

describe.skipIf(noTmpfs !== null)(`items on a full disk${noTmpfs ? ` (skipped: ${noTmpfs})` : ''}`, () => {
  /** About 1 KiB per item, so a batch of 10 straddles the last free page. */
  const big = (i: number) => entry({ sku: `S-${i}`, text: `${i} `.padEnd(900, 't') }, i);
  const batch = (from: number) => Array.from({ length: 10 }, (_, k) => big(from + k));

  for (const [format, open, skus] of [
    [
      'JSONL',
      (f: string, resumeOffset?: number) => new ItemJsonlSink(f, { resumeOffset }),
      (f: string) => jsonLines(f).map((i) => i.sku),
    ],
    [
      'CSV',
      (f: string, resumeOffset?: number) => new ItemCsvSink(f, { resumeOffset }),
      (f: string) =>
        parseCsv(fs.readFileSync(f, 'utf8'))
          .slice(1)
          .map((r) => r[0]),
    ],
  ] as const) {
    it(`${format}: a full disk throws StorageFullError; the file keeps whole batches and the refused one goes in once space is freed`, () => {
      const { file, disk } = fullDiskFile(`items.${format.toLowerCase()}`);
      const sink = open(file);
      const { taken, refused, err } = writeUntilFull(sink, batch);
      expect(err).toBeInstanceOf(StorageFullError);
      expect((err as StorageFullError).path).toBe(file);
      expect(fs.statSync(file).size).toBe(sink.mark().offset);
      expect(skus(file)).toEqual(taken.map((e) => e.item.sku));
      disk.resize(1024 * 1024);
      const mark = sink.write(refused);
      sink.close();
      open(file, mark.offset).close();
      expect(skus(file)).toEqual([...taken, ...refused].map((e) => e.item.sku));
    });
  }

  it('CSV: a first write on a full disk leaves the file empty (no header without its rows)', () => {
    const { file } = fullDiskFile('items.csv', 0, 64 * 1024);
    const sink = new ItemCsvSink(file);
    expect(() => sink.write([big(0)])).toThrow(StorageFullError);
    sink.close();
    expect(fs.statSync(file).size).toBe(0);
  });

  it('SQLite: a full disk throws StorageFullError; the failed batch is rolled back and the mark stays', () => {
    const { file, disk } = fullDiskFile('items.db', 60 * 1024);
    const sink = new ItemSqliteSink(file);
    const { taken, refused, err } = writeUntilFull(sink, batch);
    expect(err).toBeInstanceOf(StorageFullError);
    expect((err as StorageFullError).path).toBe(file);
    expect(sink.mark().offset).toBe(taken.length);
    disk.resize(1024 * 1024);
    expect(sink.write(refused).offset).toBe(taken.length + refused.length);
    sink.close();
    const db = new Database(file, { readonly: true });
    const n = db.prepare('SELECT count(*) AS n, count(DISTINCT url) AS u FROM items').get();
    db.close();
    expect(n).toEqual({ n: taken.length + refused.length, u: taken.length + refused.length });
  });
});
