import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type CrawlAgent, createAgent } from '../../src/crawl/fetch/agent.js';
import { FetchError } from '../../src/crawl/fetch/errors.js';
import { type FetchOptions, fetchPage } from '../../src/crawl/fetch/fetch-page.js';
import { testCert } from '../helpers/tls-cert.js';

// ---------------------------------------------------------------------------------------------
// Helpers: every server listens on 127.0.0.1:0 and is closed by the test that made it.

type Closer = () => Promise<void>;
const closers: Closer[] = [];
let agent: CrawlAgent;

function address(server: net.Server): number {
  return (server.address() as net.AddressInfo).port;
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return address(server);
}

/** An HTTP server; returns its base URL (no trailing slash). */
async function httpServer(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  return `http://127.0.0.1:${await listen(server)}`;
}

/** A raw TCP server whose handler gets each connection; returns its base URL. */
async function rawServer(onConn: (s: net.Socket) => void): Promise<string> {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    onConn(s);
  });
  return `http://127.0.0.1:${await listen(server)}`;
}

function opts(extra: Partial<FetchOptions> = {}): FetchOptions {
  return { dispatcher: agent, timeoutMs: 5000, maxBytes: 1_000_000, userAgent: 'trawl-test/1', ...extra };
}

/** Runs fetchPage and returns the FetchError it must throw. */
async function fetchError(url: string, o: FetchOptions = opts()): Promise<FetchError> {
  try {
    const r = await fetchPage(url, o);
    throw new Error(`expected a FetchError, got status ${r.status}`);
  } catch (err) {
    if (!(err instanceof FetchError)) throw err;
    return err;
  }
}

/** Bytes of a Cyrillic string in windows-1251 (А..я map to 0xC0..0xFF; ASCII as is). */
function cp1251(s: string): Buffer {
  return Buffer.from(
    [...s].map((c) => {
      const code = c.charCodeAt(0);
      if (code < 0x80) return code;
      if (code >= 0x410 && code <= 0x44f) return code - 0x410 + 0xc0;
      throw new Error(`not in test table: ${c}`);
    }),
  );
}

beforeAll(() => {
  agent = createAgent({ maxConnections: 8, connectTimeoutMs: 2000 });
});

afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

afterAll(async () => {
  await agent.destroy();
});

// ---------------------------------------------------------------------------------------------

