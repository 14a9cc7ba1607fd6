import net from 'node:net';
import zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Exchange } from '../../src/crawl/exchange.js';
import { type CrawlAgent, createAgent } from '../../src/crawl/fetch/agent.js';
import { type FetchOptions, fetchPage, type HopStore } from '../../src/crawl/fetch/fetch-page.js';
import { replayResponse } from '../../src/crawl/fetch/replay-response.js';

// A raw TCP server answering each request with fixed bytes, so the test knows exactly what was on
// the wire; it also keeps the raw request bytes it received.

let agent: CrawlAgent;
const servers: { server: net.Server; sockets: Set<net.Socket> }[] = [];

beforeAll(() => {
  agent = createAgent({ maxConnections: 4, connectTimeoutMs: 5000 });
});
afterAll(async () => {
  await agent.close();
});
afterEach(async () => {
  for (const { server, sockets } of servers.splice(0)) {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

interface Wire {
  base: string;
  /** Raw request bytes received, one string per request (head + body). */
  requests: string[];
}

/**
 * Serves `answer(path)` (raw response bytes) for each request; requests are read up to the head
 * end plus content-length. An array of buffers is written one by one, 30 ms apart.
 */
async function wireServer(answer: (path: string, method: string) => Buffer | Buffer[]): Promise<Wire> {
  const requests: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end + 4).toString('latin1');
        const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        requests.push(buf.subarray(0, end + 4 + len).toString('latin1'));
        buf = buf.subarray(end + 4 + len);
        const [method, path] = head.split(' ') as [string, string];
        const parts = answer(path, method);
        if (Buffer.isBuffer(parts)) sock.write(parts);
        else for (const [i, p] of parts.entries()) setTimeout(() => sock.write(p), 30 * i);
      }
    });
  });
  servers.push({ server, sockets });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, requests };
}

function opts(extra: Partial<FetchOptions> = {}): FetchOptions {
  return { dispatcher: agent, timeoutMs: 5000, maxBytes: 1_000_000, userAgent: 'trawl-test/1', ...extra };
}

const latin1 = (b: Buffer): string => b.toString('latin1');

describe('fetchPage capture: each hop as on the wire', () => {
  it('keeps the request as sent and the response head and body as received (gzip kept, chunked undone)', async () => {
    const gz = zlib.gzipSync(Buffer.from('<title>zipped</title>'));
    const chunked = `${gz.length.toString(16)}\r\n${latin1(gz)}\r\n0\r\n\r\n`;
    const w = await wireServer((path) => {
      if (path === '/old')
        return Buffer.from(
          'HTTP/1.1 301 Moved Permanently\r\nLocation: /new\r\nContent-Length: 5\r\n\r\nmoved',
          'latin1',
        );
      return Buffer.from(
        `HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Odd-Case: Yes\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}`,
        'latin1',
      );
    });
    const r = await fetchPage(`${w.base}/old`, opts({ capture: true }));
    expect(r.text).toBe('<title>zipped</title>');
    expect(r.hops?.map((h) => [h.exchange.url, h.exchange.status, h.source])).toEqual([
      [`${w.base}/old`, 301, 'network'],
      [`${w.base}/new`, 200, 'network'],
    ]);
    const [first, second] = r.hops!.map((h) => h.exchange) as [Exchange, Exchange];
    // The request heads are byte for byte what the server received.
    expect(latin1(first.requestHead)).toBe(w.requests[0]);
    expect(latin1(second.requestHead)).toBe(w.requests[1]);
    expect(first.ip).toBe('127.0.0.1');
    expect(latin1(first.responseHead)).toBe(
      'HTTP/1.1 301 Moved Permanently\r\nLocation: /new\r\nContent-Length: 5\r\n\r\n',
    );
    expect(latin1(first.responseBody)).toBe('moved');
    expect(latin1(second.responseHead)).toContain('X-Odd-Case: Yes\r\n');
    expect(latin1(second.responseHead)).toContain('Transfer-Encoding: chunked\r\n');
    expect(second.responseBody.equals(gz)).toBe(true);
    expect(second.truncated).toBeUndefined();
    expect(second.date).toBeGreaterThan(0);
  });

  it('keeps a POST body and the content-length undici added', async () => {
    const w = await wireServer(() => Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 'latin1'));
    const r = await fetchPage(`${w.base}/form`, opts({ capture: true, method: 'POST', body: 'a=1&b=ü' }));
    const ex = r.hops![0]!.exchange;
    expect(latin1(ex.requestHead) + latin1(ex.requestBody!)).toBe(w.requests[0]);
    expect(ex.requestBody!.toString('utf8')).toBe('a=1&b=ü');
  });

  it('marks a body dropped part-way as truncated by length', async () => {
    const big = 'x'.repeat(200_000);
    const w = await wireServer(() =>
      Buffer.from(`HTTP/1.1 404 Not Found\r\nContent-Length: ${big.length}\r\n\r\n${big}`, 'latin1'),
    );
    const r = await fetchPage(`${w.base}/gone`, opts({ capture: true }));
    expect(r.status).toBe(404);
    const ex = r.hops![0]!.exchange;
    expect(ex.truncated).toBe('length');
    expect(ex.responseBody.length).toBeLessThan(big.length);
  });

  it("keeps the body when the page's body is moved to a parse thread, however it arrived", async () => {
    const body = (n: number) => 'b'.repeat(n);
    const head = (n: number) => `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${n}\r\n\r\n`;
    const w = await wireServer((path) => {
      const n = Number(path.slice(path.lastIndexOf('/') + 1));
      // /one/N: head and body in one write; /two/N: the body in a write (a read) of its own.
      return path.startsWith('/one/')
        ? Buffer.from(head(n) + body(n), 'latin1')
        : [Buffer.from(head(n), 'latin1'), Buffer.from(body(n), 'latin1')];
    });
    for (const path of ['/one/20000', '/two/20000', '/one/300000', '/two/5']) {
      const n = Number(path.slice(path.lastIndexOf('/') + 1));
      const r = await fetchPage(`${w.base}${path}`, opts({ capture: true }));
      // What ParseThread.parse does with a body that owns its memory: move it (detaching it here).
      const b = r.body;
      if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength)
        structuredClone(b, { transfer: [b.buffer as ArrayBuffer] });
      expect(latin1(r.hops![0]!.exchange.responseBody)).toBe(body(n));
    }
  });

  it('captures nothing without capture', async () => {
    const w = await wireServer(() => Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 'latin1'));
    const r = await fetchPage(`${w.base}/`, opts());
    expect(r.hops).toBeUndefined();
    expect(r.cached).toBeUndefined();
  });
});

