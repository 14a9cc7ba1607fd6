/**
 * WARC serialization off the main thread (src/crawl/store/warc-thread.ts, warc-worker.ts) and
 * WarcWriter.writeAsync: what the thread produces is read back by an independent reader
 * (warcio.js) and its digests recomputed from the bytes; the writer's guarantees (warcinfo first,
 * rotation, one write at a time, all or nothing on a full disk) hold on the async path; a closed
 * or unused thread never keeps a process alive.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Exchange } from '../../src/crawl/exchange.js';
import { SinkError } from '../../src/crawl/store/sink.js';
import { StorageFullError } from '../../src/crawl/store/storage-full.js';
import { newRecordId, payloadDigest, serializeBatch } from '../../src/crawl/store/warc-record.js';
import { WarcThread } from '../../src/crawl/store/warc-thread.js';
import { type WarcEntry, WarcWriter } from '../../src/crawl/store/warc-writer.js';
import { fullDiskFile } from '../helpers/full-disk.js';
import { runNode } from '../helpers/run-node.js';
import { tmpfsUnavailable, unmountAll } from '../helpers/tmpfs.js';
import { type Parsed, parse, sha1 } from '../helpers/warc-read.js';

const dirs: string[] = [];
const threads: WarcThread[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  unmountAll();
});
afterAll(async () => {
  for (const t of threads) await t.close();
});
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'trawl-warc-thread-'));
  dirs.push(d);
  return d;
}
const tmp = (name: string) => path.join(tmpDir(), name);
function thread(moveBodies: boolean): WarcThread {
  const t = new WarcThread({ moveBodies });
  threads.push(t);
  return t;
}

// ---------------------------------------------------------------------------------------------
// Exchanges as the wire tap records them: heads from strings, the body a Buffer.concat copy.

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
const html = `<!doctype html><html><body>${'<p>some text here</p>\n'.repeat(1000)}</body></html>`;

function exchange(
  o: {
    url?: string;
    body?: Buffer;
    headers?: string;
    reqBody?: Buffer;
    status?: number;
    truncated?: Exchange['truncated'];
  } = {},
): Exchange {
  const url = o.url ?? 'https://example.com/page';
  const u = new URL(url);
  const body = o.body ?? Buffer.concat([Buffer.from(html)]);
  const reqBody = o.reqBody ?? null;
  const ex: Exchange = {
    url,
    date: T0,
    ip: '93.184.215.14',
    requestHead: Buffer.from(
      `${reqBody === null ? 'GET' : 'POST'} ${u.pathname}${u.search} HTTP/1.1\r\nhost: ${u.host}\r\n` +
        `${reqBody === null ? '' : `content-length: ${reqBody.length}\r\n`}\r\n`,
      'latin1',
    ),
    requestBody: reqBody,
    responseHead: Buffer.from(
      `HTTP/1.1 ${o.status ?? 200} OK\r\n${o.headers ?? `Content-Type: text/html\r\nContent-Length: ${body.length}\r\n`}\r\n`,
      'latin1',
    ),
    status: o.status ?? 200,
    responseBody: body,
  };
  if (o.truncated !== undefined) ex.truncated = o.truncated;
  return ex;
}
const exEntry = (exchange: Exchange): WarcEntry => ({ type: 'exchange', exchange, id: newRecordId() });
/** `n` exchange entries of ~22 KB bodies that own their memory (moved by a moving thread). */
const pages = (n: number, from = 0): WarcEntry[] =>
  Array.from({ length: n }, (_, i) => exEntry(exchange({ url: `https://example.com/p/${from + i}` })));

// ---------------------------------------------------------------------------------------------
// Reading back with warcio.js.

const get = (r: Parsed, name: string) => r.warc.get(name);

/** Every record's digests and lengths agree with its bytes, and all name the file's warcinfo. */
function checkDigests(recs: Parsed[]): void {
  expect(recs[0]?.type).toBe('warcinfo');
  const infoId = get(recs[0] as Parsed, 'WARC-Record-ID');
  expect(recs.filter((r) => r.type === 'warcinfo')).toHaveLength(1);
  for (const r of recs) {
    expect(Number(get(r, 'Content-Length'))).toBe(r.block.length);
    expect(get(r, 'WARC-Block-Digest')).toBe(sha1(r.block));
    if (r.type === 'warcinfo') continue;
    expect(get(r, 'WARC-Warcinfo-ID')).toBe(infoId);
    const pd = get(r, 'WARC-Payload-Digest');
    if (r.type !== 'revisit') expect(pd).toBe(sha1(r.payload));
  }
}
/** The file's response record URLs, in order. */
async function responseUrls(file: string): Promise<string[]> {
  return (await parse(file))
    .filter((r) => r.type === 'response')
    .map((r) => get(r, 'WARC-Target-URI') as string);
}