describe('fetchPage: content and charsets', () => {
  it('returns a 200 HTML page decoded with the Content-Type charset', async () => {
    const base = await httpServer((req, res) => {
      expect(req.headers['user-agent']).toBe('trawl-test/1');
      expect(req.headers['accept-encoding']).toBe('gzip, deflate, br');
      res.setHeader('content-type', 'text/html; charset=ISO-8859-1');
      res.end(Buffer.from('<title>caf\xe9</title>', 'latin1'));
    });
    const r = await fetchPage(`${base}/page`, opts());
    expect(r.status).toBe(200);
    expect(r.url).toBe(`${base}/page`);
    expect(r.finalUrl).toBe(`${base}/page`);
    expect(r.redirects).toEqual([]);
    expect(r.mime).toBe('text/html');
    expect(r.contentType).toBe('text/html; charset=ISO-8859-1');
    expect(r.charset).toBe('windows-1252');
    expect(r.text).toBe('<title>café</title>');
    expect(r.bytes).toBe(19);
    expect(r.body.length).toBe(19);
    expect(r.discarded).toBe(false);
    expect(r.retryAfterMs).toBeNull();
  });

  it('decodes a windows-1251 page declared only by <meta charset>', async () => {
    const html = Buffer.concat([
      Buffer.from('<!-- <meta charset="utf-8"> --><html><head><meta charset="windows-1251"><title>'),
      cp1251('Привет, мир'),
      Buffer.from('</title></head></html>'),
    ]);
    const base = await httpServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(html);
    });
    const r = await fetchPage(`${base}/`, opts());
    expect(r.charset).toBe('windows-1251');
    expect(r.text).toContain('<title>Привет, мир</title>');
  });

  it('decodes a page declared by <meta http-equiv content-type>', async () => {
    const html = Buffer.concat([
      Buffer.from('<meta http-equiv="Content-Type" content="text/html; charset=cp1251"><p>'),
      cp1251('Да'),
    ]);
    const base = await httpServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(html);
    });
    const r = await fetchPage(`${base}/`, opts());
    expect(r.charset).toBe('windows-1251');
    expect(r.text).toContain('<p>Да');
  });

  it('replaces invalid UTF-8 with U+FFFD instead of throwing', async () => {
    const base = await httpServer((_req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(Buffer.from([0x3c, 0x70, 0x3e, 0xff, 0xfe, 0x41, 0xc3]));
    });
    const r = await fetchPage(`${base}/`, opts());
    expect(r.text).toBe('<p>\ufffd\ufffdA\ufffd');
  });

  it('leaves text null for a binary type, and sniffs HTML when Content-Type is missing', async () => {
    const base = await httpServer((req, res) => {
      if (req.url === '/img') {
        res.setHeader('content-type', 'image/png');
        res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
        return;
      }
      res.removeHeader('content-type');
      res.end('  <!DOCTYPE html><title>x</title>');
    });
    const img = await fetchPage(`${base}/img`, opts());
    expect(img.text).toBeNull();
    expect(img.mime).toBe('image/png');
    expect(img.bytes).toBe(4);
    const sniffed = await fetchPage(`${base}/`, opts());
    expect(sniffed.contentType).toBeNull();
    expect(sniffed.mime).toBe('text/html');
    expect(sniffed.text).toBe('  <!DOCTYPE html><title>x</title>');
  });

  it('discards bodies of types outside acceptTypes', async () => {
    const base = await httpServer((_req, res) => {
      res.setHeader('content-type', 'application/pdf');
      res.end(Buffer.alloc(5000, 1));
    });
    const r = await fetchPage(`${base}/`, opts({ acceptTypes: ['text/*', 'application/xhtml+xml'] }));
    expect(r.discarded).toBe(true);
    expect(r.bytes).toBe(0);
    expect(r.text).toBeNull();
    const all = await fetchPage(`${base}/`, opts({ acceptTypes: ['application/*'] }));
    expect(all.bytes).toBe(5000);
  });
});

