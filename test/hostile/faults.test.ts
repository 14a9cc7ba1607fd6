/**
 * Fault survival: ONE crawl whose seeds include a URL for every network fault and hostile page
 * (raw servers on 127.0.0.1 plus the test site's /fault/ endpoints) next to ordinary test-site
 * pages. Each fault must become that page's recorded error of the right kind, every ordinary page
 * must be stored, the crawl must end by itself, and memory must stay bounded. Nothing here asserts
 * on wall-clock speed: the per-request timeout is what a hung server runs into.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import {
  type AddressInfo,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Crawl } from '../../src/crawl/crawler.js';
import { createAgent } from '../../src/crawl/fetch/agent.js';
import { decodeText } from '../../src/crawl/fetch/decode.js';
import { fetchPage } from '../../src/crawl/fetch/fetch-page.js';
import type { PageRecord } from '../../src/crawl/record.js';
import { normalizeUrl } from '../../src/crawl/url/normalize.js';
import { FAULT_TEXT } from '../../src/testsite/faults.js';
import { startTestSite, type TestSite } from '../../src/testsite/server.js';

type Closable = HttpServer | NetServer;
const servers: Closable[] = [];
const sockets = new Set<Socket>();
let dir = '';

async function listen<T extends Closable>(server: T): Promise<{ server: T; port: number }> {
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { server, port: (server.address() as AddressInfo).port };
}

/** A raw TCP server that answers every connection with `respond`. */
function raw(respond: (s: Socket) => void): Promise<{ port: number }> {
  return listen(createNetServer((s) => respond(s)));
}

/** An HTML page with the given body. */
function html(title: string, body: string): string {
  return `<!doctype html><html><head><title>${title}</title></head><body>${body}</body></html>`;
}

let site: TestSite;
const seeds: Record<string, string> = {};
const normal: string[] = [];

