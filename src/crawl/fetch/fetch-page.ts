import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Exchange } from '../exchange.js';
import {
  decodedChunks,
  decodeText,
  isTextMime,
  parseContentEncoding,
  parseContentType,
  sniffMime,
} from './decode.js';
import { classifyError, FetchError } from './errors.js';
import { emptyBody, replayResponse } from './replay-response.js';
import { parseRetryAfter } from './retry.js';
import { SSRF_CODE } from './ssrf.js';
import { WireTap } from './wire-tap.js';

/**
 * A cookie jar as fetchPage uses it (SessionCookies in session-cookies.ts satisfies it). fetchPage
 * asks it for every hop's Cookie header and hands it every hop's Set-Cookie values, each with the
 * hop's own URL, so the jar alone decides which cookies go where (domain, path, Secure, expiry).
 */
export interface CookieAccess {
  /** The Cookie header value for a request to `url`, or null (or '') for none. */
  header(url: string): string | null;
  /** Takes the raw Set-Cookie values of one response from `url`, one cookie per element. */
  store(url: string, setCookie: readonly string[]): void;
}

/**
 * Where fetchPage can find a hop's response without the network (the HTTP cache), and where it
 * leaves what it fetched. Every hop — the first request and each redirect — is asked for.
 */
export interface HopStore {
  /**
   * Before a hop is sent: `{ replay }` answers it with a stored exchange (no request is made);
   * `{ conditional, merge }` sends it with the extra validator headers and, when the server answers
   * 304, uses `merge(the 304's exchange)` as the response instead (null from merge: the 304 does
   * not fit the stored response, and is returned as it is); null sends it as it is. `headers` are
   * the hop's request headers (lower-case names), for Vary.
   */
  lookup(
    method: string,
    url: string,
    body: Uint8Array | null,
    headers: Readonly<Record<string, string>>,
  ):
    | { replay: Exchange }
    | { conditional: Record<string, string>; merge(notModified: Exchange): Exchange | null }
    | null;
  /** After a hop came from the network with a whole response: its exchange and request headers. */
  save(exchange: Exchange, headers: Readonly<Record<string, string>>): void;
}

/** One hop of a fetch as fetchPage saw it: its exchange and whether it came from a HopStore. */
export interface Hop {
  exchange: Exchange;
  /** 'network': sent and answered now; 'store': answered by the HopStore without a request; 'revalidated': a 304 merged with the stored response (the exchange is the 304's). */
  source: 'network' | 'store' | 'revalidated';
}