describe('fetchPage: compression and size cap', () => {
  const page = '<html><body>'.concat('compressed ünïcödé text. '.repeat(200), '</body></html>');
  const encoders: Record<string, (b: Buffer) => Buffer> = {
    gzip: (b) => zlib.gzipSync(b),
    'x-gzip': (b) => zlib.gzipSync(b),
    deflate: (b) => zlib.deflateSync(b),
    'deflate-raw': (b) => zlib.deflateRawSync(b),
    br: (b) => zlib.brotliCompressSync(b),
  };
  for (const [name, enc] of Object.entries(encoders)) {
    it(`decodes a ${name} body and counts bytes after decompression`, async () => {
      const compressed = enc(Buffer.from(page));
      const base = await httpServer((_req, res) => {
        res.setHeader('content-type', 'text/html; charset=utf-8');
        res.setHeader('content-encoding', name === 'deflate-raw' ? 'deflate' : name);
        res.end(compressed);
      });
      const r = await fetchPage(`${base}/`, opts());
      expect(r.text).toBe(page);
      expect(r.bytes).toBe(Buffer.byteLength(page));
      expect(r.bytes).toBeGreaterThan(compressed.length);
    });
  }

  it('stops a gzip bomb at maxBytes with bounded memory', async () => {
    // ~1 GB of zeros as 100 concatenated gzip members of 10 MB each (~1 MB on the wire).
    const member = zlib.gzipSync(Buffer.alloc(10_000_000), { level: 9 });
    let served = 0;
    const base = await httpServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.setHeader('content-encoding', 'gzip');
      res.on('error', () => {});
      let i = 0;
      const pump = (): void => {
        while (i < 100) {
          i++;
          served += member.length;
          if (!res.write(member)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    global.gc?.();
    const before = process.memoryUsage().rss;
    const err = await fetchError(`${base}/bomb`, opts({ maxBytes: 2_000_000 }));
    const grown = process.memoryUsage().rss - before;
    expect(err.kind).toBe('too-large');
    expect(err.message).toBe('too-large: body exceeds 2000000 bytes after decompression');
    // Inflating the bomb fully would need ~1 GB; the cap keeps growth to a few MB of buffers.
    expect(grown).toBeLessThan(150_000_000);
    expect(served).toBeGreaterThan(0);
  });

  it('reports a truncated gzip body as decode', async () => {
    const gz = zlib.gzipSync(Buffer.from(page));
    const cut = gz.subarray(0, gz.length - 12);
    const base = await httpServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.setHeader('content-encoding', 'gzip');
      res.setHeader('content-length', cut.length);
      res.end(cut);
    });
    const err = await fetchError(`${base}/`);
    expect(err.kind).toBe('decode');
    expect(err.code).toBe('Z_BUF_ERROR');
  });

  it('reports garbage labelled gzip, and an unsupported coding, as decode', async () => {
    const base = await httpServer((req, res) => {
      res.setHeader('content-type', 'text/html');
      res.setHeader('content-encoding', req.url === '/zstd' ? 'zstd' : 'gzip');
      res.end('this is not gzip data at all');
    });
    expect((await fetchError(`${base}/gz`)).kind).toBe('decode');
    const z = await fetchError(`${base}/zstd`);
    expect(z.kind).toBe('decode');
    expect(z.message).toContain("unsupported Content-Encoding 'zstd'");
  });

  it('accepts a body of exactly maxBytes and refuses one byte more (plain, chunked, gzip)', async () => {
    const body = Buffer.alloc(1000, 0x61);
    const base = await httpServer((req, res) => {
      res.setHeader('content-type', 'text/plain');
      if (req.url === '/gzip') {
        res.setHeader('content-encoding', 'gzip');
        res.end(zlib.gzipSync(body));
      } else if (req.url === '/chunked') {
        res.write(body.subarray(0, 400));
        res.end(body.subarray(400));
      } else {
        res.end(body);
      }
    });
    for (const path of ['/plain', '/chunked', '/gzip']) {
      const ok = await fetchPage(`${base}${path}`, opts({ maxBytes: 1000 }));
      expect(ok.bytes).toBe(1000);
      const err = await fetchError(`${base}${path}`, opts({ maxBytes: 999 }));
      expect(err.kind).toBe('too-large');
    }
  });
});

describe('fetchPage: timeouts and aborts', () => {
  it('times out a server that trickles one byte every 200 ms (deadline covers the body)', async () => {
    const timers: NodeJS.Timeout[] = [];
    const base = await httpServer((_req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.flushHeaders();
      const t = setInterval(() => res.write('x'), 200);
      timers.push(t);
      res.on('close', () => clearInterval(t));
    });
    const started = Date.now();
    const err = await fetchError(`${base}/`, opts({ timeoutMs: 1000 }));
    for (const t of timers) clearInterval(t);
    expect(err.kind).toBe('timeout');
    expect(err.message).toBe('timeout: response not complete within 1000 ms');
    // Hang guard only: the deadline fired, we did not wait for the body to end (it never does).
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('times out a server that accepts and never answers', async () => {
    const base = await rawServer(() => {});
    const err = await fetchError(`${base}/`, opts({ timeoutMs: 500 }));
    expect(err.kind).toBe('timeout');
    expect(err.message).toBe('timeout: no response within 500 ms');
  });

  it("rejects with 'aborted' and the signal's reason when the caller aborts", async () => {
    const base = await httpServer((_req, res) => {
      res.flushHeaders();
      res.write('partial');
    });
    const ac = new AbortController();
    const reason = new Error('shutting down');
    const p = fetchError(`${base}/`, opts({ signal: ac.signal }));
    setTimeout(() => ac.abort(reason), 50);
    const err = await p;
    expect(err.kind).toBe('aborted');
    expect(err.cause).toBe(reason);
    const pre = await fetchError(`${base}/`, opts({ signal: AbortSignal.abort(reason) }));
    expect(pre.kind).toBe('aborted');
    expect(pre.cause).toBe(reason);
  });

  it('leaves no timer and no socket behind', async () => {
    const own = createAgent({ maxConnections: 4, connectTimeoutMs: 1000 });
    const slowSockets: net.Socket[] = [];
    const base = await httpServer((req, res) => {
      if (req.url === '/slow') {
        slowSockets.push(req.socket);
        res.flushHeaders();
        return; // never finishes
      }
      res.end('ok');
    });
    // Watch the deadline timers fetchPage creates (recognised by their odd delays) and which
    // of them get cleared.
    const deadlines = new Set<unknown>();
    const cleared = new Set<unknown>();
    const realSet = globalThis.setTimeout;
    const realClear = globalThis.clearTimeout;
    const watchedDelays = new Set([60_017, 217]);
    const setSpy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      const t = realSet(fn, ms);
      if (ms !== undefined && watchedDelays.has(ms)) deadlines.add(t);
      return t;
    }) as typeof setTimeout);
    const clearSpy = vi.spyOn(globalThis, 'clearTimeout').mockImplementation(((t?: NodeJS.Timeout) => {
      cleared.add(t);
      realClear(t);
    }) as typeof clearTimeout);
    try {
      const o = { dispatcher: own, timeoutMs: 60_017, maxBytes: 1000, userAgent: 'x' };
      await fetchPage(`${base}/ok`, o);
      expect((await fetchError(`${base}/slow`, { ...o, timeoutMs: 217 })).kind).toBe('timeout');
      expect((await fetchError(`${base}/ok`, { ...o, maxBytes: 1 })).kind).toBe('too-large');
      const ac = new AbortController();
      realSet(() => ac.abort(), 30);
      expect((await fetchError(`${base}/slow`, { ...o, signal: ac.signal })).kind).toBe('aborted');
    } finally {
      setSpy.mockRestore();
      clearSpy.mockRestore();
    }
    expect(deadlines.size).toBe(4);
    for (const t of deadlines) expect(cleared.has(t)).toBe(true);
    // The timed-out and aborted requests destroyed their sockets: the server sees them close.
    expect(slowSockets).toHaveLength(2);
    const allClosed = Promise.all(
      slowSockets.map((sock) =>
        sock.destroyed ? null : new Promise((resolve) => sock.once('close', resolve)),
      ),
    );
    let guard: NodeJS.Timeout | undefined;
    const bound = new Promise((_, reject) => {
      guard = realSet(() => reject(new Error('sockets of failed requests were not closed')), 5000);
    });
    await Promise.race([allClosed, bound]).finally(() => realClear(guard));
    await own.close();
    expect(own.connections.open).toBe(0);
  });
});