// ---------------------------------------------------------------------------------------------

describe('WARC thread', () => {
  for (const ext of ['.warc.gz', '.warc']) {
    it(`${ext}: writeAsync's records read back with warcio, digests matching, bodies as given`, async () => {
      const file = tmp(`out${ext}`);
      const w = new WarcWriter({ file, software: 'trawl/0.1.0', now: () => T0 });
      const gz = zlib.gzipSync(Buffer.from(html));
      const pool = Buffer.from(html.repeat(3));
      const sliced = pool.subarray(100, 100 + 30_000); // not its own memory: copied, never moved
      const exs = [
        exchange({ url: 'https://example.com/plain' }),
        exchange({
          url: 'https://example.com/gz',
          body: gz,
          headers: `Content-Encoding: gzip\r\nContent-Length: ${gz.length}\r\n`,
        }),
        exchange({ url: 'https://example.com/chunked', headers: 'Transfer-Encoding: chunked\r\n' }),
        exchange({ url: 'https://example.com/small', body: Buffer.from('tiny') }),
        exchange({ url: 'https://example.com/empty', body: Buffer.alloc(0) }),
        exchange({ url: 'https://example.com/slice', body: sliced }),
        exchange({ url: 'https://example.com/post', reqBody: Buffer.from('a=1&b=2'), status: 303 }),
        exchange({ url: 'https://example.com/cut', truncated: 'length' }),
      ];
      const copies = exs.map((e) => Buffer.from(e.responseBody));
      const entries: WarcEntry[] = exs.map(exEntry);
      const prior = { uri: 'https://example.com/old', date: T0 - 86_400_000, recordId: newRecordId() };
      const notModified = exchange({ url: 'https://example.com/old', status: 304, body: Buffer.alloc(0) });
      const same = exchange({ url: 'https://example.com/same' });
      const sameDigest = payloadDigest(same.responseBody);
      entries.push(
        { type: 'revisit', exchange: notModified, profile: 'server-not-modified', refersTo: prior },
        { type: 'revisit', exchange: same, profile: 'identical-payload-digest', refersTo: prior },
      );
      const mark = await w.writeAsync(entries, thread(true));
      w.close();
      expect(mark).toEqual({ path: file, offset: fs.statSync(file).size });
      if (ext === '.warc.gz') expect(fs.readFileSync(file).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));

      const recs = await parse(file);
      expect(recs.map((r) => r.type)).toEqual([
        'warcinfo',
        ...exs.flatMap(() => ['response', 'request']),
        'revisit',
        'request',
        'revisit',
        'request',
      ]);
      checkDigests(recs);
      exs.forEach((ex, i) => {
        const resp = recs[1 + 2 * i] as Parsed;
        const req = recs[2 + 2 * i] as Parsed;
        expect(get(resp, 'WARC-Target-URI')).toBe(ex.url);
        expect(get(resp, 'WARC-Record-ID')).toBe(entries[i]?.id);
        expect(get(resp, 'WARC-Concurrent-To')).toBe(get(req, 'WARC-Record-ID'));
        expect(resp.payload).toEqual(copies[i]);
        expect(get(resp, 'WARC-Payload-Digest')).toBe(payloadDigest(copies[i] as Buffer));
        expect(req.block).toEqual(Buffer.concat([ex.requestHead, ex.requestBody ?? Buffer.alloc(0)]));
      });
      expect(get(recs[15] as Parsed, 'WARC-Truncated')).toBe('length');
      const [nm, idp] = [recs[17] as Parsed, recs[19] as Parsed];
      expect(get(nm, 'WARC-Profile')).toBe('http://netpreserve.org/warc/1.1/revisit/server-not-modified');
      expect(get(nm, 'WARC-Refers-To')).toBe(prior.recordId);
      expect(get(nm, 'WARC-Payload-Digest')).toBeNull();
      expect(get(idp, 'WARC-Payload-Digest')).toBe(sameDigest);
      // Moved: big bodies that owned their memory. Kept: small ones and a slice of a bigger buffer.
      expect(exs[0]?.responseBody.length).toBe(0);
      expect(exs[1]?.responseBody).toEqual(gz);
      expect(exs[3]?.responseBody.toString()).toBe('tiny');
      expect(sliced.equals(pool.subarray(100, 100 + 30_000))).toBe(true);
      // Heads are copied, never moved.
      expect(exs[0]?.responseHead.toString('latin1')).toMatch(/^HTTP\/1.1 200 OK/);
    });
  }

  it('the thread gives the bytes serializeBatch gives (same records, same ids)', async () => {
    const t = thread(false);
    const es = pages(5);
    const batch = { head: null, entries: es, warcinfoId: newRecordId(), gzip: false };
    const a = serializeBatch(batch);
    const b = await t.serialize(batch);
    // Request records get fresh ids on each call; everything else is identical.
    const known = new Set([batch.warcinfoId, ...es.map((e) => e.id)]);
    const norm = (buf: Buffer) =>
      buf.toString('latin1').replace(/<urn:uuid:[0-9a-f-]{36}>/g, (id) => (known.has(id) ? id : '<req>'));
    expect(norm(b)).toBe(norm(a));
    expect(b.length).toBe(a.length);
    // Not moved: the caller's bodies are intact.
    for (const e of es) expect(e.exchange.responseBody.toString()).toBe(html);
  });

  it('several batches: one warcinfo first, every record naming it; the mark is the file size each time', async () => {
    const file = tmp('m.warc.gz');
    const w = new WarcWriter({ file, software: 't' });
    const t = thread(true);
    for (let b = 0; b < 3; b++) {
      const m = await w.writeAsync(pages(8, b * 8), t);
      expect(m).toEqual({ path: file, offset: fs.statSync(file).size });
    }
    w.write(pages(2, 24)); // the sync path continues the same file
    w.close();
    const recs = await parse(file);
    checkDigests(recs);
    expect(await responseUrls(file)).toEqual(
      Array.from({ length: 26 }, (_, i) => `https://example.com/p/${i}`),
    );
  });

  it('dir mode rotates between batches; each file starts with its own warcinfo', async () => {
    const dir = tmpDir();
    let clock = Date.UTC(2026, 0, 1);
    const w = new WarcWriter({ dir, software: 't', maxSize: 1, now: () => (clock += 1000) });
    const t = thread(true);
    const marks = [];
    for (let b = 0; b < 3; b++) marks.push(await w.writeAsync(pages(6, b * 6), t));
    w.close();
    expect(new Set(marks.map((m) => m.path)).size).toBe(3);
    expect(w.files).toEqual(marks.map((m) => m.path));
    for (const [b, m] of marks.entries()) {
      expect(fs.statSync(m.path).size).toBe(m.offset);
      const recs = await parse(m.path);
      checkDigests(recs);
      expect(recs.filter((r) => r.type === 'response').map((r) => get(r, 'WARC-Target-URI'))).toEqual(
        Array.from({ length: 6 }, (_, i) => `https://example.com/p/${b * 6 + i}`),
      );
    }
  });

  it('one write at a time: another write while one is pending throws at once, nothing written', async () => {
    const file = tmp('o.warc.gz');
    const w = new WarcWriter({ file, software: 't' });
    const t = thread(false);
    const first = w.writeAsync(pages(8), t);
    expect(() => w.writeAsync(pages(8, 8), t)).toThrow(SinkError);
    expect(() => w.writeAsync(pages(8, 8), t)).toThrow('a write is still pending');
    expect(() => w.write(pages(1, 8))).toThrow(SinkError);
    const m = await first;
    expect(fs.statSync(file).size).toBe(m.offset);
    await w.writeAsync(pages(8, 8), t); // free again
    w.close();
    expect(() => w.writeAsync(pages(8), t)).toThrow('is closed');
    expect((await responseUrls(file)).length).toBe(16);
  });

  it('a bad field rejects with a RangeError from the thread, nothing written, the writer still usable', async () => {
    const file = tmp('r.warc.gz');
    const w = new WarcWriter({ file, software: 't' });
    const t = thread(true);
    const m0 = await w.writeAsync(pages(8), t);
    const bad = pages(8, 8);
    (bad[3] as WarcEntry).exchange.url = 'https://example.com/x\r\nWARC-Type: forged';
    await expect(w.writeAsync(bad, t)).rejects.toThrow(RangeError);
    expect(w.mark()).toEqual(m0);
    expect(fs.statSync(file).size).toBe(m0.offset);
    await w.writeAsync(pages(8, 16), t);
    w.close();
    checkDigests(await parse(file));
  });

  it('a closed writer rejects a batch that was being serialized, the file unchanged', async () => {
    const file = tmp('c.warc.gz');
    const w = new WarcWriter({ file, software: 't' });
    const pending = w.writeAsync(pages(8), thread(true));
    w.close();
    await expect(pending).rejects.toThrow(SinkError);
    expect(fs.statSync(file).size).toBe(0);
  });

  it('a closed thread rejects pending and later jobs; closing an unused one is a no-op', async () => {
    const t = new WarcThread();
    const batch = { head: null, entries: pages(8), warcinfoId: newRecordId(), gzip: true };
    const pending = t.serialize(batch);
    await t.close();
    await expect(pending).rejects.toThrow('WARC thread closed');
    await expect(t.serialize(batch)).rejects.toThrow('WARC thread closed');
    await t.close();
    await new WarcThread().close();
  });

  it('the thread never keeps a process alive: closed, or idle and not closed', async () => {
    const prelude = [
      `import { WarcThread } from ${JSON.stringify(path.resolve('src/crawl/store/warc-thread.ts'))};`,
      `import { serializeBatch } from ${JSON.stringify(path.resolve('src/crawl/store/warc-record.ts'))};`,
    ].join('\n');
    const job = `const ex = { url: 'https://e.com/', date: 0, ip: null, requestHead: Buffer.from('GET / HTTP/1.1\\r\\n\\r\\n'), requestBody: null, responseHead: Buffer.from('HTTP/1.1 200 OK\\r\\n\\r\\n'), status: 200, responseBody: Buffer.alloc(50000, 97) };
      const batch = { head: null, entries: [{ type: 'exchange', exchange: ex }], warcinfoId: '<urn:x>', gzip: false };
      const t = new WarcThread({ moveBodies: true });
      const out = await t.serialize(batch);
      console.log(out.length === serializeBatch({ ...batch, entries: [{ type: 'exchange', exchange: { ...ex, responseBody: Buffer.alloc(50000, 97) } }] }).length ? 'same' : 'differs');`;
    const closed = await runNode(prelude, `${job}\nawait t.close();\nconsole.log('closed');`);
    expect(closed).toEqual({ out: ['same', 'closed'], code: 0 });
    const idle = await runNode(prelude, job);
    expect(idle).toEqual({ out: ['same'], code: 0 });
  }, 30_000);
});

