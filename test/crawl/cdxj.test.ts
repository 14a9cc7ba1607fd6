/**
 * The CDXJ indexer (src/crawl/store/cdxj.ts) against warcio.js's CDXIndexer (`cdx-index --format
 * cdxj`, the format pywb reads) on the same WARC files written by the WarcWriter: the lines must be
 * the same — keys, timestamps, offsets, lengths, status, digest, mime, POST handling.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { CDXIndexer, getSurt } from 'warcio';
import type { Exchange } from '../../src/crawl/exchange.js';
import { cdxjLines, readWarc, surt, warcField } from '../../src/crawl/store/cdxj.js';
import { type WarcEntry, WarcWriter } from '../../src/crawl/store/warc-writer.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'trawl-cdxj-'));
  dirs.push(d);
  return d;
}

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);

function exchange(o: {
  url: string;
  method?: string;
  reqHeaders?: [string, string][];
  reqBody?: string;
  status?: number;
  headers?: [string, string][];
  body?: Buffer | string;
  date?: number;
}): Exchange {
  const u = new URL(o.url);
  const reqBody = o.reqBody === undefined ? null : Buffer.from(o.reqBody);
  const reqHeaders: [string, string][] = [['host', u.host], ...(o.reqHeaders ?? [])];
  if (reqBody !== null) reqHeaders.push(['content-length', String(reqBody.length)]);
  const body = typeof o.body === 'string' ? Buffer.from(o.body) : (o.body ?? Buffer.from('<p>hi</p>'));
  const head = (first: string, h: [string, string][]) =>
    Buffer.from(`${first}\r\n${h.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`, 'latin1');
  const status = o.status ?? 200;
  return {
    url: o.url,
    date: o.date ?? T0,
    ip: '127.0.0.1',
    requestHead: head(`${o.method ?? 'GET'} ${u.pathname}${u.search} HTTP/1.1`, reqHeaders),
    requestBody: reqBody,
    responseHead: head(
      `HTTP/1.1 ${status} X`,
      o.headers ?? [
        ['Content-Type', 'text/html; charset=UTF-8'],
        ['Content-Length', String(body.length)],
      ],
    ),
    status,
    responseBody: body,
  };
}

const ex = (e: Exchange): WarcEntry => ({ type: 'exchange', exchange: e });

/** A mixed bag of entries: what the index must get right. */
function entries(): WarcEntry[] {
  const gz = zlib.gzipSync(Buffer.from('<p>zipped</p>'.repeat(50)));
  const first = exchange({ url: 'https://www.Example.com/b?z=1&a=2', date: T0 });
  return [
    ex(first),
    ex(exchange({ url: 'https://example.com/a', date: T0 + 1000 })),
    ex(
      exchange({
        url: 'http://example.com:8080/gz',
        headers: [
          ['Content-Type', 'text/css'],
          ['Content-Encoding', 'gzip'],
          ['Content-Length', String(gz.length)],
        ],
        body: gz,
      }),
    ),
    ex(
      exchange({
        url: 'https://example.com/chunked',
        headers: [
          ['content-type', 'application/json'],
          ['Transfer-Encoding', 'chunked'],
        ],
        body: '{"a":1}',
      }),
    ),
    ex(exchange({ url: 'https://example.com/nomime', headers: [['Content-Length', '2']], body: 'hi' })),
    ex(
      exchange({
        url: 'https://example.com/redirect',
        status: 301,
        headers: [
          ['Location', '/a'],
          ['Content-Length', '0'],
        ],
        body: '',
      }),
    ),
    ex(
      exchange({
        url: 'https://example.com/form?x=1',
        method: 'POST',
        reqHeaders: [['content-type', 'application/x-www-form-urlencoded']],
        reqBody: 'q=hello%20world&b=2',
      }),
    ),
    ex(
      exchange({
        url: 'https://example.com/api',
        method: 'POST',
        reqHeaders: [['Content-Type', 'application/json']],
        reqBody: '{"q":"x","n":[1,2],"o":{"q":"y"},"z":null}',
      }),
    ),
    ex(
      exchange({
        url: 'https://example.com/bin',
        method: 'PUT',
        reqHeaders: [['content-type', 'application/octet-stream']],
        reqBody: '\u0001\u0002binary',
      }),
    ),
    ex(
      exchange({
        url: 'https://example.com/mp',
        method: 'POST',
        reqHeaders: [['content-type', 'multipart/form-data; boundary=XyZ']],
        reqBody: '--XyZ\r\nContent-Disposition: form-data; name="f"\r\n\r\nvalue\r\n--XyZ--\r\n',
      }),
    ),
    ex(exchange({ url: 'https://example.com/head', method: 'HEAD', body: '' })),
    {
      type: 'revisit',
      exchange: exchange({
        url: first.url,
        date: T0 + 5000,
        status: 304,
        headers: [['ETag', '"1"']],
        body: '',
      }),
      profile: 'server-not-modified',
      refersTo: { uri: first.url, date: first.date },
    },
    {
      type: 'revisit',
      exchange: exchange({ url: first.url, date: T0 + 9000 }),
      profile: 'identical-payload-digest',
      refersTo: { uri: first.url, date: first.date },
    },
  ];
}