describe('fetchPage: network failures', () => {
  it('classifies a refused connection', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = address(server);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const err = await fetchError(`http://127.0.0.1:${port}/`);
    expect(err.kind).toBe('refused');
    expect(err.code).toBe('ECONNREFUSED');
  });

  it('classifies a connection reset mid-body', async () => {
    const base = await httpServer((_req, res) => {
      res.setHeader('content-length', '10000');
      res.write('x'.repeat(100), () => setTimeout(() => res.socket?.destroy(), 20));
    });
    const err = await fetchError(`${base}/`);
    expect(['reset', 'network']).toContain(err.kind);
  });

  it('fails a body shorter than its Content-Length and cuts one that is longer', async () => {
    const short = await rawServer((s) => {
      s.once('data', () =>
        s.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nonly ten b'),
      );
    });
    const err = await fetchError(`${short}/`);
    expect(['reset', 'network']).toContain(err.kind);

    const long = await rawServer((s) => {
      s.once('data', () =>
        s.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello, and more'),
      );
    });
    const r = await fetchPage(`${long}/`, opts());
    expect(r.text).toBe('hello');
  });

  it('classifies oversized response headers as network', async () => {
    const base = await rawServer((s) => {
      s.once('data', () =>
        s.end(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70_000)}\r\nContent-Length: 0\r\n\r\n`),
      );
    });
    const err = await fetchError(`${base}/`);
    expect(err.kind).toBe('network');
    expect(err.message).toContain('response headers too large');
  });

  it('classifies a malformed HTTP response as network', async () => {
    const base = await rawServer((s) => {
      s.once('data', () => s.end('GARBAGE \x01\x02 not http\r\n\r\n'));
    });
    const err = await fetchError(`${base}/`);
    expect(err.kind).toBe('network');
    expect(err.message).toContain('malformed HTTP response');
  });

  it('classifies an unresolvable host as dns', async () => {
    const err = await fetchError('http://nonexistent.invalid/');
    expect(err.kind).toBe('dns');
    expect(['ENOTFOUND', 'EAI_AGAIN']).toContain(err.code);
  });

  it('rejects nonsensical options with a RangeError', async () => {
    await expect(fetchPage('http://127.0.0.1/', opts({ timeoutMs: 0 }))).rejects.toBeInstanceOf(RangeError);
    await expect(fetchPage('http://127.0.0.1/', opts({ maxBytes: -1 }))).rejects.toBeInstanceOf(RangeError);
  });

  it('refuses invalid URLs and non-HTTP schemes as bad-url', async () => {
    expect((await fetchError('not a url')).kind).toBe('bad-url');
    const ftp = await fetchError('ftp://example.com/file');
    expect(ftp.kind).toBe('bad-url');
    expect(ftp.message).toContain("unsupported scheme 'ftp:'");
  });

  describe('TLS', () => {
    let key: Buffer | null = null;
    let cert: Buffer | null = null;
    beforeAll(() => {
      try {
        ({ key, cert } = testCert());
      } catch {
        console.warn('openssl is not available: skipping the TLS tests');
      }
    });

    it('classifies a self-signed certificate as tls, and succeeds when the cert is trusted', async (ctx) => {
      if (key === null || cert === null) ctx.skip();
      const server = https.createServer({ key: key!, cert: cert! }, (_req, res) => res.end('secure'));
      server.on('tlsClientError', () => {});
      const port = await listen(server);
      const err = await fetchError(`https://127.0.0.1:${port}/`);
      expect(err.kind).toBe('tls');
      expect(err.code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
      const trusting = createAgent({ maxConnections: 1, connectTimeoutMs: 2000, connect: { ca: cert! } });
      try {
        const r = await fetchPage(`https://127.0.0.1:${port}/`, opts({ dispatcher: trusting }));
        expect(r.body.toString()).toBe('secure');
      } finally {
        await trusting.destroy();
      }
    });
  });
});

