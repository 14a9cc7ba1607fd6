/**
 * Deterministic misbehaviour for the test site: fixed `/fault/...` endpoints that are always
 * served, and faults laid on chosen paths (or a seeded fraction of pages) through
 * {@link FaultOptions}. Everything here is the server side of a crawler's bad day.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { escapeHtml } from './site.js';

/** A fault that refuses the first `times` requests of a path, then serves it normally. */
export interface RetryFault {
  /** Paths (without query) this applies to. */
  paths: readonly string[];
  /** How many requests of each path are refused before it succeeds. Default 1. */
  times?: number;
  /** Retry-After value: seconds, or `'http-date'` for an HTTP-date `seconds` (1) from now. Default 1. */
  retryAfter?: number | 'http-date';
}

/** Faults laid on paths of the site (pages or anything else); all deterministic. */
export interface FaultOptions {
  /**
   * Fraction (0–1) of leaf pages (pages with no tree children, so everything stays reachable)
   * that answer 500 on every request, picked by the seeded PRNG.
   */
  error500Rate?: number;
  /** Paths answering 500 on every request. */
  error500Paths?: readonly string[];
  /** 429 Too Many Requests with Retry-After for the first `times` requests of each path. */
  tooManyRequests?: RetryFault;
  /** 503 Service Unavailable with Retry-After for the first `times` requests of each path. */
  unavailable?: RetryFault;
  /** Paths whose response starts only after `delayMs` (default 10 s). */
  slow?: { paths: readonly string[]; delayMs?: number };
  /** Paths whose body is sent one byte every `intervalMs` (default 100 ms). */
  trickle?: { paths: readonly string[]; intervalMs?: number };
  /** Paths whose connection is reset after part of the body. */
  reset?: { paths: readonly string[] };
  /** Put links to every built-in `/fault/...` endpoint on the home page (for demos). */
  link?: boolean;
}

/**
 * The built-in fault endpoints, always served:
 * - `/fault/500` — 500 every time.
 * - `/fault/429/<k>/<ra>`, `/fault/503/<k>/<ra>` — that status with `Retry-After: <ra>`
 *   (seconds, or `date` for an HTTP-date one second ahead) for the first k requests of the path, then a 200 page.
 * - `/fault/slow/<ms>` — a page sent after ms milliseconds.
 * - `/fault/trickle/<ms>` — a page sent one byte every ms milliseconds.
 * - `/fault/redirect/<301|302|307|308>/<n>` — a chain of n redirects ending at `/fault/landing`.
 * - `/fault/loop/a` ⇄ `/fault/loop/b` — a 302 loop.
 * - `/fault/png`, `/fault/pdf` — non-HTML bodies (image/png, application/pdf).
 * - `/fault/big/<mb>` — an HTML body of mb MiB (Content-Length set).
 * - `/fault/gzip-bomb/<mb>` — ~1/1000 of that sent with `Content-Encoding: gzip`, inflating to mb MiB of zeros.
 * - `/fault/charset/win1252` — declared UTF-8 in the header, bytes are windows-1252.
 * - `/fault/charset/meta-1251`, `/fault/charset/meta-sjis` — charset only in `<meta charset>`.
 * - `/fault/xss-title` — title text is `<img src=x onerror=alert(1)>` (escaped in the HTML).
 * - `/fault/reset` — Content-Length 100000, 1000 bytes, then a TCP reset.
 * - `/fault/landing` — a plain 200 page (the end of redirect chains).
 */
export const FAULT_ENDPOINTS: readonly string[] = [
  '/fault/500',
  '/fault/429/2/1',
  '/fault/503/1/date',
  '/fault/slow/10000',
  '/fault/trickle/200',
  '/fault/redirect/301/3',
  '/fault/redirect/302/2',
  '/fault/redirect/307/1',
  '/fault/redirect/308/1',
  '/fault/loop/a',
  '/fault/png',
  '/fault/pdf',
  '/fault/big/20',
  '/fault/gzip-bomb/1024',
  '/fault/charset/win1252',
  '/fault/charset/meta-1251',
  '/fault/charset/meta-sjis',
  '/fault/xss-title',
  '/fault/reset',
];

/** The text the charset and title fault pages must decode to (for tests of the parser). */
export const FAULT_TEXT = {
  win1252Title: 'Café “quoted” € price',
  cp1251Title: 'Привет, мир',
  sjisTitle: '日本語のページ',
  xssTitle: '<img src=x onerror=alert(1)>',
} as const;