beforeAll(async () => {
  site = await startTestSite({ pages: 30 });
  for (let id = 0; id < 30; id++) normal.push(site.pageUrl(id));

  // Connection refused: a port that was just free.
  const probe = createNetServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const freePort = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  seeds.refused = `http://127.0.0.1:${freePort}/refused`;

  // Accepts and never answers.
  seeds.silent = `http://127.0.0.1:${(await raw(() => {})).port}/silent`;
  // Headers larger than any client accepts.
  seeds.bigHeaders = `http://127.0.0.1:${
    (
      await raw((s) => {
        s.once('data', () => {
          s.write(`HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Junk: ${'j'.repeat(200_000)}\r\n\r\n<p>x`);
          s.end();
        });
      })
    ).port
  }/big-headers`;
  // Not HTTP at all.
  seeds.malformed = `http://127.0.0.1:${
    (
      await raw((s) => {
        s.once('data', () => s.end('SSH-2.0-OpenSSH_9.0\r\nthis is not http\r\n\r\n'));
      })
    ).port
  }/malformed`;
  // Content-Length promises 50000 bytes, 100 arrive, then the server closes.
  seeds.lyingLength = `http://127.0.0.1:${
    (
      await raw((s) => {
        s.once('data', () => {
          s.end(
            `HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 50000\r\n\r\n${'<p>'.padEnd(100, 'x')}`,
          );
        });
      })
    ).port
  }/lying-length`;

  // An HTTP server for the hostile bodies.
  const gz = gzipSync(Buffer.from(html('Zipped', '<p>hello</p>'.repeat(2000))));
  const truncated = gz.subarray(0, Math.floor(gz.length / 2));
  const hundredK = Array.from(
    { length: 100_000 },
    (_, i) => `<a href="http://elsewhere.invalid/l/${i}">${i}</a>`,
  ).join('');
  const deep = `${'<div>'.repeat(10_000)}<a href="/deep-target">in</a>${'</div>'.repeat(10_000)}`;
  const longHref = `/long/${'x'.repeat(100_000)}`;
  const invalidUtf8 = Buffer.concat([
    Buffer.from('<!doctype html><html><head><meta charset="utf-8"><title>Bad '),
    Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82, 0xa0, 0xed, 0xa0, 0x80]),
    Buffer.from(' bytes</title></head><body><a href="/after-bad-bytes">ok</a></body></html>'),
  ]);
  const { port: hp } = await listen(
    createHttpServer((req, res) => {
      const send = (type: string, body: Buffer | string, extra: Record<string, string> = {}) => {
        const b = typeof body === 'string' ? Buffer.from(body) : body;
        res.writeHead(200, { 'content-type': type, 'content-length': String(b.length), ...extra }).end(b);
      };
      switch (req.url) {
        case '/truncated-gzip':
          return send('text/html', truncated, { 'content-encoding': 'gzip' });
        case '/endless-chunked': {
          res.writeHead(200, { 'content-type': 'text/html' });
          const chunk = Buffer.alloc(64 * 1024, 'e');
          const pump = () => {
            while (!res.destroyed && res.write(chunk)) {}
            if (!res.destroyed) res.once('drain', pump);
          };
          return pump();
        }
        case '/100k-links':
          return send('text/html; charset=utf-8', html('Many links', hundredK));
        case '/deep-nesting':
          return send('text/html; charset=utf-8', html('Deep', deep));
        case '/long-url':
          return send('text/html; charset=utf-8', html('Long', `<a href="${longHref}">long</a>`));
        case '/invalid-utf8':
          return send('text/html; charset=utf-8', invalidUtf8);
        default:
          res.writeHead(404, { 'content-type': 'text/plain' }).end('nope');
      }
    }),
  );
  const h = `http://127.0.0.1:${hp}`;
  Object.assign(seeds, {
    truncatedGzip: `${h}/truncated-gzip`,
    endless: `${h}/endless-chunked`,
    links100k: `${h}/100k-links`,
    deep: `${h}/deep-nesting`,
    longUrlPage: `${h}/long-url`,
    longUrl: `${h}${longHref}`,
    invalidUtf8: `${h}/invalid-utf8`,
  });

  // TLS with a self-signed certificate, made now with openssl.
  dir = mkdtempSync(join(tmpdir(), 'trawl-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  const tls = createHttpsServer(
    { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
    (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html('secret', '')),
  );
  tls.on('tlsClientError', () => {});
  seeds.tls = `https://127.0.0.1:${(await listen(tls)).port}/self-signed`;

  Object.assign(seeds, {
    reset: `${site.url}fault/reset`,
    trickle: `${site.url}fault/trickle/1000`,
    big50: `${site.url}fault/big/50`,
    gzipBomb: `${site.url}fault/gzip-bomb/1024`,
    wrongCharset: `${site.url}fault/charset/win1252`,
    dns: 'http://no-such-host.invalid/page',
  });
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await site.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('one crawl through every fault', () => {
  it('records each fault as its page error, stores every normal page, ends, stays bounded', async () => {
    const records = new Map<string, PageRecord>();
    let peakRss = 0;
    const base = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 20);
    const summary = await new Crawl({
      seeds: [...Object.values(seeds), normal[0]!],
      rate: Number.POSITIVE_INFINITY,
      ignoreRobots: true, // an unreachable robots.txt would (rightly) disallow the fault hosts
      timeoutMs: 2000,
      retries: 1,
      retryBaseMs: 1,
      // The 100,000-character URL is a seed here so that the server's answer to it is tested;
      // by default a seed over --max-url-length is refused before any request.
      maxUrlLength: 200_000,
      onRecord: (r) => records.set(r.url, r),
    }).done;
    clearInterval(sampler);

    const err = (key: string): string | null | undefined => records.get(normalizeUrl(seeds[key]!)!)?.error;
    const expectKind = (key: string, kind: RegExp) => expect(err(key), key).toMatch(kind);
    expectKind('refused', /^refused:/);
    expectKind('silent', /^timeout: no response within 2000 ms/);
    expectKind('trickle', /^timeout: response not complete within 2000 ms/);
    expectKind('bigHeaders', /^network: response headers too large/);
    expectKind('malformed', /^network: malformed HTTP response/);
    expectKind('lyingLength', /^(reset|network):/);
    expectKind('reset', /^(reset|network):/);
    expectKind('truncatedGzip', /^decode:/);
    expectKind('endless', /^too-large:/);
    expectKind('big50', /^too-large:/);
    expectKind('gzipBomb', /^too-large:/);
    expectKind('dns', /^dns: host not found/);
    expectKind('tls', /^tls:/);
    expectKind('longUrl', /^http: (414|431|400)/);

    // Hostile pages that parse: stored without error, results correct and capped.
    expect(err('wrongCharset')).toBeNull();
    expect(err('invalidUtf8')).toBeNull();
    const bad = records.get(normalizeUrl(seeds.invalidUtf8!)!)!;
    expect(bad.title).toContain('\uFFFD');
    expect(bad.links).toContain(new URL('/after-bad-bytes', seeds.invalidUtf8).href);
    const many = records.get(normalizeUrl(seeds.links100k!)!)!;
    expect(many.error).toBeNull();
    expect(many.links.length).toBe(10_000); // the extractor's per-page cap
    const deep = records.get(normalizeUrl(seeds.deep!)!)!;
    expect(deep.error).toBeNull();
    expect(deep.title).toBe('Deep');
    expect(deep.links).toEqual([new URL('/deep-target', seeds.deep).href]);
    const long = records.get(normalizeUrl(seeds.longUrlPage!)!)!;
    expect(long.error).toBeNull();
    expect(long.links[0]!.length).toBeGreaterThan(100_000);

    // Every normal page stored, exactly once, without error.
    for (const u of normal) expect(records.get(u)?.error, u).toBeNull();
    expect(summary.pages).toBe(records.size);
    // Memory: bodies are capped at 10 MiB and parsed without a DOM, so the whole crawl through a
    // 50 MB page, a 1 GiB gzip bomb and an endless body stays far below their sizes.
    expect(peakRss - base).toBeLessThan(400 * 1024 * 1024);
  }, 60_000);
});

describe('windows-1252', () => {
  it('decodes 0x80–0x9F as WHATWG does (€ “ ” …), from the test site’s win1252 page', async () => {
    const agent = createAgent({ maxConnections: 1, connectTimeoutMs: 2000 });
    try {
      const res = await fetchPage(seeds.wrongCharset!, {
        dispatcher: agent,
        timeoutMs: 5000,
        maxBytes: 1e6,
        userAgent: 'test',
      });
      // The header lies (utf-8): decoded as declared, the 1252 bytes become U+FFFD, never a crash.
      expect(res.text).toContain('Caf\uFFFD');
      const { text, charset } = decodeText(res.body, { mime: 'text/html', headerCharset: 'windows-1252' });
      expect(charset).toBe('windows-1252');
      expect(text).toContain(`<title>${FAULT_TEXT.win1252Title}</title>`);
      for (const label of ['latin1', 'ISO-8859-1', 'us-ascii', 'ascii', 'cp1252']) {
        expect(decodeText(res.body, { mime: 'text/html', headerCharset: label }).text).toContain(
          FAULT_TEXT.win1252Title,
        );
      }
    } finally {
      await agent.close();
    }
  });

  it('maps all 32 bytes per the WHATWG index, holes included', () => {
    const bytes = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);
    const want =
      '\u20AC\u0081\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\u008D\u017D\u008F' +
      '\u0090\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u009D\u017E\u0178';
    expect(decodeText(bytes, { mime: 'text/plain', headerCharset: 'windows-1252' }).text).toBe(want);
    // Other single-byte encodings are untouched by the repair.
    expect(decodeText(Uint8Array.of(0x80), { mime: 'text/plain', headerCharset: 'windows-1251' }).text).toBe(
      '\u0402',
    );
  });
});