/** warcio.js's CDXJ lines for `files`, sorted, without newlines. */
async function warcioLines(files: string[]): Promise<string[]> {
  const indexer = new CDXIndexer({ format: 'cdxj' });
  const lines: string[] = [];
  const streams = files.map((f) => ({ filename: path.basename(f), reader: fs.createReadStream(f) }));
  for await (const res of indexer.iterIndex(streams)) {
    lines.push(indexer.serialize(res as Record<string, unknown>).replace(/\n$/, ''));
  }
  return lines.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

describe('CDXJ', () => {
  for (const ext of ['.warc.gz', '.warc']) {
    it(`${ext}: the same lines as warcio.js's CDXIndexer`, async () => {
      const file = path.join(tmpDir(), `a${ext}`);
      const w = new WarcWriter({ file, software: 't' });
      const es = entries();
      w.write(es.slice(0, 4));
      w.write(es.slice(4));
      w.close();
      const ours = cdxjLines([file]);
      expect(ours).toHaveLength(es.length);
      expect(ours).toEqual(await warcioLines([file]));
      // Spot checks of the format itself.
      const byUrl = new Map(
        ours.map((l) => [l, JSON.parse(l.slice(l.indexOf('{'))) as Record<string, string>]),
      );
      const first = ours.find((l) => l.startsWith('com,example)/b?a=2&z=1 20260102030405 ')) as string;
      expect(byUrl.get(first)).toMatchObject({
        url: 'https://www.Example.com/b?z=1&a=2',
        mime: 'text/html',
        status: '200',
        filename: `a${ext}`,
      });
      const post = ours.find((l) => l.includes('"method":"POST"') && l.includes('/form')) as string;
      // The body's query is URI-decoded, then re-encoded by the URL parser, as warcio does.
      expect(post.startsWith('com,example)/form?__wb_method=post&b=2&q=hello%20world&x=1 ')).toBe(true);
      expect(ours.filter((l) => l.includes('"mime":"warc/revisit"'))).toHaveLength(2);
      // Offsets and lengths delimit records (gzip members) that parse on their own.
      const data = fs.readFileSync(file);
      for (const l of ours) {
        const j = byUrl.get(l) as Record<string, string>;
        // A plain record's length leaves out the CRLFCRLF that ends it (as warcio counts it).
        const end = Number(j.offset) + Number(j.length) + (ext === '.warc' ? 4 : 0);
        const slice = data.subarray(Number(j.offset), end);
        const text = (ext === '.warc.gz' ? zlib.gunzipSync(slice) : slice).toString('latin1');
        expect(text.startsWith('WARC/1.1\r\n')).toBe(true);
        expect(text.endsWith('\r\n\r\n')).toBe(true);
        expect(text).toContain(`WARC-Target-URI: ${j.url}\r\n`);
      }
    });
  }

  it('indexes several files (a rotation) into one sorted list, each line naming its file', async () => {
    const dir = tmpDir();
    let clock = T0;
    const w = new WarcWriter({ dir, maxSize: 1, software: 't', now: () => clock });
    const es = entries();
    for (let i = 0; i < es.length; i += 3) {
      w.write(es.slice(i, i + 3));
      clock += 1000;
    }
    w.close();
    expect(w.files.length).toBeGreaterThan(3);
    const ours = cdxjLines(w.files);
    expect(ours).toEqual(await warcioLines([...w.files]));
    expect(
      new Set(ours.map((l) => (JSON.parse(l.slice(l.indexOf('{'))) as { filename: string }).filename)),
    ).toEqual(new Set(w.files.map((f) => path.basename(f))));
  });

  it('surt() is warcio.js getSurt', () => {
    for (const url of [
      'https://www.example.com/',
      'http://WWW2.Example.COM:8080/Path/?b=2&a=1&a=0',
      'https://example.com',
      'https://sub.domain.example.co.uk/x?',
      'https://[::1]:8443/ipv6',
      'http://192.168.0.1/a b',
      'https://xn--bcher-kva.example/über?q=ä',
      'ftp://example.com/file',
      'https://example.com/p?__wb_method=post&q=a b&q=%zz',
      'https://user:pw@example.com:443/x#frag',
    ]) {
      expect(surt(url)).toBe(getSurt(url));
    }
  });

  it('readWarc gives each record its offset, length, fields and block; a torn file throws naming it', () => {
    const file = path.join(tmpDir(), 'r.warc.gz');
    const w = new WarcWriter({ file, software: 't' });
    const m = w.write(entries().slice(0, 2));
    w.close();
    const recs = [...readWarc(file)];
    expect(recs.map((r) => warcField(r, 'warc-type'))).toEqual([
      'warcinfo',
      'response',
      'request',
      'response',
      'request',
    ]);
    expect(recs[0]?.offset).toBe(0);
    for (let i = 1; i < recs.length; i++) {
      expect(recs[i]?.offset).toBe((recs[i - 1]?.offset ?? 0) + (recs[i - 1]?.length ?? 0));
      expect(recs[i]?.block.length).toBe(Number(warcField(recs[i] as never, 'Content-Length')));
    }
    const last = recs[recs.length - 1];
    expect((last?.offset ?? 0) + (last?.length ?? 0)).toBe(m.offset);
    fs.truncateSync(file, m.offset - 5);
    expect(() => [...readWarc(file)]).toThrow(`${file} at offset ${last?.offset}`);
    // Only the first `end` bytes.
    expect([...readWarc(file, last?.offset)]).toHaveLength(recs.length - 1);
  });
});