describe('fetchPage: redirects', () => {
  /** /hop/N redirects to /hop/N-1 (relative Location), /hop/0 answers 200. */
  async function chainServer(): Promise<string> {
    return httpServer((req, res) => {
      const m = /^\/hop\/(\d+)$/.exec(req.url ?? '');
      if (m) {
        const n = Number(m[1]);
        if (n === 0) {
          res.setHeader('content-type', 'text/plain');
          res.end('landed');
          return;
        }
        res.statusCode = [301, 302, 303, 307, 308][n % 5]!;
        res.setHeader('location', `/hop/${n - 1}`);
        res.end('moving on');
        return;
      }
      if (req.url === '/loop/a' || req.url === '/loop/b') {
        res.statusCode = 302;
        res.setHeader('location', req.url === '/loop/a' ? 'b' : '/loop/a#frag');
        res.end();
        return;
      }
      if (req.url === '/no-location') {
        res.statusCode = 301;
        res.end('nowhere');
        return;
      }
      if (req.url === '/to-ftp') {
        res.statusCode = 302;
        res.setHeader('location', 'ftp://example.com/');
        res.end();
        return;
      }
      res.statusCode = 404;
      res.end('missing');
    });
  }

  it('follows a chain and lists every hop', async () => {
    const base = await chainServer();
    const r = await fetchPage(`${base}/hop/3`, opts());
    expect(r.status).toBe(200);
    expect(r.text).toBe('landed');
    expect(r.redirects).toEqual([`${base}/hop/2`, `${base}/hop/1`, `${base}/hop/0`]);
    expect(r.finalUrl).toBe(`${base}/hop/0`);
    expect(r.url).toBe(`${base}/hop/3`);
  });

  it('follows exactly maxRedirects hops and refuses one more', async () => {
    const base = await chainServer();
    const ten = await fetchPage(`${base}/hop/10`, opts());
    expect(ten.redirects).toHaveLength(10);
    const err = await fetchError(`${base}/hop/11`);
    expect(err.kind).toBe('too-many-redirects');
    expect(err.url).toBe(`${base}/hop/0`);
    const none = await fetchError(`${base}/hop/1`, opts({ maxRedirects: 0 }));
    expect(none.kind).toBe('too-many-redirects');
  });

  it('detects a loop (fragment ignored)', async () => {
    const base = await chainServer();
    const err = await fetchError(`${base}/loop/a`);
    expect(err.kind).toBe('redirect-loop');
    expect(err.url).toBe(`${base}/loop/a`);
  });

  it('asks checkRedirect before each hop and stops when it refuses', async () => {
    const base = await chainServer();
    const asked: string[] = [];
    const err = await fetchError(
      `${base}/hop/4`,
      opts({
        checkRedirect: (u) => {
          asked.push(u);
          return u.endsWith('/hop/1') ? 'out of scope' : null;
        },
      }),
    );
    expect(asked).toEqual([`${base}/hop/3`, `${base}/hop/2`, `${base}/hop/1`]);
    expect(err.kind).toBe('redirect-blocked');
    expect(err.url).toBe(`${base}/hop/1`);
    expect(err.message).toBe(`redirect-blocked: redirect to ${base}/hop/1 refused: out of scope`);
  });

  it('uses normalize to resolve Location, and refuses unusable targets', async () => {
    const base = await chainServer();
    const seen: [string, string][] = [];
    const r = await fetchPage(
      `${base}/hop/1`,
      opts({
        normalize: (u, b) => {
          seen.push([u, b]);
          return new URL(u, b).href;
        },
      }),
    );
    expect(seen).toEqual([['/hop/0', `${base}/hop/1`]]);
    expect(r.finalUrl).toBe(`${base}/hop/0`);
    expect((await fetchError(`${base}/hop/1`, opts({ normalize: () => null }))).kind).toBe('bad-url');
    expect((await fetchError(`${base}/to-ftp`)).kind).toBe('bad-url');
  });

  it('returns a redirect status without Location as the final response', async () => {
    const base = await chainServer();
    const r = await fetchPage(`${base}/no-location`, opts());
    expect(r.status).toBe(301);
    expect(r.redirects).toEqual([]);
  });
});

