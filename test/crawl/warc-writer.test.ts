/**
 * The WARC/1.1 writer (src/crawl/store/warc-writer.ts, warc-record.ts), checked by an independent
 * reader: warcio.js parses every file written here, and digests are recomputed from the bytes it
 * hands back. Real files in a temp directory (and a real tmpfs for the full-disk case).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { Exchange } from '../../src/crawl/exchange.js';
import { SinkError } from '../../src/crawl/store/sink.js';
import { StorageFullError } from '../../src/crawl/store/storage-full.js';
import { isChunked, newRecordId, payloadDigest, warcDate } from '../../src/crawl/store/warc-record.js';
import { type WarcEntry, WarcWriter } from '../../src/crawl/store/warc-writer.js';
import { fullDiskFile, writeUntilFull } from '../helpers/full-disk.js';
import { tmpfsUnavailable, unmountAll } from '../helpers/tmpfs.js';
import { type Parsed, parse, sha1 } from '../helpers/warc-read.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  unmountAll();
});
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'trawl-warc-'));
  dirs.push(d);
  return d;
}
const tmp = (name: string) => path.join(tmpDir(), name);

// ---------------------------------------------------------------------------------------------
// Exchanges built by hand, as the wire tap would record them.

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

interface ExOpts {
  url?: string;
  method?: string;
  reqHeaders?: [string, string][];
  reqBody?: Buffer | null;
  status?: number;
  reason?: string;
  headers?: [string, string][];
  body?: Buffer | string;
  truncated?: Exchange['truncated'];
  date?: number;
  ip?: string | null;
}

function exchange(o: ExOpts = {}): Exchange {
  const url = o.url ?? 'https://example.com/page';
  const u = new URL(url);
  const method = o.method ?? 'GET';
  const reqHeaders: [string, string][] = [
    ['host', u.host],
    ['user-agent', 'trawl/0.1.0'],
    ['accept-encoding', 'gzip, br'],
    ...(o.reqHeaders ?? []),
  ];
  const reqBody = o.reqBody ?? null;
  if (reqBody !== null) reqHeaders.push(['content-length', String(reqBody.length)]);
  const body =
    typeof o.body === 'string' ? Buffer.from(o.body) : (o.body ?? Buffer.from('<html>hello</html>'));
  const status = o.status ?? 200;
  const headers = o.headers ?? [
    ['Content-Type', 'text/html; charset=utf-8'],
    ['Content-Length', String(body.length)],
  ];
  const head = (first: string, h: [string, string][]) =>
    Buffer.from(`${first}\r\n${h.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`, 'latin1');
  return {
    url,
    date: o.date ?? T0,
    ip: o.ip === undefined ? '93.184.215.14' : o.ip,
    requestHead: head(`${method} ${u.pathname}${u.search} HTTP/1.1`, reqHeaders),
    requestBody: reqBody,
    responseHead: head(`HTTP/1.1 ${status} ${o.reason ?? 'OK'}`, headers),
    status,
    responseBody: body,
    ...(o.truncated !== undefined ? { truncated: o.truncated } : {}),
  };
}

const html = `<!doctype html><html><head><title>T</title></head><body>${'<p>some text here</p>\n'.repeat(200)}</body></html>`;
const plainEx = () => exchange({ url: 'https://example.com/plain', body: html });
const gzipEx = () => {
  const gz = zlib.gzipSync(Buffer.from(html));
  return exchange({
    url: 'https://example.com/gz',
    body: gz,
    headers: [
      ['Content-Type', 'text/html'],
      ['Content-Encoding', 'gzip'],
      ['Content-Length', String(gz.length)],
    ],
  });
};
const chunkedEx = (body: string | Buffer = html, truncated?: Exchange['truncated']) =>
  exchange({
    url: 'https://example.com/chunked',
    body,
    truncated,
    headers: [
      ['Content-Type', 'text/plain'],
      ['Transfer-Encoding', 'chunked'],
    ],
  });
const postEx = () =>
  exchange({
    url: 'https://example.com/login?next=/home',
    method: 'POST',
    reqHeaders: [['content-type', 'application/x-www-form-urlencoded']],
    reqBody: Buffer.from('user=ann&pass=s%20cret'),
    status: 303,
    reason: 'See Other',
    headers: [
      ['Location', '/home'],
      ['Content-Length', '0'],
    ],
    body: '',
  });
const truncatedEx = () =>
  exchange({
    url: 'https://example.com/big',
    body: 'x'.repeat(1000),
    truncated: 'length',
    headers: [['Content-Length', '5000']],
  });

// ---------------------------------------------------------------------------------------------
// Reading back with warcio.js.

const get = (p: Parsed, name: string) => p.warc.get(name);

/** Checks the things every non-warcinfo record must satisfy. */
function checkRecord(p: Parsed, warcinfoId: string | null) {
  expect(get(p, 'WARC-Record-ID')).toMatch(/^<urn:uuid:[0-9a-f-]{36}>$/);
  expect(get(p, 'WARC-Date')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  expect(get(p, 'WARC-Warcinfo-ID')).toBe(warcinfoId);
  expect(Number(get(p, 'Content-Length'))).toBe(p.block.length);
  expect(get(p, 'WARC-Block-Digest')).toBe(sha1(p.block));
}

/** Response (or revisit) + request of an exchange, checked against what it was built from. */
function checkPair(resp: Parsed, req: Parsed, ex: Exchange, warcinfoId: string) {
  expect(req.type).toBe('request');
  checkRecord(resp, warcinfoId);
  checkRecord(req, warcinfoId);
  for (const p of [resp, req]) {
    expect(get(p, 'WARC-Target-URI')).toBe(ex.url);
    expect(get(p, 'WARC-Date')).toBe(`${new Date(ex.date).toISOString().slice(0, 19)}Z`);
    expect(get(p, 'WARC-IP-Address')).toBe(ex.ip);
  }
  expect(get(req, 'WARC-Concurrent-To')).toBe(get(resp, 'WARC-Record-ID'));
  expect(get(resp, 'WARC-Concurrent-To')).toBe(get(req, 'WARC-Record-ID'));
  expect(get(req, 'Content-Type')).toBe('application/http;msgtype=request');
  expect(get(resp, 'Content-Type')).toBe('application/http;msgtype=response');
  // The request: head and body exactly as sent.
  expect(req.block).toEqual(Buffer.concat([ex.requestHead, ex.requestBody ?? Buffer.alloc(0)]));
  expect(req.method).toBe(ex.requestHead.toString('latin1').split(' ')[0]);
  expect(req.raw).toEqual(ex.requestBody ?? Buffer.alloc(0));
  expect(get(req, 'WARC-Payload-Digest')).toBe(sha1(req.payload));
  // The response head exactly as received, and its status as warcio parses it.
  expect(resp.block.subarray(0, ex.responseHead.length)).toEqual(ex.responseHead);
  expect(resp.status).toBe(ex.status);
}

function checkResponse(resp: Parsed, ex: Exchange) {
  expect(resp.type).toBe('response');
  expect(resp.payload).toEqual(ex.responseBody);
  expect(get(resp, 'WARC-Payload-Digest')).toBe(sha1(resp.payload));
  expect(get(resp, 'WARC-Payload-Digest')).toBe(payloadDigest(ex.responseBody));
  expect(get(resp, 'WARC-Truncated')).toBe(ex.truncated ?? null);
  const encoded = (resp.http?.get('content-encoding') ?? '') === 'gzip';
  expect(resp.content).toEqual(encoded ? zlib.gunzipSync(ex.responseBody) : ex.responseBody);
  // The headers warcio parses are the ones received.
  const sent = ex.responseHead
    .toString('latin1')
    .split('\r\n')
    .slice(1)
    .filter((l) => l !== '')
    .map((l) => l.split(': ') as [string, string]);
  for (const [name, value] of sent) expect(resp.http?.get(name)).toBe(value);
}

const exEntry = (exchange: Exchange): WarcEntry => ({ type: 'exchange', exchange });

// ---------------------------------------------------------------------------------------------

describe('WARC records', () => {
  for (const ext of ['.warc.gz', '.warc']) {
    it(`${ext}: warcinfo, then response + request per exchange, each one readable and consistent`, async () => {
      const file = tmp(`out${ext}`);
      const w = new WarcWriter({
        file,
        software: 'trawl/0.1.0',
        info: { isPartOf: 'test-crawl', description: 'unit test' },
        now: () => T0,
      });
      const exs = [
        plainEx(),
        gzipEx(),
        chunkedEx(),
        chunkedEx(''),
        postEx(),
        truncatedEx(),
        chunkedEx(html, 'time'),
      ];
      const mark = w.write(exs.map(exEntry));
      w.close();
      expect(mark).toEqual({ path: file, offset: fs.statSync(file).size });
      if (ext === '.warc.gz') expect(fs.readFileSync(file).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
      else expect(fs.readFileSync(file, 'latin1').startsWith('WARC/1.1\r\n')).toBe(true);

      const recs = await parse(file);
      expect(recs.map((r) => r.type)).toEqual(['warcinfo', ...exs.flatMap(() => ['response', 'request'])]);
      const info = recs[0] as Parsed;
      const infoId = get(info, 'WARC-Record-ID') as string;
      expect(get(info, 'Content-Type')).toBe('application/warc-fields');
      expect(get(info, 'WARC-Filename')).toBe(path.basename(file));
      expect(get(info, 'WARC-Date')).toBe(warcDate(T0));
      expect(get(info, 'WARC-Block-Digest')).toBe(sha1(info.block));
      expect(info.block.toString()).toBe(
        'software: trawl/0.1.0\r\nformat: WARC File Format 1.1\r\n' +
          'conformsTo: http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n' +
          'isPartOf: test-crawl\r\ndescription: unit test\r\n',
      );
      const ids = new Set(recs.map((r) => get(r, 'WARC-Record-ID')));
      expect(ids.size).toBe(recs.length);
      exs.forEach((ex, i) => {
        const resp = recs[1 + 2 * i] as Parsed;
        const req = recs[2 + 2 * i] as Parsed;
        checkPair(resp, req, ex, infoId);
        checkResponse(resp, ex);
      });
    });
  }

  it('re-chunks a chunked body as one chunk and a last chunk, keeping the head as received', async () => {
    const file = tmp('c.warc');
    const w = new WarcWriter({ file, software: 't' });
    const ex = chunkedEx('hello world');
    w.write([exEntry(ex), exEntry(chunkedEx('')), exEntry(chunkedEx('cut', 'disconnect'))]);
    w.close();
    const recs = await parse(file);
    expect(isChunked(ex.responseHead)).toBe(true);
    expect((recs[1] as Parsed).raw.toString()).toBe('b\r\nhello world\r\n0\r\n\r\n');
    expect((recs[3] as Parsed).raw.toString()).toBe('0\r\n\r\n');
    // A truncated body gets no last chunk: the message really ended early.
    expect((recs[5] as Parsed).raw.toString()).toBe('3\r\ncut\r\n');
    expect((recs[5] as Parsed).content.toString()).toBe('cut');
    expect(get(recs[5] as Parsed, 'WARC-Truncated')).toBe('disconnect');
    // The payload digest is over the de-chunked body, so it does not depend on the chunking.
    expect(get(recs[1] as Parsed, 'WARC-Payload-Digest')).toBe(payloadDigest(Buffer.from('hello world')));
  });

  it('isChunked reads the final transfer coding of all Transfer-Encoding lines', () => {
    const h = (s: string) => Buffer.from(`HTTP/1.1 200 OK\r\n${s}\r\n`, 'latin1');
    expect(isChunked(h('transfer-encoding: Chunked\r\n'))).toBe(true);
    expect(isChunked(h('Transfer-Encoding: gzip, chunked\r\n'))).toBe(true);
    expect(isChunked(h('Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n'))).toBe(true);
    expect(isChunked(h('Transfer-Encoding: chunked, gzip\r\n'))).toBe(false);
    expect(isChunked(h('X-Transfer-Encoding: chunked\r\n'))).toBe(false);
    expect(isChunked(h('Content-Length: 3\r\n'))).toBe(false);
  });

  it('revisit records: server-not-modified for a 304, identical-payload-digest for a known payload', async () => {
    const file = tmp('r.warc.gz');
    const w = new WarcWriter({ file, software: 't' });
    const first = plainEx();
    const firstId = newRecordId();
    w.write([{ type: 'exchange', exchange: first, id: firstId }]);
    const later = T0 + 86_400_000;
    const notModified = exchange({
      url: first.url,
      date: later,
      reqHeaders: [['if-none-match', '"v1"']],
      status: 304,
      reason: 'Not Modified',
      headers: [['ETag', '"v1"']],
      body: '',
    });
    const same = { ...exchange({ url: first.url, date: later + 1000, body: html }), ip: null };
    const revisitId = newRecordId();
    w.write([
      {
        type: 'revisit',
        exchange: notModified,
        profile: 'server-not-modified',
        refersTo: { uri: first.url, date: first.date, recordId: firstId },
        id: revisitId,
      },
      {
        type: 'revisit',
        exchange: same,
        profile: 'identical-payload-digest',
        refersTo: { uri: first.url, date: first.date },
      },
    ]);
    w.close();
    const recs = await parse(file);
    expect(recs.map((r) => r.type)).toEqual([
      'warcinfo',
      'response',
      'request',
      'revisit',
      'request',
      'revisit',
      'request',
    ]);
    const infoId = get(recs[0] as Parsed, 'WARC-Record-ID') as string;
    const [, orig, , nm, nmReq, ip, ipReq] = recs as Parsed[];
    expect(get(orig as Parsed, 'WARC-Record-ID')).toBe(firstId);
    checkPair(nm as Parsed, nmReq as Parsed, notModified, infoId);
    checkPair(ip as Parsed, ipReq as Parsed, same, infoId);
    expect(get(nm as Parsed, 'WARC-Record-ID')).toBe(revisitId);
    expect(get(nm as Parsed, 'WARC-Profile')).toBe(
      'http://netpreserve.org/warc/1.1/revisit/server-not-modified',
    );
    expect(get(nm as Parsed, 'WARC-Refers-To')).toBe(firstId);
    expect(get(nm as Parsed, 'WARC-Payload-Digest')).toBeNull();
    expect(get(ip as Parsed, 'WARC-Profile')).toBe(
      'http://netpreserve.org/warc/1.1/revisit/identical-payload-digest',
    );
    expect(get(ip as Parsed, 'WARC-Refers-To')).toBeNull();
    expect(get(ip as Parsed, 'WARC-IP-Address')).toBeNull();
    for (const r of [nm, ip] as Parsed[]) {
      expect(get(r, 'WARC-Refers-To-Target-URI')).toBe(first.url);
      expect(get(r, 'WARC-Refers-To-Date')).toBe(get(orig as Parsed, 'WARC-Date'));
      expect(get(r, 'WARC-Truncated')).toBeNull();
    }
    // The block is the response head alone.
    expect((nm as Parsed).block).toEqual(notModified.responseHead);
    expect((ip as Parsed).block).toEqual(same.responseHead);
    expect((nm as Parsed).status).toBe(304);
    expect((ip as Parsed).status).toBe(200);
    // The identical payload's digest is the original response's.
    expect(get(ip as Parsed, 'WARC-Payload-Digest')).toBe(get(orig as Parsed, 'WARC-Payload-Digest'));
  });

  it('an empty batch writes nothing, not even the warcinfo record', () => {
    const file = tmp('e.warc.gz');
    const w = new WarcWriter({ file, software: 't' });
    expect(w.write([])).toEqual({ path: file, offset: 0 });
    expect(fs.statSync(file).size).toBe(0);
    w.close();
  });

  it('a field value with a line break is refused with nothing written', () => {
    const file = tmp('i.warc.gz');
    const w = new WarcWriter({ file, software: 't' });
    const bad = { ...plainEx(), url: 'https://example.com/\r\nWARC-Type: forged' };
    expect(() => w.write([exEntry(plainEx()), exEntry(bad)])).toThrow(RangeError);
    expect(fs.statSync(file).size).toBe(0);
    expect(w.write([exEntry(plainEx())]).offset).toBe(fs.statSync(file).size);
    w.close();
  });
});

// ---------------------------------------------------------------------------------------------

/** The target URIs of the response records of a file, in order. */
async function responseUrls(file: string): Promise<string[]> {
  return (await parse(file))
    .filter((r) => r.type === 'response')
    .map((r) => get(r, 'WARC-Target-URI') as string);
}
const page = (i: number) =>
  exchange({ url: `https://example.com/p/${i}`, body: `<p>page ${i}</p>`.repeat(20) });
const pages = (from: number, n = 3) => Array.from({ length: n }, (_, k) => exEntry(page(from + k)));

describe('WARC writer: resume', () => {
  for (const ext of ['.warc.gz', '.warc']) {
    it(`${ext}: a resume cuts the file back to the mark; each committed record is there once`, async () => {
      const file = tmp(`out${ext}`);
      const w = new WarcWriter({ file, software: 't' });
      const m1 = w.write(pages(0));
      const m2 = w.write(pages(3)); // never committed
      w.close();
      expect(m2.offset).toBeGreaterThan(m1.offset);
      // A half-written record after it, as a crash mid-write could leave.
      const more = fs.readFileSync(file).subarray(m1.offset, m2.offset);
      fs.appendFileSync(file, more.subarray(0, more.length >> 1));

      const r = new WarcWriter({ file, software: 't', resume: m1 });
      expect(fs.statSync(file).size).toBe(m1.offset);
      expect(r.mark()).toEqual(m1);
      const m3 = r.write(pages(6));
      r.close();
      expect(fs.statSync(file).size).toBe(m3.offset);
      const recs = await parse(file);
      expect(recs.filter((x) => x.type === 'warcinfo')).toHaveLength(1);
      expect(await responseUrls(file)).toEqual([0, 1, 2, 6, 7, 8].map((i) => `https://example.com/p/${i}`));
      // Records written after the resume still name the file's warcinfo record.
      const id = get(recs[0] as Parsed, 'WARC-Record-ID');
      for (const x of recs.slice(1)) expect(get(x, 'WARC-Warcinfo-ID')).toBe(id);
    });
  }

  it('a resume at offset 0 starts the file over, warcinfo included', async () => {
    const file = tmp('z.warc.gz');
    const w = new WarcWriter({ file, software: 't' });
    const m0 = w.mark();
    w.write(pages(0));
    w.close();
    const r = new WarcWriter({ file, software: 't', resume: m0 });
    expect(fs.statSync(file).size).toBe(0);
    r.write(pages(5, 1));
    r.close();
    const recs = await parse(file);
    expect(recs.map((x) => x.type)).toEqual(['warcinfo', 'response', 'request']);
  });

  it('refuses a resume whose file is missing, shorter than the mark, another file or modified', () => {
    const file = tmp('m.warc.gz');
    expect(() => new WarcWriter({ file, software: 't', resume: { path: file, offset: 10 } })).toThrow(
      SinkError,
    );
    expect(() => new WarcWriter({ file, software: 't', resume: { path: file, offset: 10 } })).toThrow(
      `cannot resume output ${file}: the file is missing`,
    );
    const w = new WarcWriter({ file, software: 't' });
    const m = w.write(pages(0));
    w.close();
    expect(
      () => new WarcWriter({ file, software: 't', resume: { path: file, offset: m.offset + 1 } }),
    ).toThrow(`cannot resume output ${file}: it holds ${m.offset} bytes but ${m.offset + 1} were committed`);
    const other = path.join(path.dirname(file), 'other.warc.gz');
    expect(() => new WarcWriter({ file: other, software: 't', resume: m })).toThrow(
      `cannot resume WARC output ${other}: the state file's WARC output is ${file}`,
    );
    // Not a WARC: the check refuses it before anything is cut.
    const junk = tmp('junk.warc.gz');
    fs.writeFileSync(junk, 'not a warc at all');
    expect(() => new WarcWriter({ file: junk, software: 't', resume: { path: junk, offset: 5 } })).toThrow(
      SinkError,
    );
    expect(fs.readFileSync(junk, 'utf8')).toBe('not a warc at all');
    // A plain WARC whose committed offset is not at a record's end.
    const plain = tmp('p.warc');
    const p = new WarcWriter({ file: plain, software: 't' });
    const pm = p.write(pages(0));
    p.close();
    expect(
      () => new WarcWriter({ file: plain, software: 't', resume: { path: plain, offset: pm.offset - 3 } }),
    ).toThrow('is not at the end of a record');
    expect(fs.statSync(plain).size).toBe(pm.offset);
  });

  it('refuses a file name that is neither .warc.gz nor .warc, and bad options', () => {
    const file = tmp('out.warc.zst');
    expect(() => new WarcWriter({ file, software: 't' })).toThrow(SinkError);
    expect(() => new WarcWriter({ file, software: 't' })).toThrow(
      `WARC output ${file}: the file name must end in .warc.gz or .warc`,
    );
    expect(fs.existsSync(file)).toBe(false);
    expect(() => new WarcWriter({ software: 't' })).toThrow(RangeError);
    expect(() => new WarcWriter({ file, dir: tmpDir(), software: 't' })).toThrow(RangeError);
    expect(() => new WarcWriter({ dir: tmpDir(), maxSize: 0, software: 't' })).toThrow(RangeError);
    expect(() => new WarcWriter({ dir: tmpDir(), prefix: 'a/b', software: 't' })).toThrow(RangeError);
  });

  it('writes after close throw a SinkError', () => {
    const w = new WarcWriter({ file: tmp('c.warc.gz'), software: 't' });
    w.close();
    w.close();
    expect(() => w.write(pages(0))).toThrow(SinkError);
  });
});

describe('WARC writer: rotation (dir mode)', () => {
  it('starts a new file once the current one reached maxSize; each file opens with its warcinfo', async () => {
    const dir = path.join(tmpDir(), 'warcs'); // created by the writer
    let clock = Date.UTC(2026, 4, 6, 7, 8, 9);
    const now = () => clock;
    const w = new WarcWriter({ dir, maxSize: 2000, prefix: 'node-a', software: 't', now });
    expect(w.files).toEqual([path.join(dir, 'node-a-20260506070809-00000.warc.gz')]);
    const marks = [];
    for (let b = 0; b < 4; b++) {
      marks.push(w.write(pages(b * 3)));
      clock += 1000;
    }
    w.close();
    expect(w.files.map((f) => path.basename(f))).toEqual([
      'node-a-20260506070809-00000.warc.gz',
      'node-a-20260506070810-00001.warc.gz',
      'node-a-20260506070811-00002.warc.gz',
      'node-a-20260506070812-00003.warc.gz',
    ]);
    expect(marks.map((m) => m.path)).toEqual(w.files);
    for (const [b, f] of w.files.entries()) {
      const recs = await parse(f);
      expect(recs[0]?.type).toBe('warcinfo');
      expect(get(recs[0] as Parsed, 'WARC-Filename')).toBe(path.basename(f));
      const id = get(recs[0] as Parsed, 'WARC-Record-ID');
      for (const x of recs.slice(1)) expect(get(x, 'WARC-Warcinfo-ID')).toBe(id);
      expect(await responseUrls(f)).toEqual([0, 1, 2].map((k) => `https://example.com/p/${b * 3 + k}`));
      expect(fs.statSync(f).size).toBe(marks[b]?.offset);
    }
  });

  it('a resume deletes the newer (uncommitted) files of this writer only, and numbering goes on', async () => {
    const dir = tmpDir();
    let clock = Date.UTC(2026, 4, 6, 7, 8, 9);
    const now = () => clock;
    // An older crawl's file with the same prefix (earlier time, higher number) and another prefix's.
    const older = path.join(dir, 'trawl-20250101000000-00007.warc.gz');
    const foreign = path.join(dir, 'other-20270101000000-00009.warc.gz');
    fs.writeFileSync(older, 'old');
    fs.writeFileSync(foreign, 'other');
    const w = new WarcWriter({ dir, maxSize: 1, software: 't', now });
    const marks = [];
    for (let b = 0; b < 4; b++) {
      marks.push(w.write(pages(b * 3)));
      clock += 1000;
    }
    w.close();
    const committed = marks[1] as { path: string; offset: number };
    // A crash after writing batch 3 to the file of batch 2 would also leave bytes after the mark.
    fs.appendFileSync(committed.path, Buffer.from('garbage'));
    clock += 60_000;
    const r = new WarcWriter({ dir, maxSize: 1, software: 't', now, resume: committed });
    expect(fs.existsSync(w.files[2] as string)).toBe(false);
    expect(fs.existsSync(w.files[3] as string)).toBe(false);
    expect(fs.existsSync(older)).toBe(true);
    expect(fs.existsSync(foreign)).toBe(true);
    expect(fs.statSync(committed.path).size).toBe(committed.offset);
    expect(r.files).toEqual([committed.path]);
    const m = r.write(pages(100));
    r.close();
    expect(path.basename(m.path)).toBe('trawl-20260506070913-00002.warc.gz');
    expect(await responseUrls(w.files[0] as string)).toHaveLength(3);
    expect(await responseUrls(committed.path)).toEqual([3, 4, 5].map((k) => `https://example.com/p/${k}`));
    expect(await responseUrls(m.path)).toEqual([100, 101, 102].map((k) => `https://example.com/p/${k}`));
  });

  it('refuses a resume mark that is not a file of this prefix in the directory', () => {
    const dir = tmpDir();
    const w = new WarcWriter({ dir, software: 't' });
    const m = w.write(pages(0));
    w.close();
    expect(() => new WarcWriter({ dir, prefix: 'x', software: 't', resume: m })).toThrow(SinkError);
    expect(() => new WarcWriter({ dir: tmpDir(), software: 't', resume: m })).toThrow(
      `cannot resume WARC output ${m.path}: it is not a trawl-*.warc.gz file of`,
    );
    const missing = { path: path.join(dir, 'trawl-20990101000000-00003.warc.gz'), offset: 1 };
    expect(() => new WarcWriter({ dir, software: 't', resume: missing })).toThrow(
      `cannot resume output ${missing.path}: the file is missing`,
    );
  });

  it('a name already taken (same second, same number) is skipped, never overwritten', () => {
    const dir = tmpDir();
    const now = () => Date.UTC(2026, 0, 1);
    fs.writeFileSync(path.join(dir, 'trawl-20260101000000-00000.warc.gz'), 'keep');
    const w = new WarcWriter({ dir, software: 't', now });
    expect(w.files).toEqual([path.join(dir, 'trawl-20260101000000-00001.warc.gz')]);
    w.close();
    expect(fs.readFileSync(path.join(dir, 'trawl-20260101000000-00000.warc.gz'), 'utf8')).toBe('keep');
  });
});

const noTmpfs = tmpfsUnavailable();

describe.skipIf(noTmpfs !== null)(
  `WARC writer on a full disk${noTmpfs ? ` (skipped: ${noTmpfs})` : ''}`,
  () => {
    // Incompressible bodies, so a batch of 10 takes ~20 KiB however it is compressed.
    const big = (i: number): WarcEntry =>
      exEntry(exchange({ url: `https://example.com/b/${i}`, body: randomBytes(2000).toString('base64') }));
    const batch = (from: number) => Array.from({ length: 10 }, (_, k) => big(from + k));

    for (const ext of ['.warc.gz', '.warc']) {
      it(`${ext}: a full disk throws StorageFullError, leaves the file at the mark, and the batch can be written again`, async () => {
        const { file, disk } = fullDiskFile(`out${ext}`);
        const w = new WarcWriter({ file, software: 't' });
        const { taken, refused, err } = writeUntilFull(w, batch);
        expect(err).toBeInstanceOf(StorageFullError);
        expect((err as StorageFullError).path).toBe(file);
        expect(fs.statSync(file).size).toBe(w.mark().offset);
        const urls = (es: WarcEntry[]) => es.map((e) => e.exchange.url);
        expect(await responseUrls(file)).toEqual(urls(taken));
        disk.resize(1024 * 1024);
        const m = w.write(refused);
        w.close();
        expect(fs.statSync(file).size).toBe(m.offset);
        expect(await responseUrls(file)).toEqual(urls([...taken, ...refused]));
        expect((await parse(file)).filter((r) => r.type === 'warcinfo')).toHaveLength(1);
      });
    }
  },
);