/** Options of one fetchPage call. */
export interface FetchOptions {
  /** The undici dispatcher to send through (normally the crawl's createAgent()). */
  dispatcher: Dispatcher;
  /** Deadline for the whole call — every redirect hop's connect, headers and full body — in ms. */
  timeoutMs: number;
  /** Most body bytes kept, counted after decompression; one more byte is 'too-large'. */
  maxBytes: number;
  /** The User-Agent header. */
  userAgent: string;
  /** Cancels the call; it then rejects with kind 'aborted' (cause = signal.reason). */
  signal?: AbortSignal;
  /** Redirect hops followed before 'too-many-redirects'. Default 10; 0 refuses every redirect. */
  maxRedirects?: number;
  /**
   * Called with every redirect target before it is requested (after loop and count checks).
   * Return a reason to refuse the hop (out of scope, already crawled, private address...), which
   * becomes a 'redirect-blocked' error, or null to follow it.
   */
  checkRedirect?: (url: string) => string | null;
  /**
   * Resolves a Location value against the URL that sent it and normalizes it the crawl's way;
   * null means unusable ('bad-url'). Default: WHATWG URL resolution, fragment dropped.
   */
  normalize?: (url: string, base: string) => string | null;
  /**
   * Extra request headers; they override the defaults (keys are matched case-insensitively). The
   * defaults are User-Agent (`userAgent`), Accept (HTML first, like a browser), `Accept-Language:
   * en-US,en;q=0.9` and Accept-Encoding. A Cookie or Authorization header given here was written
   * for `url`'s origin: it is sent on hops to that origin only, never to a redirect target on
   * another origin (scheme, host or port differ) — as the Fetch standard does for Authorization.
   */
  headers?: Record<string, string>;
  /**
   * The session's cookie jar. Every hop (the first request and each redirect) sends
   * `cookies.header(hopUrl)` as its Cookie header, and every response that has Set-Cookie headers
   * is passed to `cookies.store(hopUrl, values)` as soon as its headers arrive — before a redirect
   * is followed, so a cookie set by a login POST's 302 goes with the GET it redirects to. hopUrl is
   * `url` for the first request, then each entry of `redirects`. With a caller's Cookie header on
   * the same origin, the caller's value comes first and the jar's cookies follow after `; ` (a
   * server that takes the first of two equal names sees the caller's). Without `cookies`, the only
   * Cookie sent is the caller's and Set-Cookie headers are ignored.
   */
  cookies?: CookieAccess;
  /** HTTP method, e.g. POST for a form. Default GET. */
  method?: string;
  /**
   * Request body (sent with `method`; a GET or HEAD with a body is a RangeError). Redirects follow
   * the Fetch standard: 303 (and 301/302 after a POST) continue as a GET without the body and
   * its content headers; 307/308 repeat the method and body.
   */
  body?: string | Uint8Array;
  /**
   * MIME types whose body is worth reading: exact (`text/html`) or `type/*` patterns. A response of
   * another type (and a known one) has its body discarded unread (`discarded: true`). Default: any.
   */
  acceptTypes?: readonly string[];
  /**
   * Read the body of non-2xx final responses too (up to maxBytes). Default false: an error page's
   * body is discarded (read and dropped up to 64 KiB so the socket can be reused, beyond that the
   * socket is closed) and the result has an empty body, `discarded: true`.
   */
  readErrorBodies?: boolean;
  /**
   * Decode text bodies into `text` (default true). The crawl passes false and decodes on its
   * parse threads with {@link decodeText} from decode.ts, keeping the main thread free.
   */
  decodeText?: boolean;
  /**
   * Keep every hop's request and response as they crossed the wire in `FetchResult.hops` (for
   * WARC). Costs a copy of each raw body; default false.
   */
  capture?: boolean;
  /** The HTTP cache's view of hops (see HopStore); implies nothing about `capture`. */
  hopStore?: HopStore;
  /**
   * Awaited once, before the first hop that goes to the network (never for hops the HopStore
   * answers): the crawl takes its connection slot and rate token here, so a replayed page costs
   * neither. Returning false ends the call with kind 'aborted' and {@link NOT_ADMITTED} as cause.
   */
  beforeNetwork?: () => Promise<boolean>;
}

/** What fetchPage returns for any final response, whatever its status. */
export interface FetchResult {
  /** The URL asked for, as passed in. */
  url: string;
  /** The URL of the final response: the last redirect hop, or `url` without redirects. */
  finalUrl: string;
  status: number;
  /** Response headers, lower-case names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /** The Content-Type header as sent, or null. */
  contentType: string | null;
  /** Lower-case `type/subtype` from Content-Type; without the header, a sniffed text/html or text/xml, or null. */
  mime: string | null;
  /** The encoding `text` was decoded with (WHATWG name); for non-text bodies the header's charset, or null. */
  charset: string | null;
  /** The decompressed body (empty when discarded). */
  body: Buffer;
  /** The body decoded to a string for text types (HTML, XML, text/*, JSON, JS), else null. */
  text: string | null;
  /** body.length: bytes after decompression. */
  bytes: number;
  /** Each redirect target followed, in order (empty without redirects). */
  redirects: string[];
  /** Wall time of the whole call, including all hops, in ms. */
  durationMs: number;
  /** Delay from the final response's Retry-After header (see parseRetryAfter), or null. */
  retryAfterMs: number | null;
  /** True when the body was not kept: a non-2xx status without readErrorBodies, or a type outside acceptTypes. */
  discarded: boolean;
  /**
   * With `capture`: every hop in order (redirects first, the final response last); a hop that never
   * got a response head (refused, reset) is missing. Absent without `capture`.
   */
  hops?: Hop[];
  /** True when the final response came from the HopStore without a request (a replayed cache entry). */
  cached?: boolean;
  /** True when Chromium loaded the page (engine/rendering.ts): `body` is the rendered DOM. */
  rendered?: boolean;
  /**
   * The browser tab the page is still open in, for a scraper handler on the main thread; whoever
   * ends the page's attempt releases it (engine/parse-step.ts, or the fetch step when the
   * response is not kept). Absent for plain fetches.
   */
  held?: { readonly page: object; release(): Promise<void> };
}