const noTmpfs = tmpfsUnavailable();

describe.skipIf(noTmpfs !== null)(
  `WARC thread on a full disk${noTmpfs ? ` (skipped: ${noTmpfs})` : ''}`,
  () => {
    // Incompressible bodies, so a batch of 10 takes ~30 KiB however it is compressed.
    const batch = (from: number): WarcEntry[] =>
      Array.from({ length: 10 }, (_, k) =>
        exEntry(
          exchange({
            url: `https://example.com/b/${from + k}`,
            body: Buffer.from(randomBytes(3000).toString('base64')),
          }),
        ),
      );

    for (const ext of ['.warc.gz', '.warc']) {
      it(`${ext}: a full disk rejects with StorageFullError, the file left at the mark; the batch can be written again`, async () => {
        const { file, disk } = fullDiskFile(`out${ext}`, 100 * 1024);
        const w = new WarcWriter({ file, software: 't' });
        const t = thread(false); // copies, so the refused batch is still whole
        const taken: WarcEntry[] = [];
        let refused: WarcEntry[] | null = null;
        let err: unknown = null;
        for (let i = 0; refused === null && i < 1000; i += 10) {
          const b = batch(i);
          try {
            await w.writeAsync(b, t);
            taken.push(...b);
          } catch (e) {
            refused = b;
            err = e;
          }
        }
        expect(err).toBeInstanceOf(StorageFullError);
        expect((err as StorageFullError).path).toBe(file);
        expect(fs.statSync(file).size).toBe(w.mark().offset);
        const urls = (es: WarcEntry[]) => es.map((e) => e.exchange.url);
        expect(await responseUrls(file)).toEqual(urls(taken));
        disk.resize(1024 * 1024);
        const m = await w.writeAsync(refused as WarcEntry[], t);
        w.close();
        expect(fs.statSync(file).size).toBe(m.offset);
        expect(await responseUrls(file)).toEqual(urls([...taken, ...(refused as WarcEntry[])]));
        checkDigests(await parse(file));
      });
    }
  },
);