describe('fetchPage: non-2xx responses and connection cap', () => {
  it('returns error statuses with Retry-After, discarding the body unless asked', async () => {
    const base = await httpServer((req, res) => {
      res.statusCode = req.url === '/busy' ? 503 : 404;
      if (req.url === '/busy') res.setHeader('retry-after', '7');
      res.setHeader('content-type', 'text/html');
      res.end('<h1>error page</h1>');
    });
    const busy = await fetchPage(`${base}/busy`, opts());
    expect(busy.status).toBe(503);
    expect(busy.retryAfterMs).toBe(7000);
    expect(busy.discarded).toBe(true);
    expect(busy.bytes).toBe(0);
    expect(busy.text).toBeNull();
    const missing = await fetchPage(`${base}/missing`, opts({ readErrorBodies: true }));
    expect(missing.status).toBe(404);
    expect(missing.text).toBe('<h1>error page</h1>');
    expect(missing.discarded).toBe(false);
  });

  it('never opens more than maxConnections sockets to an origin', async () => {
    const capped = createAgent({ maxConnections: 2, connectTimeoutMs: 1000 });
    let open = 0;
    let serverPeak = 0;
    const server = http.createServer((_req, res) => setTimeout(() => res.end('x'), 20));
    server.on('connection', (s: net.Socket) => {
      open++;
      serverPeak = Math.max(serverPeak, open);
      s.on('close', () => open--);
    });
    const port = await listen(server);
    const o = { dispatcher: capped, timeoutMs: 10_000, maxBytes: 100, userAgent: 'x' };
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => fetchPage(`http://127.0.0.1:${port}/${i}`, o)),
    );
    expect(results.every((r) => r.body.toString() === 'x')).toBe(true);
    expect(serverPeak).toBe(2);
    expect(capped.connections.peak).toBe(2);
    expect(capped.connections.total).toBe(2);
    await capped.close();
    expect(capped.connections.open).toBe(0);
  });
});