/** A HopStore over a Map, answering replay for stored URLs, or a conditional request when `validate`. */
function mapStore(validate: boolean): HopStore & { saved: Exchange[]; entries: Map<string, Exchange> } {
  const entries = new Map<string, Exchange>();
  const saved: Exchange[] = [];
  return {
    entries,
    saved,
    lookup(method, url) {
      const ex = entries.get(`${method} ${url}`);
      if (ex === undefined) return null;
      if (!validate) return { replay: ex };
      return {
        conditional: { 'if-none-match': '"v1"' },
        merge: (notModified) => ({ ...ex, date: notModified.date }),
      };
    },
    save(ex) {
      saved.push(ex);
      entries.set(`GET ${ex.url}`, ex);
    },
  };
}

describe('fetchPage with a HopStore', () => {
  it('saves what it fetched and replays it without a request, redirects included', async () => {
    const w = await wireServer((path) =>
      path === '/a'
        ? Buffer.from('HTTP/1.1 302 Found\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n', 'latin1')
        : Buffer.from(
            'HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 13\r\n\r\n<title>B</title>'.slice(
              0,
              -3,
            ),
            'latin1',
          ),
    );
    const store = mapStore(false);
    const live = await fetchPage(`${w.base}/a`, opts({ hopStore: store }));
    expect(live.cached).toBeUndefined();
    expect(store.saved.map((e) => e.status)).toEqual([302, 200]);
    expect(w.requests).toHaveLength(2);

    const again = await fetchPage(`${w.base}/a`, opts({ hopStore: store, capture: true }));
    expect(w.requests).toHaveLength(2); // no request made
    expect(again.cached).toBe(true);
    expect(again.finalUrl).toBe(`${w.base}/b`);
    expect(again.status).toBe(200);
    expect(again.text).toBe(live.text);
    expect(again.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(again.hops?.map((h) => h.source)).toEqual(['store', 'store']);
  });

  it('revalidates with the conditional headers and uses the stored body on 304', async () => {
    let calls = 0;
    const w = await wireServer(() => {
      calls++;
      return calls === 1
        ? Buffer.from(
            'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nETag: "v1"\r\nContent-Length: 8\r\n\r\noriginal',
            'latin1',
          )
        : Buffer.from('HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n', 'latin1');
    });
    const store = mapStore(true);
    await fetchPage(`${w.base}/p`, opts({ hopStore: store }));
    const r = await fetchPage(`${w.base}/p`, opts({ hopStore: store, capture: true }));
    expect(w.requests[1]).toContain('if-none-match: "v1"\r\n');
    expect(r.status).toBe(200);
    expect(r.text).toBe('original');
    expect(r.cached).toBe(true);
    expect(r.hops?.map((h) => [h.exchange.status, h.source])).toEqual([[304, 'revalidated']]);
  });
});

describe('replayResponse', () => {
  it("gives a stored exchange's header lines as undici does: lower-case names, repeats as arrays, bad lines skipped", async () => {
    const ex: Exchange = {
      url: 'http://127.0.0.1/x',
      date: 0,
      ip: null,
      requestHead: Buffer.from('GET /x HTTP/1.1\r\n\r\n', 'latin1'),
      requestBody: null,
      responseHead: Buffer.from(
        'HTTP/1.1 404 Not Found\r\nA: 1\r\nB:2 \r\nbad line\r\nSet-Cookie: s=1\r\nA: 3\r\n\r\n',
        'latin1',
      ),
      status: 404,
      responseBody: Buffer.from('gone'),
    };
    const r = replayResponse(ex);
    expect(r.statusCode).toBe(404);
    expect(r.headers).toEqual({ a: ['1', '3'], b: '2', 'set-cookie': ['s=1'] });
    const chunks: Buffer[] = [];
    for await (const c of r.body as AsyncIterable<Buffer>) chunks.push(c);
    expect(Buffer.concat(chunks).toString()).toBe('gone');
  });
});