/** The cause of the 'aborted' FetchError when FetchOptions.beforeNetwork refused the request. */
export const NOT_ADMITTED: unique symbol = Symbol('not admitted');

/** Statuses that fetchPage follows when a Location header is present. */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

const DEFAULT_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const DEFAULT_ACCEPT_LANGUAGE = 'en-US,en;q=0.9';
const DISCARD_LIMIT = 64 * 1024;

type Body = Dispatcher.ResponseData['body'];

const noop = (): void => {};

function flattenHeaders(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/**
 * The raw Set-Cookie values of a response. undici's request() gives a repeated header as an array
 * (one element per header line), a single one as a string; the values are never split on commas,
 * which Expires dates contain.
 */
function setCookiesOf(h: IncomingHttpHeaders): readonly string[] {
  const v = h['set-cookie'];
  if (v === undefined) return [];
  return typeof v === 'string' ? [v] : v;
}

/** Two Cookie header values as one (`a; b`); either may be missing. */
function joinCookies(caller: string | undefined, jar: string | null): string | undefined {
  if (jar === null || jar === '') return caller;
  return caller === undefined || caller === '' ? jar : `${caller}; ${jar}`;
}

function parseHttpUrl(raw: string): URL | string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return `invalid URL '${raw}'`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    return `unsupported scheme '${u.protocol}' in '${raw}'`;
  return u;
}

function defaultNormalize(location: string, base: string): string | null {
  try {
    const u = new URL(location, base);
    u.hash = '';
    return u.href;
  } catch {
    return null;
  }
}

/** The SSRF guard's message when it (anywhere in the cause chain) refused the connection, else null. */
function ssrfRefusal(err: unknown): string | null {
  let cur: unknown = err;
  for (let depth = 0; depth < 5 && cur instanceof Error; depth++) {
    if ((cur as Error & { code?: unknown }).code === SSRF_CODE) return cur.message;
    cur = cur.cause;
  }
  return null;
}