/** What the fault code needs from the server. */
export interface FaultContext {
  /** How many times `path` (no query) has been requested so far, this request included. */
  hits(path: string): number;
  /** Schedules `fn` after `ms`, cancelled when the server closes. */
  later(fn: () => void, ms: number): void;
  /** Whether the server is closing (long responses stop). */
  closed(): boolean;
}

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
const PDF = Buffer.from(
  '%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n' +
    'trailer <</Root 1 0 R>>\n%%EOF\n',
  'latin1',
);

let bombMember: Buffer | undefined;
/** One gzip member inflating to 1 MiB of zeros; members concatenate (RFC 1952 §2.2). */
function gzipMiB(): Buffer {
  bombMember ??= gzipSync(Buffer.alloc(1024 * 1024), { level: 9 });
  return bombMember;
}

function html(title: string, body = ''): string {
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>\n`;
}

/** Sends a complete response. */
export function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: Buffer | string,
  headers = {},
): void {
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, { 'content-type': type, 'content-length': buf.length, ...headers });
  res.end(buf);
}

/** Sends `body` one byte every `intervalMs`, stopping if the client goes away or the server closes. */
export function trickle(
  ctx: FaultContext,
  res: ServerResponse,
  type: string,
  body: Buffer,
  intervalMs: number,
): void {
  res.writeHead(200, { 'content-type': type, 'content-length': body.length });
  let i = 0;
  const step = (): void => {
    if (res.destroyed || ctx.closed()) return;
    res.write(body.subarray(i, i + 1));
    i++;
    if (i >= body.length) res.end();
    else ctx.later(step, intervalMs);
  };
  step();
}

/** Sends 1000 bytes of a declared 100000-byte body, then resets the connection. */
export function resetMidBody(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': 100_000 });
  res.write(Buffer.from(`<!doctype html><title>Reset</title><p>${'x'.repeat(950)}`.slice(0, 1000)), () => {
    const socket = res.socket;
    if (socket === null) return;
    if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else socket.destroy();
  });
}

/** A Retry-After header value. */
export function retryAfterValue(ra: number | 'http-date'): string {
  return ra === 'http-date' ? new Date(Date.now() + 1000).toUTCString() : String(ra);
}

function retryHeaders(ra: number | 'http-date'): Record<string, string> {
  return { 'retry-after': retryAfterValue(ra) };
}

async function streamBig(ctx: FaultContext, res: ServerResponse, mib: number): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const head = Buffer.from('<!doctype html><html><head><title>Big</title></head><body><p>');
  const total = mib * 1024 * 1024;
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': total });
  let sent = 0;
  const write = (b: Buffer): Promise<void> | undefined => {
    if (res.write(b)) return undefined;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  };
  await write(head.subarray(0, Math.min(head.length, total)));
  sent = Math.min(head.length, total);
  while (sent < total && !res.destroyed && !ctx.closed()) {
    const n = Math.min(chunk.length, total - sent);
    sent += n;
    await write(n === chunk.length ? chunk : chunk.subarray(0, n));
  }
  res.end();
}

/** Encodes the Cyrillic/ASCII string as windows-1251 (enough for {@link FAULT_TEXT}). */
function cp1251(s: string): Buffer {
  const out: number[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) out.push(c);
    else if (c >= 0x410 && c <= 0x44f) out.push(c - 0x410 + 0xc0);
    else if (c === 0x401) out.push(0xa8);
    else if (c === 0x451) out.push(0xb8);
    else out.push(0x3f);
  }
  return Buffer.from(out);
}

/**
 * Serves a built-in `/fault/...` endpoint. Returns false (and sends nothing) for a path that is
 * not one, so the caller can answer 404.
 */
export function serveFaultEndpoint(
  ctx: FaultContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): boolean {
  const parts = path.split('/').slice(2); // ['', 'fault', ...]
  const [kind, a, b] = parts;
  const htmlType = 'text/html; charset=utf-8';
  switch (kind) {
    case '500':
      send(res, 500, htmlType, html('Internal Server Error'));
      return true;
    case '429':
    case '503': {
      const k = Number(a ?? 1);
      const ra: number | 'http-date' = b === 'date' ? 'http-date' : Number(b ?? 1);
      if (ctx.hits(path) <= k) {
        send(
          res,
          Number(kind),
          htmlType,
          html(kind === '429' ? 'Too Many Requests' : 'Unavailable'),
          retryHeaders(ra),
        );
      } else {
        send(res, 200, htmlType, html(`Recovered ${kind}`));
      }
      return true;
    }
    case 'slow':
      ctx.later(
        () => {
          if (!res.destroyed) send(res, 200, htmlType, html('Slow page'));
        },
        Number(a ?? 10_000),
      );
      return true;
    case 'trickle':
      trickle(
        ctx,
        res,
        htmlType,
        Buffer.from(html('Trickle page', '<p>drip drip drip</p>')),
        Number(a ?? 100),
      );
      return true;
    case 'redirect': {
      const status = Number(a);
      const n = Number(b ?? 1);
      if (![301, 302, 307, 308].includes(status) || !Number.isInteger(n) || n < 0) return false;
      const to = n <= 1 ? '/fault/landing' : `/fault/redirect/${status}/${n - 1}`;
      send(res, status, htmlType, html('Moved'), { location: to });
      return true;
    }
    case 'loop':
      if (a !== 'a' && a !== 'b') return false;
      send(res, 302, htmlType, html('Loop'), { location: a === 'a' ? '/fault/loop/b' : '/fault/loop/a' });
      return true;
    case 'landing':
      send(res, 200, htmlType, html('Landing', '<p><a href="/">home</a></p>'));
      return true;
    case 'png':
      send(res, 200, 'image/png', PNG);
      return true;
    case 'pdf':
      send(res, 200, 'application/pdf', PDF);
      return true;
    case 'big': {
      const mib = Number(a ?? 20);
      if (!(mib > 0 && mib <= 4096)) return false;
      void streamBig(ctx, res, mib);
      return true;
    }
    case 'gzip-bomb': {
      const mib = Math.floor(Number(a ?? 1024));
      if (!(mib > 0 && mib <= 1 << 20)) return false;
      const member = gzipMiB();
      res.writeHead(200, {
        'content-type': htmlType,
        'content-encoding': 'gzip',
        'content-length': member.length * mib,
      });
      if (req.method === 'HEAD') {
        res.end();
        return true;
      }
      let i = 0;
      const pump = (): void => {
        while (i < mib && !res.destroyed && !ctx.closed()) {
          i++;
          if (!res.write(member)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
      return true;
    }
    case 'charset':
      if (a === 'win1252') {
        // latin1 maps each UTF-16 unit 0x00–0xFF to one byte, so \x93 etc. become the 1252 bytes.
        const body = `<!doctype html>\n<html><head><title>Caf\xe9 \x93quoted\x94 \x80 price</title></head><body><p>na\xefve caf\xe9</p></body></html>\n`;
        send(res, 200, 'text/html; charset=utf-8', Buffer.from(body, 'latin1'));
        return true;
      }
      if (a === 'meta-1251') {
        const t = FAULT_TEXT.cp1251Title;
        send(
          res,
          200,
          'text/html',
          cp1251(
            `<!doctype html>\n<html><head><meta charset="windows-1251"><title>${t}</title></head><body><p>${t}</p></body></html>\n`,
          ),
        );
        return true;
      }
      if (a === 'meta-sjis') {
        // 日本語のページ in Shift_JIS.
        const title = Buffer.from([
          0x93, 0xfa, 0x96, 0x7b, 0x8c, 0xea, 0x82, 0xcc, 0x83, 0x79, 0x81, 0x5b, 0x83, 0x57,
        ]);
        send(
          res,
          200,
          'text/html',
          Buffer.concat([
            Buffer.from('<!doctype html>\n<html><head><meta charset="shift_jis"><title>'),
            title,
            Buffer.from('</title></head><body><p>'),
            title,
            Buffer.from('</p></body></html>\n'),
          ]),
        );
        return true;
      }
      return false;
    case 'xss-title':
      send(res, 200, htmlType, html(FAULT_TEXT.xssTitle));
      return true;
    case 'reset':
      resetMidBody(res);
      return true;
    default:
      return false;
  }
}

/**
 * The {@link FaultContext} of a server whose per-path hit counts are `hitCounts`: `later` timers
 * are kept in `timers` (the server clears them on close) and `closed` reports `isClosing()`.
 */
export function faultContext(
  hitCounts: ReadonlyMap<string, number>,
  timers: Set<NodeJS.Timeout>,
  isClosing: () => boolean,
): FaultContext {
  return {
    hits: (path) => hitCounts.get(path) ?? 0,
    later(fn, ms) {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
    },
    closed: isClosing,
  };
}