/** A request body as bytes (strings as UTF-8, as undici sends them), or null for none. */
function bodyBytes(body: string | Uint8Array | undefined): Uint8Array | null {
  if (body === undefined) return null;
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

/** Loop detection key: the URL without fragment. */
function visitKey(url: string): string {
  const i = url.indexOf('#');
  return i < 0 ? url : url.slice(0, i);
}

function accepts(patterns: readonly string[] | undefined, mime: string | null): boolean {
  if (patterns === undefined || mime === null) return true;
  for (const p of patterns) {
    const q = p.toLowerCase();
    if (q === '*/*' || q === mime) return true;
    if (q.endsWith('/*') && mime.startsWith(q.slice(0, -1))) return true;
  }
  return false;
}

/**
 * Reads a decoded body to the end, keeping at most maxBytes. Throws 'too-large' the moment the
 * count passes maxBytes, which stops the decompressor: memory stays bounded even for a bomb.
 */
async function readCapped(chunks: AsyncIterable<Buffer>, maxBytes: number, url: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of chunks) {
    total += chunk.length;
    if (total > maxBytes) {
      throw new FetchError('too-large', url, `body exceeds ${maxBytes} bytes after decompression`);
    }
    parts.push(chunk);
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
}

/**
 * Fetches one page with GET and returns its final response, following redirects itself.
 *
 * Deadline: a single timer of `timeoutMs` covers the whole call — DNS, connect, TLS, headers and
 * every body byte, across all redirect hops — so a server trickling one byte a second is cut off
 * (an idle timeout would not). It aborts the request through an AbortController that also follows
 * `opts.signal`; the timer and listener are removed and the body destroyed (closing its socket) on
 * every exit path. Expiry rejects with kind 'timeout'; `opts.signal` rejects with 'aborted' whose
 * cause is the signal's reason (already aborted: rejects at once without a request).
 *
 * Redirects: 301/302/303/307/308 with a Location are followed (with the method the Fetch standard
 * gives, see `body`; bodies of the redirect responses discarded). Each target is resolved against the URL that sent it (with
 * `normalize` if given, null → 'bad-url'), then checked in this order: a target already visited
 * in this chain (fragment ignored) → 'redirect-loop'; more than maxRedirects hops →
 * 'too-many-redirects'; non-http(s) → 'bad-url'; `checkRedirect` refusal → 'redirect-blocked'
 * with its reason. A redirect status without Location is returned as the final response.
 * Each hop carries its own cookies and stores its own Set-Cookie (see FetchOptions.cookies).
 *
 * Body: Content-Encoding gzip/x-gzip/deflate (zlib or raw)/br is undone while streaming, and the
 * decompressed count is capped at maxBytes ('too-large' as soon as it is passed; a Content-Length
 * above maxBytes on an uncompressed body fails before reading). Corrupt or truncated compressed
 * data is 'decode'; a connection that ends early (shorter than Content-Length) is 'reset' or
 * 'network'. Non-2xx responses are returned, not thrown (see readErrorBodies). Text types are
 * decoded per decodeText (BOM, header charset, meta prescan, UTF-8; never throws).
 *
 * A connection refused by the agent's SSRF guard (see ssrf.ts) — on the first request or on any
 * redirect hop — is kind 'ssrf' with the guard's message, e.g.
 * `ssrf: evil.test resolves to 127.0.0.1 (loopback)`.
 *
 * Errors are FetchErrors whose `url` is the request (or refused redirect target) that failed;
 * low-level errors are classified by classifyError. Only a programming error — timeoutMs not a
 * positive finite number, maxBytes negative — throws something else (a RangeError, synchronously
 * rejected).
 */
export async function fetchPage(url: string, opts: FetchOptions): Promise<FetchResult> {
  if (!(opts.timeoutMs > 0 && Number.isFinite(opts.timeoutMs))) {
    throw new RangeError(`timeoutMs must be a positive number, got ${opts.timeoutMs}`);
  }
  if (!(opts.maxBytes >= 0)) throw new RangeError(`maxBytes must be >= 0, got ${opts.maxBytes}`);
  const firstMethod = (opts.method ?? 'GET').toUpperCase();
  if (opts.body !== undefined && (firstMethod === 'GET' || firstMethod === 'HEAD'))
    throw new RangeError(`a ${firstMethod} request cannot have a body`);
  const started = performance.now();
  const outer = opts.signal;
  if (outer?.aborted)
    throw new FetchError('aborted', url, 'cancelled before the request', { cause: outer.reason });

  const ac = new AbortController();
  let stopped: 'timeout' | 'aborted' | null = null;
  const onOuterAbort = (): void => {
    if (stopped !== null) return;
    stopped = 'aborted';
    ac.abort(outer!.reason);
  };
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  const timer = setTimeout(() => {
    if (stopped !== null) return;
    stopped = 'timeout';
    ac.abort(new Error(`fetchPage deadline of ${opts.timeoutMs} ms passed`));
  }, opts.timeoutMs);

  let current = url;
  let body: Body | undefined;
  let gotHeaders = false;
  try {
    return await run();
  } catch (err) {
    if (stopped === 'timeout') {
      const detail = gotHeaders
        ? `response not complete within ${opts.timeoutMs} ms`
        : `no response within ${opts.timeoutMs} ms`;
      throw new FetchError('timeout', current, detail, { cause: err });
    }
    if (stopped === 'aborted')
      throw new FetchError('aborted', current, 'cancelled', { cause: outer!.reason });
    const ssrf = ssrfRefusal(err);
    if (ssrf !== null) throw new FetchError('ssrf', current, ssrf, { cause: err, code: SSRF_CODE });
    throw classifyError(err, current);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuterAbort);
    // A body not read to its end still holds the socket: destroying it makes undici close it.
    // (undici then emits an abort 'error' on it, which nobody else listens to any more.)
    if (body !== undefined && !body.readableEnded && !body.destroyed) body.on('error', noop).destroy();
  }

  async function run(): Promise<FetchResult> {
    const maxRedirects = opts.maxRedirects ?? 10;
    const redirects: string[] = [];
    const first = parseHttpUrl(url);
    if (typeof first === 'string') throw new FetchError('bad-url', url, first);
    // A hop is a loop when the same method asks for the same URL again (POST /a → 303 → GET /a is not).
    const visited = new Set<string>([`${firstMethod} ${visitKey(first.href)}`]);
    let target = first;
    const headers: Record<string, string> = {
      'user-agent': opts.userAgent,
      accept: DEFAULT_ACCEPT,
      'accept-language': DEFAULT_ACCEPT_LANGUAGE,
      'accept-encoding': 'gzip, deflate, br',
    };
    // The caller's credentials are for the first URL's origin: hopHeaders adds them per hop.
    let callerCookie: string | undefined;
    let callerAuth: string | undefined;
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      const name = k.toLowerCase();
      if (name === 'cookie') callerCookie = v;
      else if (name === 'authorization') callerAuth = v;
      else headers[name] = v;
    }
    const jar = opts.cookies;
    const firstOrigin = first.origin;
    let method = firstMethod;
    let reqBody = opts.body;

    const tap = opts.capture === true || opts.hopStore !== undefined ? new WireTap(opts.dispatcher) : null;
    const hops: Hop[] = [];
    const store = opts.hopStore;
    let admitted = false;

    for (;;) {
      gotHeaders = false;
      const sent = hopHeaders(target, current);
      const sentBody = bodyBytes(reqBody);
      const answer = store?.lookup(method, current, sentBody, sent) ?? null;
      let replayed: Exchange | null = null;
      let res: Pick<Dispatcher.ResponseData, 'statusCode' | 'headers' | 'body'>;
      if (answer !== null && 'replay' in answer) {
        replayed = answer.replay;
        res = replayResponse(replayed);
      } else {
        if (!admitted && opts.beforeNetwork !== undefined) {
          if (!(await opts.beforeNetwork()))
            throw new FetchError('aborted', current, 'not admitted', { cause: NOT_ADMITTED });
          admitted = true;
        }
        res = await (tap?.dispatcher ?? opts.dispatcher).request({
          origin: target.origin,
          path: `${target.pathname}${target.search}`,
          method,
          headers: answer === null ? sent : { ...sent, ...answer.conditional },
          body: reqBody,
          signal: ac.signal,
        });
        if (answer !== null && res.statusCode === 304) {
          // Not modified: the stored response, refreshed by the 304's headers, is this hop's answer.
          body = res.body;
          await res.body.dump({ limit: DISCARD_LIMIT, signal: ac.signal });
          const notModified = tap?.take(current, method, sentBody) ?? null;
          const merged = notModified === null ? null : answer.merge(notModified);
          if (notModified !== null && opts.capture === true)
            hops.push({ exchange: notModified, source: merged === null ? 'network' : 'revalidated' });
          if (merged !== null) {
            replayed = merged;
            res = replayResponse(merged);
          } else {
            // The 304 stands as the response: its body (none) was read above.
            res = { statusCode: res.statusCode, headers: res.headers, body: emptyBody() };
          }
        }
      }
      /** Called once the hop's body was read or dropped: keeps its exchange (see FetchOptions.capture). */
      const finishHop = (): void => {
        if (replayed !== null) {
          if (opts.capture === true && answer !== null && 'replay' in answer)
            hops.push({ exchange: replayed, source: 'store' });
          return;
        }
        const ex = tap?.take(current, method, sentBody, 'length') ?? null;
        if (ex === null) return;
        if (opts.capture === true) hops.push({ exchange: ex, source: 'network' });
        if (ex.truncated === undefined) store?.save(ex, sent);
      };
      body = res.body;
      gotHeaders = true;
      if (jar !== undefined) {
        const setCookie = setCookiesOf(res.headers);
        if (setCookie.length > 0) jar.store(current, setCookie);
      }
      const resHeaders = flattenHeaders(res.headers);
      const location = resHeaders.location;

      if (REDIRECT_STATUSES.has(res.statusCode) && location !== undefined && location !== '') {
        await res.body.dump({ limit: DISCARD_LIMIT, signal: ac.signal });
        finishHop();
        const next = (opts.normalize ?? defaultNormalize)(location, current);
        if (next === null)
          throw new FetchError('bad-url', current, `unusable redirect Location '${location}'`);
        const s = res.statusCode;
        // Fetch standard, HTTP-redirect fetch step 12: these redirects turn the request into a GET.
        const toGet = (s === 303 && method !== 'HEAD') || ((s === 301 || s === 302) && method === 'POST');
        const nextMethod = toGet ? 'GET' : method;
        if (visited.has(`${nextMethod} ${visitKey(next)}`)) {
          throw new FetchError('redirect-loop', next, `${current} redirects back to ${next}`);
        }
        if (redirects.length >= maxRedirects) {
          throw new FetchError(
            'too-many-redirects',
            next,
            `more than ${maxRedirects} redirects (next: ${next})`,
          );
        }
        const parsed = parseHttpUrl(next);
        if (typeof parsed === 'string') throw new FetchError('bad-url', next, `redirect to ${parsed}`);
        const refusal = opts.checkRedirect?.(next) ?? null;
        if (refusal !== null)
          throw new FetchError('redirect-blocked', next, `redirect to ${next} refused: ${refusal}`);
        if (toGet) {
          method = 'GET';
          reqBody = undefined;
          for (const h of ['content-type', 'content-length', 'content-encoding', 'content-language'])
            delete headers[h];
        }
        visited.add(`${method} ${visitKey(next)}`);
        redirects.push(next);
        current = next;
        target = parsed;
        continue;
      }

      const contentType = resHeaders['content-type'] ?? null;
      const { mime: headerMime, charset: headerCharset } = parseContentType(contentType);
      const retryAfterMs = parseRetryAfter(resHeaders['retry-after'], Date.now());
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      const keep = (ok || opts.readErrorBodies === true) && accepts(opts.acceptTypes, headerMime);

      let buf: Buffer = Buffer.alloc(0);
      if (keep) {
        const declared = Number(resHeaders['content-length']);
        if (parseContentEncoding(resHeaders['content-encoding']).length === 0 && declared > opts.maxBytes) {
          throw new FetchError(
            'too-large',
            current,
            `Content-Length ${declared} exceeds ${opts.maxBytes} bytes`,
          );
        }
        buf = await readCapped(
          decodedChunks(res.body as AsyncIterable<Buffer>, resHeaders['content-encoding']),
          opts.maxBytes,
          current,
        );
      } else {
        await res.body.dump({ limit: DISCARD_LIMIT, signal: ac.signal });
      }
      finishHop();

      const mime = headerMime ?? (keep && contentType === null ? sniffMime(buf) : null);
      let text: string | null = null;
      let charset: string | null = headerCharset;
      if (keep && isTextMime(mime) && opts.decodeText !== false) {
        const decoded = decodeText(buf, { mime, headerCharset });
        text = decoded.text;
        charset = decoded.charset;
      }
      return {
        url,
        finalUrl: current,
        status: res.statusCode,
        headers: resHeaders,
        contentType,
        mime,
        charset,
        body: buf,
        text,
        bytes: buf.length,
        redirects,
        durationMs: Math.round(performance.now() - started),
        retryAfterMs,
        discarded: !keep,
        ...(opts.capture === true ? { hops } : {}),
        ...(replayed !== null ? { cached: true } : {}),
      };
    }

    /** The request headers of the hop to `hop` (`hopUrl`): the shared set plus its credentials. */
    function hopHeaders(hop: URL, hopUrl: string): Record<string, string> {
      const own = hop.origin === firstOrigin;
      const cookie = joinCookies(own ? callerCookie : undefined, jar?.header(hopUrl) ?? null);
      const auth = own ? callerAuth : undefined;
      if (cookie === undefined && auth === undefined) return headers;
      const h = { ...headers };
      if (cookie !== undefined) h.cookie = cookie;
      if (auth !== undefined) h.authorization = auth;
      return h;
    }
  }
}
